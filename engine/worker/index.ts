/**
 * The live process: a guest in a worker thread serving seeded load, its
 * supervisor (restart with patches re-applied), the message protocol and the
 * health probe.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { DEFAULT_TRANSITION, type ProcessEvent, Supervisor } from "./supervisor.ts";
export type { TransitionSpec, WorkerMessage, WorkerReport } from "./worker-protocol.ts";
