/**
 * Changes of state and the migration that makes them hotpatches
 * (docs/loader-and-consistency.md#state-migrations).
 *
 * A target may export `__hotpatch_migrate` (and `__hotpatch_unmigrate`),
 * `() => void`, and declare globals `__hotpatch_old_<key>` that read the
 * running process's global `<key>`. With a migration, the state reasons of
 * classify.ts (a new, removed or retyped mutable global), the static-data
 * plan's reasons (a zero-filled buffer resized or gone) and — when there is
 * such a state change — a start-up code change are accepted: new and retyped
 * mutable globals become cells the patch owns, new buffers go to the arena as
 * any new object, and the migration fills them at the switch. Without one,
 * each of those reasons says that a migration would make it a hotpatch.
 *
 * Order: `planState` runs after classify and the static-data plan, before
 * the code page is cut (its result feeds the code page spec and the manifest).
 */
import { MIGRATE_FUNCTION, OLD_STATE_PREFIX, UNMIGRATE_FUNCTION } from "../format/index.ts";
import type { DataPlan, Image, LinkMap } from "../image/index.ts";
import type { PatchState } from "../patch/index.ts";
import { callsOfSlot, type OldState } from "../wasm/index.ts";
import { type Classification, isMigrationName } from "./classify.ts";

export const MIGRATION_HINT = `; a migration (${MIGRATE_FUNCTION}) would make it a hotpatch`;

export interface StatePlan {
  /** Reasons the change needs a baseline, as far as state is concerned. */
  reasons: string[];
  /** Whether state changes were accepted (a migration is present and sound): the start function is then no part of the patch. */
  accepted: boolean;
  /** For the code page: the migration's slots, the cells' keys and the old-state globals. */
  migration?: { migrate: number; unmigrate?: number };
  cells: Set<string>;
  oldState: Map<string, OldState>;
  /** The manifest's `state` (without the data's buffers, filled by `stateManifest`). */
  manifest?: Omit<PatchState, "buffers">;
}

export function planState(base: LinkMap, target: Image, classification: Classification, plan: DataPlan | undefined): StatePlan {
  const stateReasons = [...classification.stateReasons, ...(plan?.reasons ?? [])];
  // By export: the optimiser may merge two identical migrations (both empty) into one function.
  const fn = (name: string) => {
    const key = target.linkMap.exports.find((e) => e.name === name && e.kind === "function")?.value ?? name;
    return target.linkMap.functions.find((f) => f.key === key || f.key === key.replace(/@entry$/, ""));
  };
  const migrate = fn(MIGRATE_FUNCTION);
  const unmigrate = fn(UNMIGRATE_FUNCTION);
  const none: StatePlan = { reasons: [], accepted: false, cells: new Set(), oldState: new Map() };
  if (!migrate) {
    const hinted = stateReasons.map((r) => r + MIGRATION_HINT);
    const startup = classification.startupReason;
    if (startup) hinted.push(stateReasons.length > 0 ? startup + MIGRATION_HINT : startup);
    return { ...none, reasons: hinted };
  }
  const reasons = [...migrationProblems(target, migrate), ...(unmigrate ? migrationProblems(target, unmigrate) : [])];
  if (classification.startupReason && stateReasons.length === 0) reasons.push(classification.startupReason);
  const oldState = oldStateGlobals(base, target.linkMap, plan?.vanished ?? [], reasons);
  const cells = cellsOf(base, target.linkMap, classification.retyped, reasons);
  if (reasons.length > 0) return { ...none, reasons };
  return {
    reasons: [],
    accepted: true,
    migration: { migrate: migrate.slot, ...(unmigrate ? { unmigrate: unmigrate.slot } : {}) },
    cells: new Set(cells.map((c) => c.key)),
    oldState,
    manifest: { cells, migrate: "migrate", ...(unmigrate ? { unmigrate: "unmigrate" } : {}) },
  };
}

