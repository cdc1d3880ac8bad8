/**
 * The slot stacks: for every slot, the stack of code that has been placed in
 * it. As in the kernel's livepatch `func_stack`, the winner is the entry at
 * the top: enabling a patch pushes its functions, disabling pops them, and
 * only a patch that is on top of every slot it touches can be disabled
 * (E_NOT_ON_TOP otherwise). The bottom of each stack is the image's own
 * function, captured from the slot table when the slot is first touched, so
 * a slot must be touched here before anything writes it.
 *
 * Contract: the top of a slot's stack is what the slot table holds (swap.ts
 * writes the table, the loader pushes and pops to match). `generation`
 * changes with every push, pop and reattach: a switch prepared at another
 * generation is stale.
 */
import { HotpatchError } from "../errors.ts";
import type { PatchManifest } from "../patch/index.ts";
import type { GuestProcess } from "../process/index.ts";
import type { InstalledPatch } from "./installed-patch.ts";
import type { SlotEntry, SlotWrite } from "./swap.ts";

export interface StackEntry {
  /** The patch that placed the entry; "" for the image's own function. */
  patchId: string;
  key: string;
  signature: string;
  entry: SlotEntry;
}

/** A stack entry and the slot whose stack it goes on. */
export interface SlotPush {
  slot: number;
  entry: StackEntry;
}

export class SlotStacks {
  private readonly stacks = new Map<number, StackEntry[]>();
  private changes = 0;

  constructor(private process: GuestProcess) {}

  /** Bumped by every `pushAll`, `popAll` and `reattach`. */
  get generation(): number {
    return this.changes;
  }

  /** Forgets every stack: the slots of the restarted `process` hold its image's functions again. */
  reattach(process: GuestProcess): void {
    this.process = process;
    this.stacks.clear();
    this.changes++;
  }

  /** The entry the slot runs now. */
  top(slot: number): StackEntry {
    return this.stack(slot).at(-1)!;
  }

  /** The image's own function in the slot (null for a spare slot). */
  bottom(slot: number): StackEntry {
    return this.stack(slot)[0];
  }

  /** The entry the slot would run if the given patches were not installed. */
  topIgnoring(slot: number, ignoring: ReadonlySet<string>): StackEntry {
    const stack = this.stack(slot);
    return stack.findLast((e) => !ignoring.has(e.patchId)) ?? stack[0];
  }

  /** Pushes the entries, in order (a switch's arriving patches). */
  pushAll(entries: readonly SlotPush[]): void {
    for (let i = 0; i < entries.length; i++) this.stack(entries[i].slot).push(entries[i].entry);
    this.changes++;
  }

  /** Pops one entry from the stack of each function's slot (a leaving patch's). */
  popAll(functions: readonly { slot: number }[]): void {
    for (let i = 0; i < functions.length; i++) this.stack(functions[i].slot).pop();
    this.changes++;
  }

  /** Refuses unless, in each of its slots, nothing but patches in `leaving` lies above the record's entry. */
  requireOnTop(record: InstalledPatch, leaving: ReadonlySet<string>): void {
    for (const fn of record.functions) {
      const top = this.stack(fn.slot).findLast((e) => e.patchId === record.id || !leaving.has(e.patchId))!;
      if (top.patchId !== record.id) {
        throw new HotpatchError("E_NOT_ON_TOP", `${top.patchId} was applied over it and must be reverted first`, { patch: record.id, function: fn.key });
      }
    }
  }

  /** Every slot touched so far and its stack, the image's function first (read only). */
  view(): ReadonlyMap<number, readonly StackEntry[]> {
    return this.stacks;
  }

  /** Which patch's code each slot runs now (slots never patched are left out). */
  activePatches(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [slot, stack] of this.stacks) if (stack.length > 1) out.set(slot, stack.at(-1)!.patchId);
    return out;
  }

  private stack(slot: number): StackEntry[] {
    let stack = this.stacks.get(slot);
    if (!stack) {
      const fn = this.process.linkMap.functions.find((f) => f.slot === slot);
      stack = [{ patchId: "", key: fn?.key ?? "", signature: fn?.signature ?? "", entry: this.process.slots.get(slot) as SlotEntry }];
      this.stacks.set(slot, stack);
    }
    return stack;
  }
}

/** The stack entries a patch's linked writes push, in manifest order. */
export function stackEntriesOf(manifest: PatchManifest, writes: readonly SlotWrite[]): SlotPush[] {
  return manifest.functions.map((fn, i) => ({ slot: fn.slot, entry: { patchId: manifest.id, key: fn.key, signature: fn.signature, entry: writes[i].entry } }));
}
