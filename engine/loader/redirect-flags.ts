/**
 * Redirect flags of inline-mode images: a mutable global per slot that the
 * image's host entry (`F@entry`) reads to choose between its inline copy of
 * F and a call through the slot. A written slot's flag is 1 unless the slot
 * holds the image's own function again, so a host entry never runs the
 * image's copy of a patched function. Slots-mode images have no flags: every
 * computation here then yields nothing.
 *
 * Ordering: the flag writes of a swap are computed with the switch (before
 * it, from the slot stacks) and set right after its slot writes, in the same
 * synchronous step (`setFlags`): no guest code runs in between.
 */
import { redirectFlagName } from "../format/index.ts";
import type { GuestProcess } from "../process/index.ts";
import type { SlotStacks } from "./slot-stacks.ts";
import type { SlotWrite } from "./swap.ts";

/** A redirect flag and the value it takes with a swap. */
export interface FlagWrite {
  flag: WebAssembly.Global;
  value: number;
}

/** The redirect flags of one process, found by slot (built on first use). */
export class RedirectFlags {
  private bySlot: Map<number, WebAssembly.Global> | undefined;

  constructor(private readonly process: GuestProcess) {}

  /** The flag writes that go with a swap of `writes`; the stacks tell which entry is the image's own. */
  writesFor(writes: readonly SlotWrite[], stacks: SlotStacks): FlagWrite[] {
    const flags = this.flagsBySlot();
    const out: FlagWrite[] = [];
    if (flags.size === 0) return out;
    for (const { slot, entry } of writes) {
      const flag = flags.get(slot);
      if (flag) out.push({ flag, value: entry === stacks.bottom(slot).entry ? 0 : 1 });
    }
    return out;
  }

  private flagsBySlot(): Map<number, WebAssembly.Global> {
    if (!this.bySlot) {
      const exported = this.process.instance.exports as Record<string, unknown>;
      const exportByKey = new Map(this.process.linkMap.globals.map((g) => [g.key, g.export]));
      this.bySlot = new Map();
      for (const f of this.process.linkMap.functions) {
        const flag = exported[exportByKey.get(redirectFlagName(f.slot)) ?? ""];
        if (flag instanceof WebAssembly.Global) this.bySlot.set(f.slot, flag);
      }
    }
    return this.bySlot;
  }
}

/** Sets every flag to its value (the switch, right after the slot writes). */
export function setFlags(flags: readonly FlagWrite[]): void {
  for (let i = 0; i < flags.length; i++) flags[i].flag.value = flags[i].value;
}

/** Gives every flag its current value again: nothing changes (a rehearsal, see `rewriteSlots` in swap.ts). */
export function rewriteFlags(flags: readonly FlagWrite[]): void {
  for (const { flag } of flags) {
    const value = flag.value;
    flag.value = value;
  }
}
