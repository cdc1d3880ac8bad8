/**
 * Decides whether the difference between a base image and a target build can
 * be delivered to a running process as a hotpatch, and lists, in words, every
 * reason it cannot. Both link maps must come from builds with the same slot
 * plan (the target is built with the base's slots), so fingerprints and slot
 * numbers compare directly.
 */
import type { LinkedFunction, LinkMap } from "../image/index.ts";
import { MIGRATE_FUNCTION, OLD_STATE_PREFIX, redirectFlagName, UNMIGRATE_FUNCTION } from "../format/index.ts";

/**
 * Names a target reserves for its migration (docs/loader-and-consistency.md#state-migrations):
 * not part of what is compared. Includes redirect flags (inline mode) the base
 * does not have: only new exports get one, and the only new exports allowed are the migration's.
 */
export const isMigrationName = (key: string) =>
  key === MIGRATE_FUNCTION || key === UNMIGRATE_FUNCTION || key.startsWith(OLD_STATE_PREFIX) || key.startsWith(REDIRECT_FLAG_PREFIX);
const REDIRECT_FLAG_PREFIX = redirectFlagName(0).slice(0, -1);

export interface FunctionChange {
  key: string;
  slot: number;
  signature: string;
  change: "changed" | "new";
  oldFingerprint: string;
  newFingerprint: string;
}

export interface Classification {
  changes: FunctionChange[];
  /** Why the change needs a baseline (a restart); empty for a hotpatch. */
  reasons: string[];
  /**
   * Immutable globals whose value changes. The code page defines them itself
   * (folded) and every function that reads one must be patched too.
   */
  changedConstants: string[];
  /**
   * Changes of state that a migration makes a hotpatch (build-patch.ts
   * decides): a new or removed mutable global, a mutable global's type change.
   * Not part of `reasons`.
   */
  stateReasons: string[];
  /** The start-up code changes (not part of `reasons`: with new state and a migration it is accepted). */
  startupReason?: string;
  /** Keys of mutable globals that change type (they become cells of the patch). */
  retyped: string[];
}

export interface ClassifyOptions {
  /**
   * True when the target was relocated onto the base's static data layout
   * (static-data.ts decides about data); false compares data segments as they
   * are, so any change of static data needs a baseline.
   */
  relocated: boolean;
}

/**
 * AssemblyScript's runtime type table. New classes extend it: the patch
 * carries the extended table as new static data and folds the pointer into
 * every runtime function that reads it. The export of the running process
 * keeps pointing at the old table; only the host-side loader reads it, for
 * class ids it already knows.
 */
const RTTI_BASE = "~lib/rt/__rtti_base";

/** Marks a function that the base image does not have (manifest `oldFingerprint`). */
export const NEW_FUNCTION = "none";

export function classify(base: LinkMap, target: LinkMap, options: ClassifyOptions = { relocated: false }): Classification {
  const reasons: string[] = [];
  const baseFunctions = new Map(base.functions.map((f) => [f.key, f]));
  const changes: FunctionChange[] = [];
  for (const fn of target.functions) {
    if (isMigrationName(fn.key)) continue; // build-patch.ts carries the migration
    const old = baseFunctions.get(fn.key);
    if (!old) {
      changes.push(change(fn, "new", NEW_FUNCTION));
      continue;
    }
    if (old.signature !== fn.signature) {
      reasons.push(`function ${fn.key} changes its signature from ${old.signature} to ${fn.signature}`);
    } else if (old.fingerprint !== fn.fingerprint) {
      changes.push(change(fn, "changed", old.fingerprint));
    }
  }

  if (!options.relocated) compareData(base, target, reasons);
  const stateReasons: string[] = [];
  const retyped: string[] = [];
  const changedConstants = compareGlobals(base, target, reasons, stateReasons, retyped);
  const exportedGlobals = new Set(base.exports.filter((e) => e.kind === "global").map((e) => e.value));
  for (const key of changedConstants) {
    if (exportedGlobals.has(key) && key !== RTTI_BASE) {
      reasons.push(`the exported constant ${key} changes its value, which the host may have read`);
    }
  }
  compareList("import", base.imports.map(importText), target.imports.map(importText), reasons);
  const exported = target.exports.filter((e) => !isMigrationName(e.name));
  compareList("export", base.exports.map(exportText), exported.map(exportText), reasons);
  compareList(
    "function pointer table entry",
    base.elements.map((e) => `${e.table}@${e.offset}: ${e.functions.join(" ")}`),
    target.elements.map((e) => `${e.table}@${e.offset}: ${e.functions.join(" ")}`),
    reasons,
  );
  const startKey = target.start;
  let startupReason: string | undefined;
  if (startKey !== base.start) {
    reasons.push(`the start function changes from ${base.start ?? "none"} to ${startKey ?? "none"}`);
  } else if (startKey && changes.some((c) => isStartKey(c.key, startKey))) {
    startupReason = "the module's start-up code changes: it already ran in the running process and cannot run again";
  }
  return { changes, reasons, changedConstants, stateReasons, startupReason, retyped };
}

