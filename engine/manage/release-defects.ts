/**
 * Defective releases recorded in a state (fault injection that must outlive
 * one command: `hotpatch serve` records the defect of a fleet rollout's
 * release here, and every later session on the state — a restarted server,
 * the CLI — builds that release with it).
 *
 * Contracts:
 * - Records live in the store's `resources` table, kind "release-defect",
 *   keyed by month; a month is recorded at most once and never removed, so
 *   a VM never re-applies a build of a release other than the one it
 *   installed.
 * - Recording is refused (E_USAGE) once any VM runs that release or a later
 *   one (its `osMonth`), for the same reason.
 * - A session's own `faults.defectiveReleases` (a command's flag) wins over
 *   a recorded defect for the same month (artifacts.ts).
 */
import { HotpatchError } from "../errors.ts";
import type { MonthId } from "./calendar.ts";
import type { ReleaseDefect } from "./release-source.ts";
import type { Store } from "./store.ts";
import { listVms } from "./vm.ts";

const KIND = "release-defect";

export function recordedDefect(store: Store, month: MonthId): ReleaseDefect | undefined {
  return store.resource<{ month: MonthId; defect: ReleaseDefect }>(KIND, month)?.defect;
}

export function recordedDefects(store: Store): Record<MonthId, ReleaseDefect> {
  return Object.fromEntries(store.resources<{ month: MonthId; defect: ReleaseDefect }>(KIND).map((d) => [d.month, d.defect]));
}

/** Records `month`'s release as defective; refused once a VM runs it or a later release, or when another defect is recorded for it. */
export function recordDefect(store: Store, month: MonthId, defect: ReleaseDefect): void {
  const running = listVms(store).find((vm) => vm.osMonth >= month);
  if (running !== undefined) {
    throw new HotpatchError("E_USAGE", `the VM ${running.name} runs release ${running.osMonth} already; a release can be made defective only before any VM runs it or a later one`);
  }
  const recorded = recordedDefect(store, month);
  if (recorded !== undefined && recorded !== defect) throw new HotpatchError("E_USAGE", `release ${month} is recorded defective already (${recorded})`);
  store.tx(() => store.putResource(KIND, month, { month, defect }));
}
