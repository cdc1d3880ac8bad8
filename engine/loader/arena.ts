/**
 * The patch arena: the free region of a process's memory below its static
 * data (see compile-as.ts), where patches' new static objects live.
 *
 * A first-fit allocator of 16-byte-aligned blocks, kept on the host side (the
 * guest never allocates here). Freed blocks are zeroed by the loader and
 * merged with their neighbours, so any number of apply/revert cycles reuses
 * the same space and two live patches never overlap.
 */
import { HotpatchError } from "../errors.ts";

export const ARENA_ALIGN = 16;

interface Block {
  start: number;
  size: number;
}

export class PatchArena {
  private free: Block[];

  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    const first = align(start);
    this.free = end > first ? [{ start: first, size: end - first }] : [];
  }

  /** Reserves `size` bytes; E_ARENA_FULL names the patch when nothing fits. */
  allocate(size: number, patch: string): number {
    const need = align(Math.max(size, 1));
    const index = this.free.findIndex((b) => b.size >= need);
    if (index < 0) {
      throw new HotpatchError("E_ARENA_FULL", `needs ${size} bytes of static data, but the patch arena has no free block that large (${this.freeBytes()} bytes free in all)`, {
        patch,
      });
    }
    const block = this.free[index];
    const at = block.start;
    if (block.size === need) this.free.splice(index, 1);
    else this.free[index] = { start: block.start + need, size: block.size - need };
    return at;
  }

  release(at: number, size: number): void {
    const block = { start: at, size: align(Math.max(size, 1)) };
    this.free.push(block);
    this.free.sort((a, b) => a.start - b.start);
    const merged: Block[] = [];
    for (const b of this.free) {
      const last = merged.at(-1);
      if (last && last.start + last.size === b.start) last.size += b.size;
      else merged.push({ ...b });
    }
    this.free = merged;
  }

  freeBytes(): number {
    return this.free.reduce((sum, b) => sum + b.size, 0);
  }
}

function align(n: number): number {
  return Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;
}
