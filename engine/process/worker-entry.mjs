// Bootstrap of a worker process: tsx cannot be passed to a worker through
// `execArgv`, so the worker registers it itself, then loads the TypeScript
// entry (the same way bin/hotpatch.mjs starts the CLI).
//
// binaryen is imported natively first: the loader's import chain reaches it,
// and through tsx's hooks its 14 MB bundle takes ~9 s to load instead of
// ~0.4 s. Once loaded, later imports of it resolve to this module instance.
import { register } from "tsx/esm/api";

await import("binaryen");
register();
await import("./worker-main.ts");