/** Whether a function key is the image's start-up code. */
export const isStartKey = (key: string, start: string | undefined) => key === start || key.startsWith("start:");

function change(fn: LinkedFunction, kind: FunctionChange["change"], oldFingerprint: string): FunctionChange {
  return { key: fn.key, slot: fn.slot, signature: fn.signature, change: kind, oldFingerprint, newFingerprint: fn.fingerprint };
}

function compareData(base: LinkMap, target: LinkMap, reasons: string[]): void {
  const text = (d: LinkMap["data"][number]) => `${d.offset === null ? "passive" : `0x${d.offset.toString(16)}`}+${d.size}:${d.sha256}`;
  const before = new Set(base.data.map(text));
  const after = new Set(target.data.map(text));
  const added = target.data.filter((d) => !before.has(text(d)));
  const removed = base.data.filter((d) => !after.has(text(d)));
  if (added.length === 0 && removed.length === 0) return;
  const where = (d: LinkMap["data"][number]) => (d.offset === null ? "a passive segment" : `0x${d.offset.toString(16)}`);
  const samples = [...added.map((d) => `new or changed bytes at ${where(d)} (${d.size} bytes)`), ...removed.map((d) => `bytes at ${where(d)} no longer present`)];
  reasons.push(
    `the static data layout changes (${samples.slice(0, 3).join("; ")}${samples.length > 3 ? `; ${samples.length - 3} more` : ""}): this builder cannot relocate static data yet`,
  );
}

function compareGlobals(base: LinkMap, target: LinkMap, reasons: string[], stateReasons: string[], retyped: string[]): string[] {
  const changedConstants: string[] = [];
  const before = new Map(base.globals.map((g) => [g.key, g]));
  const after = new Map(target.globals.map((g) => [g.key, g]));
  for (const g of target.globals) {
    const old = before.get(g.key);
    if (!old && isMigrationName(g.key)) continue;
    if (!old) {
      if (g.mutable) stateReasons.push(`adds the mutable global ${g.key}: a running process has no storage for it`);
      continue;
    }
    if (old.type !== g.type || old.mutable !== g.mutable) {
      const reason = `global ${g.key} changes from ${describeGlobal(old)} to ${describeGlobal(g)}`;
      if (old.mutable && g.mutable) {
        stateReasons.push(reason);
        retyped.push(g.key);
      } else reasons.push(reason);
    } else if (!g.mutable && old.init !== g.init) {
      changedConstants.push(g.key);
    }
  }
  for (const g of base.globals) {
    if (!after.has(g.key) && g.mutable) stateReasons.push(`removes the mutable global ${g.key}, which holds live state`);
  }
  return changedConstants;
}

function describeGlobal(g: LinkMap["globals"][number]): string {
  return `${g.mutable ? "mutable" : "immutable"} ${g.type}`;
}

function compareList(what: string, before: string[], after: string[], reasons: string[]): void {
  const old = new Set(before);
  const now = new Set(after);
  for (const item of after) if (!old.has(item)) reasons.push(`adds or changes the ${what} ${item}`);
  for (const item of before) if (!now.has(item)) reasons.push(`removes the ${what} ${item}`);
}

const importText = (i: LinkMap["imports"][number]) => `${i.module}.${i.base} ${i.signature}`;
const exportText = (e: LinkMap["exports"][number]) => `${e.name} (${e.kind} ${e.value})`;
