// Bootstrap of a VM pool worker (as engine/worker/worker-entry.mjs): tsx
// cannot be passed to a worker through `execArgv`, so the worker registers it
// itself, then loads the TypeScript entry.
import { register } from "tsx/esm/api";

register();
await import("./pool-worker.ts");
