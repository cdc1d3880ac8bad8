// Bootstrap of a fuzz worker (see engine/worker/worker-entry.mjs for why a
// worker registers tsx itself): loads the TypeScript fuzz worker.
import { register } from "tsx/esm/api";

register();
await import("./fuzz-worker.ts");
