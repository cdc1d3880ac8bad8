/**
 * State versions of installed patches (livepatch's klp_state and
 * klp_is_patch_compatible). A patch's manifest lists the states it
 * introduces or takes over as `{ id, version }`.
 *
 * `checkStates` runs in `prepare`, right after supersession is known and
 * before anything is linked, so a refusal changes nothing. Rules, checked
 * against every installed patch in installation order:
 * - a state the new patch carries must have a version ≥ the installed
 *   patch's (E_STATE_VERSION: it would lower the state's version);
 * - a state of a patch the new one supersedes must be carried by the new
 *   patch (E_STATE_DROPPED: the patch that introduced it goes away, and with
 *   it the code that understands the state). A patch that stacks on top of
 *   another (not superseding it) need not carry its states.
 * Reverting a patch is never refused for its states: a cumulative patch's
 * unpatch callbacks are responsible for leaving the state as the patches it
 * puts back expect it.
 */
import { HotpatchError } from "../errors.ts";
import type { PatchManifest, StateVersion } from "../patch/index.ts";
import type { InstalledPatch } from "./installed-patch.ts";

const NO_STATES: readonly StateVersion[] = [];

/** The states a patch introduced or took over. */
export function statesOf(patch: InstalledPatch): readonly StateVersion[] {
  return patch.staged.manifest.states ?? NO_STATES;
}

/** Throws E_STATE_VERSION / E_STATE_DROPPED when `manifest` may not follow `installed` (see above). */
export function checkStates(manifest: PatchManifest, installed: readonly InstalledPatch[], superseded: readonly InstalledPatch[]): void {
  if (installed.length === 0) return;
  const mine = new Map((manifest.states ?? NO_STATES).map((s) => [s.id, s.version]));
  const replaced = new Set(superseded);
  for (const old of installed) {
    for (const state of statesOf(old)) {
      const version = mine.get(state.id);
      if (version === undefined) {
        if (!replaced.has(old)) continue;
        throw new HotpatchError(
          "E_STATE_DROPPED",
          `it supersedes ${old.id} but does not take over state ${state.id} (version ${state.version}) that ${old.id} introduced`,
          { patch: manifest.id, state: state.id, version: state.version },
        );
      }
      if (version < state.version) {
        throw new HotpatchError(
          "E_STATE_VERSION",
          `it would lower state ${state.id} from version ${state.version} (${old.id}) to version ${version}`,
          { patch: manifest.id, state: state.id, installed: state.version, version },
        );
      }
    }
  }
}
