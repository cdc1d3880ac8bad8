/**
 * A running guest instance in this thread: the process, its host imports,
 * activation counters and shared metrics.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { Activity } from "./activity.ts";
export { hostImports } from "./host.ts";
export { type MetricsSnapshot, SharedMetrics, type SwitchRecord } from "./metrics.ts";
export { type CallResultKind, GuestProcess, type ProcessState } from "./process.ts";
