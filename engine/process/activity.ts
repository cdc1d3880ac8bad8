/**
 * Reads a running process's activation counters: which patchable functions
 * have a frame on the guest's stack right now.
 *
 * Only functions that can reach the safepoint import have a counter (see
 * engine/wasm/activation.ts); every other function is never on the stack at
 * a safe point, so it reads as inactive. The answer is only meaningful at a
 * safe point (between requests, or inside `env.safepoint`), in the thread
 * that runs the guest: wasm globals are per thread.
 */
import { counterTarget } from "../format/index.ts";
import type { GuestProcess } from "./process.ts";

export class Activity {
  private readonly counters = new Map<string, WebAssembly.Global>();

  constructor(process: GuestProcess) {
    const exports = process.instance.exports as Record<string, unknown>;
    for (const g of process.linkMap.globals) {
      const target = counterTarget(g.key);
      const global = exports[g.export];
      if (target !== undefined && global instanceof WebAssembly.Global) this.counters.set(target, global);
    }
  }

  /** Function keys that have a counter (the ones that can be active at a safe point). */
  counted(): string[] {
    return [...this.counters.keys()];
  }

  /** Number of activations of the function on the stack now (0 for uncounted functions). */
  depth(key: string): number {
    return (this.counters.get(key)?.value as number | undefined) ?? 0;
  }

  /** The first of `keys` that is active now, or undefined; allocates nothing (the switch path calls it). */
  firstActive(keys: readonly string[]): string | undefined {
    for (let i = 0; i < keys.length; i++) {
      const counter = this.counters.get(keys[i]);
      if (counter !== undefined && (counter.value as number) > 0) return keys[i];
    }
    return undefined;
  }

  /** The keys among `keys` that are active now, in the order given. */
  active(keys: readonly string[]): string[] {
    return keys.filter((key) => this.depth(key) > 0);
  }
}
