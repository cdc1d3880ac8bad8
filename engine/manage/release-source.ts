/**
 * The source of each monthly OS release: the release-line template
 * (assembly/kvstore/releases/kvstore.ts) with the month's revision and its
 * zero-day fixes stamped in.
 *
 * Contracts:
 * - The revision is the N of the month's OS build 20348.N (calendar.ts; on
 *   the release's line: 26100.N for Windows Server 2025, the recorded build
 *   in history mode), in a function body: consecutive months of one quarter differ in code only,
 *   so the builder makes hotpatches of them.
 * - Each zero-day fix (an unplanned baseline up to and including the month,
 *   declared or, in history mode, recorded)
 *   adds a mutable global that `zeroDayFixes()` updates: an unplanned month
 *   adds state a running process has no storage for, so the builder refuses
 *   it as a hotpatch (requires-baseline).
 * - Every generated source is named `kvstore.ts` (function keys and any
 *   file name AssemblyScript embeds stay the same across months).
 * - A defect (fault injection for tests and experiments only; the catalog
 *   never ships one by itself) is a code change, so a defective hotpatch
 *   month still builds as a hotpatch:
 *   - "traps": `handle` traps (`unreachable`) on every DEFECT_TRAP_EVERY-th
 *     request a process serves, as a crash bug would;
 *   - "wrong-revision": `osRevision()` reports the month's revision + 1, as
 *     a mislabelled build would.
 */
import { readFileSync } from "node:fs";
import { KVSTORE_DIR } from "../guests/index.ts";
import { type LineSpec, lineBuildFor, lineOf, type MonthId } from "./calendar.ts";

export const RELEASE_TEMPLATE = `${KVSTORE_DIR}releases/kvstore.ts`;
export const RELEASE_FILE_NAME = "kvstore.ts";

const REVISION_LINE = "return 0; // @release-revision";
const ZERO_DAY_LINE = "return 0; // @release-zero-day-fixes";
const ZERO_DAY_GLOBALS = "// @release-zero-day-globals";
const REQUEST_COUNT_LINE = "  requests++;\n";

/** A defect stamped into a release (fault injection; see the contract above). */
export type ReleaseDefect = "traps" | "wrong-revision";
export const DEFECT_TRAP_EVERY = 50;

let template: string | undefined;

function readTemplate(): string {
  template ??= readFileSync(RELEASE_TEMPLATE, "utf8");
  for (const marker of [REVISION_LINE, ZERO_DAY_LINE, ZERO_DAY_GLOBALS, REQUEST_COUNT_LINE]) {
    if (!template.includes(marker)) throw new Error(`the release template ${RELEASE_TEMPLATE} lost its marker "${marker}"`);
  }
  return template;
}

/** The revision (N of 20348.N, or of the line's build) a month's release reports through `osRevision()`. */
export function revisionOf(month: MonthId, line: LineSpec = []): number {
  return Number(lineBuildFor(month, line).split(".")[1]);
}

/** The line's unplanned baselines: declared, and recorded ones in history mode. */
export function zeroDayMonths(spec: LineSpec): MonthId[] {
  const line = lineOf(spec);
  const recorded = (line.history?.releases ?? []).filter((r) => !r.planned).map((r) => r.month);
  return [...new Set([...line.unplanned, ...recorded])];
}

/** The AssemblyScript source of a month's OS release (with `defect` stamped in, if given). */
export function releaseSource(month: MonthId, line: LineSpec, defect?: ReleaseDefect): string {
  const globals = zeroDayMonths(line)
    .filter((m) => m <= month)
    .sort()
    .map((m) => `zeroDay${m.replace("-", "x")}`);
  const declarations = globals.map((g) => `let ${g}: u32 = 0;`).join("\n");
  const body = globals.map((g) => `${g} += 1; `).join("") + `return ${globals.length === 0 ? "0" : globals.join(" + ")};`;
  const revision = revisionOf(month, line) + (defect === "wrong-revision" ? 1 : 0);
  const request = defect === "traps" ? `${REQUEST_COUNT_LINE}  if (requests % ${DEFECT_TRAP_EVERY} == 0) unreachable(); // @release-defect\n` : REQUEST_COUNT_LINE;
  return readTemplate()
    .replace(REVISION_LINE, `return ${revision}; // @release-revision`)
    .replace(ZERO_DAY_GLOBALS, `${ZERO_DAY_GLOBALS}\n${declarations}`)
    .replace(ZERO_DAY_LINE, `${body} // @release-zero-day-fixes`)
    .replace(REQUEST_COUNT_LINE, request);
}