/** A migration must be `() => void` and call nothing (it runs first on a scratch copy, where the process's functions do not exist). */
function migrationProblems(target: Image, fn: LinkMap["functions"][number]): string[] {
  if (fn.signature !== "()->()") return [`the migration ${fn.key} must take nothing and return nothing, not ${fn.signature}`];
  const calls = callsOfSlot(target.module, fn.slot).map((call) => {
    const slot = /^slot:(\d+)$/.exec(call)?.[1];
    const called = slot === undefined ? target.linkMap.functions.find((f) => call.startsWith(f.name)) : target.linkMap.functions.find((f) => f.slot === Number(slot));
    return called?.key ?? call;
  });
  return calls.length === 0 ? [] : [`the migration ${fn.key} calls ${[...new Set(calls)].join(", ")}: a migration must be self-contained (loads, stores and globals only)`];
}

/**
 * `__hotpatch_old_<key>` → the running process's global `<key>`: imported
 * when mutable; when a constant (the address of a static buffer), its value.
 * An inline-mode image folded its constants away: then the global names the
 * one zero-filled buffer the target no longer uses (refused when there are several).
 */
function oldStateGlobals(base: LinkMap, target: LinkMap, vanished: DataPlan["vanished"], reasons: string[]): StatePlan["oldState"] {
  const out: StatePlan["oldState"] = new Map();
  const running = new Map(base.globals.map((g) => [g.key, g]));
  for (const g of target.globals) {
    if (!g.key.startsWith(OLD_STATE_PREFIX)) continue;
    const key = g.key.slice(OLD_STATE_PREFIX.length);
    const old = running.get(key);
    const constant = old && !old.mutable ? /^\(?i32\.const (\d+)\)?\s*$/.exec(old.init.trim())?.[1] : undefined;
    if (old && old.type !== g.type) reasons.push(`${g.key} is declared ${g.type} but the running process's ${key} is ${old.type}`);
    else if (old?.mutable) out.set(g.key, { export: old.export });
    else if (constant !== undefined) out.set(g.key, { constant: Number(constant) });
    else if (!old && g.type === "i32" && vanished.length === 1) out.set(g.key, { constant: vanished[0].offset });
    else reasons.push(`${g.key} names no global of the running process${vanished.length > 1 ? ` and ${vanished.length} of its buffers disappear: it is ambiguous` : ""}`);
  }
  return out;
}

/** The new mutable globals and the retyped ones, with the target's initial values. */
function cellsOf(base: LinkMap, target: LinkMap, retyped: string[], reasons: string[]): PatchState["cells"] {
  const known = new Set(base.globals.map((g) => g.key));
  const cells: PatchState["cells"] = [];
  for (const g of target.globals) {
    if (!g.mutable || (known.has(g.key) ? !retyped.includes(g.key) : isMigrationName(g.key))) continue;
    const init = /^\(?(?:i32|i64|f32|f64)\.const (-?[\w.+-]+)\)?\s*$/.exec(g.init.trim())?.[1];
    const type = g.type as PatchState["cells"][number]["type"];
    if (init === undefined || !["i32", "i64", "f32", "f64"].includes(type)) {
      reasons.push(`the new mutable global ${g.key} (${g.type}) has no constant initial value: a migration must give it one`);
      continue;
    }
    cells.push({ key: g.key, type, init });
  }
  return cells;
}

/** The manifest's `state`: the plan's, with the new objects that are zero-filled buffers (state a superseding patch takes over). */
export function stateManifest(state: StatePlan, plan: DataPlan | undefined): PatchState | undefined {
  if (!state.manifest) return undefined;
  const buffers: PatchState["buffers"] = [];
  plan?.newObjects.forEach((o, i) => {
    if (o.size > 0 && plan.blob.subarray(o.blobOffset, o.blobOffset + o.size).every((b) => b === 0)) buffers.push({ object: i, size: o.size });
  });
  return { ...state.manifest, buffers };
}
