// Bootstrap of a worker process: tsx cannot be passed to a worker through
// `execArgv`, so the worker registers it itself, then loads the TypeScript
// entry (the same way bin/hotpatch.mjs starts the CLI).
//
// Contract: nothing the worker imports may reach binaryen (engine/wasm/ files
// other than sections.ts, counters.ts and patch-abi.ts): through tsx's hooks
// its 14 MB bundle takes seconds to load.
import { register } from "tsx/esm/api";

register();
await import("./worker-main.ts");
