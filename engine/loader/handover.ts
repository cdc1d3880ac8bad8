/**
 * Which migrations a switch runs (docs/loader-and-consistency.md#state-migrations).
 *
 * The rule: a patch's state leaves the process only to an arriving patch
 * that takes it over (patch-state.ts) or through the patch's reverse
 * migration. So for every leaving patch that has a migration and is not
 * taken over, its reverse runs (rehearsed now on a scratch copy); without a
 * reverse the switch is refused, E_IRREVERSIBLE — the way back is a baseline.
 * Then every arriving patch's migration runs, unless all its state was taken
 * over (its taken-over buffers are still copied). Order of the steps: reverse migrations first (they give the old state
 * back), then migrations (they read it).
 */
import { HotpatchError } from "../errors.ts";
import type { InstalledPatch } from "./installed-patch.ts";
import type { Linker } from "./linking.ts";
import { isTakenOverBy } from "./patch-state.ts";
import type { Arriving, MigrationStep } from "./switch.ts";

export function migrationSteps(linker: Linker, leaving: readonly InstalledPatch[], arriving: readonly Arriving[], verb: string): MigrationStep[] {
  const steps: MigrationStep[] = [];
  for (const old of leaving) {
    const manifest = old.staged.manifest;
    if (!manifest.state || !old.state) continue;
    const source = { manifest, state: old.state, data: old.data };
    if (arriving.some((a) => a.record.staged.manifest.state !== undefined && isTakenOverBy(source, a.record.staged.manifest))) continue;
    if (!old.state.unmigrate) {
      const reason = `it migrated the process's state and has no reverse migration (__hotpatch_unmigrate), so ${verb} cannot give the state back: the way back is a baseline (rollback)`;
      throw new HotpatchError("E_IRREVERSIBLE", reason, { patch: old.id });
    }
    linker.rehearseReverse(old.staged, old.state, old.data);
    steps.push({ patch: old.id, kind: "unmigrate", state: old.state });
  }
  for (const a of arriving) {
    // A patch that took all its state over runs no migration, but still gets its buffers' bytes (migrateAtSwitch).
    if (a.state && (!a.state.takenOver || a.state.copies.length > 0)) steps.push({ patch: a.record.id, kind: "migrate", state: a.state });
  }
  return steps;
}
