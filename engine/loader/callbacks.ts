/**
 * Running a patch's callbacks (livepatch's (un)patch callbacks; the names and
 * manifest fields are in engine/patch/callbacks-and-states.ts).
 *
 * The callbacks are exports of the patch's own code page instance, bound when
 * it is linked (`bindCallbacks`). When each runs, for every path that goes
 * through the loader (apply, Transition, the worker, VM runtimes):
 * - pre-patch: last of `prepare` (after every check and the instantiation,
 *   before the swap); a non-zero code refuses the patch with E_VETOED and its
 *   message, the data placed for it is removed, and no other callback of the
 *   patch runs. A trap refuses it the same way;
 * - post-patch: in `commit`, right after the swap (inside the switch: in a
 *   live worker its time is part of the measured pause);
 * - pre-unpatch: last of `prepareRevert`, before the swap; it cannot veto;
 * - post-unpatch: in `commit` of a revert, right after the swap, before the
 *   patch's static data is freed (so it may still use its strings).
 * A prepared switch that is discarded (a reversed transition, a stale or
 * failed swap) keeps the pairs balanced as livepatch does: a discarded enable
 * runs post-unpatch (undoing what pre-patch did), a discarded revert runs
 * post-patch (undoing what pre-unpatch did). A cumulative patch's callbacks
 * replace those of the patches it supersedes: theirs do not run, neither when
 * they are superseded nor when a revert puts them back. Re-applying a patch
 * to a restarted process runs pre-patch and post-patch again (its memory is
 * new). A trap in a callback after the swap is rethrown once the loader's
 * records are complete: the process crashed, as with any trap.
 */
import { HotpatchError } from "../errors.ts";
import { CALLBACK_NAMES, type CallbackName, type PatchManifest } from "../patch/index.ts";
import type { Switch } from "./switch.ts";

/** A patch's callbacks, bound to the exports of its code page instance. */
export type BoundCallbacks = Partial<Record<CallbackName, () => unknown>>;

/** The callbacks the manifest names, from the instance's exports; undefined for a patch without any. */
export function bindCallbacks(manifest: PatchManifest, exports: WebAssembly.Exports): BoundCallbacks | undefined {
  const named = manifest.callbacks;
  if (!named) return undefined;
  const bound: BoundCallbacks = {};
  for (const name of CALLBACK_NAMES) {
    const exportName = named[name];
    if (exportName === undefined) continue;
    const fn = exports[exportName];
    if (typeof fn !== "function") {
      throw new HotpatchError("E_LINK", `the manifest names the ${name} callback ${exportName}, which the code page does not export`, { patch: manifest.id });
    }
    bound[name] = fn as () => unknown;
  }
  return bound;
}

/**
 * Runs the pre-patch callback, if any; on a veto (or a trap) runs `undo` and
 * throws E_VETOED with the patch's message for the code.
 */
export function runPrePatch(manifest: PatchManifest, callbacks: BoundCallbacks | undefined, undo: () => void): void {
  const prePatch = callbacks?.prePatch;
  if (!prePatch) return;
  let code: number;
  try {
    code = Number(prePatch());
  } catch (error) {
    undo();
    throw new HotpatchError("E_VETOED", `the pre-patch callback trapped: ${(error as Error).message}`, { patch: manifest.id });
  }
  if (code === 0) return;
  undo();
  const message = manifest.callbacks?.vetoes?.find((v) => v.code === code)?.message ?? "no message for this code";
  throw new HotpatchError("E_VETOED", `the pre-patch callback vetoed it with code ${code}: ${message}`, { patch: manifest.id, code });
}

/** Runs one callback, if the patch has it (a trap propagates). */
export function runCallback(callbacks: BoundCallbacks | undefined, name: Exclude<CallbackName, "prePatch">): void {
  callbacks?.[name]?.();
}

/**
 * The post callback of a committed switch, run right after the swap: what it
 * throws is returned, for commit to rethrow once its records are complete.
 * Nothing is allocated for a patch without callbacks (the pause's hot path).
 */
export function afterSwap(prepared: Switch): unknown {
  const callbacks = prepared.record.callbacks;
  if (callbacks === undefined) return undefined;
  try {
    runCallback(callbacks, prepared.kind === "disable" ? "postUnpatch" : "postPatch");
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What a discarded switch runs so that the callbacks stay paired (see the top of this file); what it throws is returned. */
export function onDiscard(prepared: Switch): unknown {
  const callbacks = prepared.record.callbacks;
  if (callbacks === undefined) return undefined;
  try {
    runCallback(callbacks, prepared.kind === "disable" ? "postPatch" : "postUnpatch");
  } catch (error) {
    return error;
  }
  return undefined;
}
