/**
 * Names shared by the instrumentation (activation.ts, which needs binaryen)
 * and the running side (engine/process/activity.ts, which must not load
 * binaryen: a worker thread would spend seconds importing it).
 */

/** The host import a long-running guest calls where it may be interrupted. */
export const SAFEPOINT_IMPORT = { module: "env", base: "safepoint" } as const;

/** Suffix of an activation counter's global name and key (`handleScan@active`). */
export const ACTIVE_SUFFIX = "@active";
export const activeCounterName = (functionName: string) => functionName + ACTIVE_SUFFIX;

/** The function key whose counter a global key names, or undefined for other globals. */
export function counterTarget(globalKey: string): string | undefined {
  return globalKey.endsWith(ACTIVE_SUFFIX) ? globalKey.slice(0, -ACTIVE_SUFFIX.length) : undefined;
}
