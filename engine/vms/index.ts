/**
 * A VM's running guest processes: the synchronous core (runtime.ts), the
 * platform health signal read from them (health.ts), and the two hosts that
 * run them — in the calling thread (local-host.ts) or in a pool of worker
 * threads (pool.ts) — behind one asynchronous interface (vm-processes.ts).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export type { HealthReport } from "./health.ts";
export { localHost } from "./local-host.ts";
export { VmPool } from "./pool.ts";
export type { ProcessHost, RebootOutcome, VmProcesses } from "./vm-processes.ts";
