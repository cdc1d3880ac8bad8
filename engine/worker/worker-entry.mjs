// Bootstrap of a worker process: tsx cannot be passed to a worker through
// `execArgv`, so the worker registers it itself, then loads the TypeScript
// entry (the same way bin/hotpatch.mjs starts the CLI).
//
// Contract: nothing the worker imports may reach binaryen or the AssemblyScript
// compiler (engine/wasm/, engine/image/ and engine/builder/ at run time; types
// are fine): through tsx's hooks their 14 MB bundles take seconds to load.
// test/folders-import-only-the-layers-below-them.test.ts checks it.
import { register } from "tsx/esm/api";

register();
await import("./worker-main.ts");
