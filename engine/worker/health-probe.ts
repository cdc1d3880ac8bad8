/**
 * The process-side half of the health checks: what a running process says
 * about itself, taken in the guest's thread at a safe point (a worker
 * process adds it to every snapshot report).
 *
 * - `memoryBytes`: the guest's linear memory size (for memory-size limits).
 * - `staticDigest`: SHA-256 of the image's static data (the bytes of every
 *   active data segment: string literals, constant tables). Guest code never
 *   legitimately writes there, so a change means a patch wrote outside its
 *   own data; a revert cannot undo it (only a restart reloads the data).
 * - `slotMismatches`: the slot audit. Every slot the loader ever wrote must
 *   hold exactly the entry on top of the loader's stack for it, which makes
 *   every installed patch complete and no refused patch present: a slot
 *   listed here is a partial patch.
 *
 * Worker contract: imports nothing that reaches binaryen.
 */
import { createHash } from "node:crypto";
import type { PatchLoader } from "../loader/index.ts";
import type { GuestProcess } from "../process/index.ts";

export interface ProcessHealth {
  memoryBytes: number;
  staticDigest: string;
  slotMismatches: number[];
  installed: string[];
}

export function probeHealth(process: GuestProcess, loader: PatchLoader): ProcessHealth {
  return {
    memoryBytes: process.memory?.buffer.byteLength ?? 0,
    staticDigest: staticDigest(process),
    slotMismatches: auditSlots(process, loader),
    installed: loader.installed().map((p) => p.id),
  };
}

/** SHA-256 of the bytes of the image's active data segments, in order. */
export function staticDigest(process: GuestProcess): string {
  const hash = createHash("sha256");
  if (!process.memory) return "";
  const memory = new Uint8Array(process.memory.buffer);
  for (const segment of process.linkMap.data) {
    if (segment.offset === null || segment.size === 0) continue;
    hash.update(memory.subarray(segment.offset, segment.offset + segment.size));
  }
  return hash.digest("hex");
}

/**
 * Slots whose table entry is not the entry the loader's records say. The
 * loader lends its per-slot stacks read only (`slotStacks`); the audit reads
 * them, being the one place that checks the loader's records against the
 * table itself.
 */
export function auditSlots(process: GuestProcess, loader: PatchLoader): number[] {
  const stacks = loader.slotStacks();
  const bad: number[] = [];
  for (const [slot, stack] of stacks) {
    if (process.slots.get(slot) !== stack.at(-1)?.entry) bad.push(slot);
  }
  // Every slot of every installed patch must hold an entry of it, or of a patch stacked above it.
  for (const patch of loader.installed()) {
    for (const f of patch.functions) {
      const stack = stacks.get(f.slot);
      if (!stack?.some((e) => e.patchId === patch.id) && !bad.includes(f.slot)) bad.push(f.slot);
    }
  }
  return bad.sort((a, b) => a - b);
}
