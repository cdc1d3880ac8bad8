/**
 * Cumulative hotpatches: which installed patches a new patch supersedes, and
 * what the slots go back to when patches leave.
 *
 * A patch supersedes the installed patches its manifest names; without a
 * `supersedes` list, every installed patch of the same target build with a
 * lower KB number (E_DOWNGRADE when one with a higher number is installed).
 * Enabling it replaces them in one swap: its own entries, plus the slots
 * only they held going back to what lies beneath them (`restoresOf`).
 * Disabling it puts exactly those patches back, again in one swap
 * (`revertWrites`). Nothing here changes the loader: these compute writes.
 */
import { HotpatchError } from "../errors.ts";
import type { PatchManifest } from "../patch/index.ts";
import type { InstalledPatch } from "./installed-patch.ts";
import type { Linked } from "./linking.ts";
import type { SlotStacks } from "./slot-stacks.ts";
import type { SlotEntry, SlotWrite } from "./swap.ts";

/** The installed patches `manifest` supersedes, in installation order. */
export function supersededBy(manifest: PatchManifest, installed: readonly InstalledPatch[]): InstalledPatch[] {
  const target = manifest.target.buildId;
  const number = kbNumber(manifest.id);
  if (manifest.supersedes !== undefined) {
    const named = new Set(manifest.supersedes);
    return installed.filter((p) => named.has(p.id));
  }
  const newer = installed.find((p) => p.staged.manifest.target.buildId === target && p.staged.manifest.supersedes === undefined && kbNumber(p.id) > number);
  if (newer) {
    throw new HotpatchError("E_DOWNGRADE", `${newer.id}, a later cumulative hotpatch of the same baseline, is installed`, { patch: manifest.id });
  }
  return installed.filter((p) => p.staged.manifest.target.buildId === target && kbNumber(p.id) < number);
}

/** Slots the superseded patches held that the new one does not: back to what lies beneath them. */
export function restoresOf(manifest: PatchManifest, superseded: readonly InstalledPatch[], ids: ReadonlySet<string>, stacks: SlotStacks): SlotWrite[] {
  const mine = new Set(manifest.functions.map((f) => f.slot));
  return [...new Set(superseded.flatMap((p) => p.functions.map((f) => f.slot)))]
    .filter((slot) => !mine.has(slot))
    .map((slot) => ({ slot, entry: stacks.topIgnoring(slot, ids).entry }));
}

/**
 * The writes of disabling `record`: each of its slots back to what lies
 * beneath it, then the entries of the patches it superseded, linked again
 * (they win where both write a slot). One write per slot, in that order.
 */
export function revertWrites(record: InstalledPatch, reinstated: readonly Linked[], stacks: SlotStacks): SlotWrite[] {
  const ignore = new Set([record.id]);
  const bySlot = new Map<number, SlotEntry>();
  for (const f of record.functions) bySlot.set(f.slot, stacks.topIgnoring(f.slot, ignore).entry);
  for (const linked of reinstated) for (const w of linked.writes) bySlot.set(w.slot, w.entry);
  return [...bySlot].map(([slot, entry]) => ({ slot, entry }));
}

function kbNumber(id: string): number {
  return Number(id.slice(2));
}
