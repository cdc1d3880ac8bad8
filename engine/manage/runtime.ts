/**
 * A VM's running guest processes, in this OS process.
 *
 * Each CLI call is a new OS process, so a VM's processes are booted on demand
 * as a real OS boots: every process starts from the VM's image, then the
 * installed hotpatches of that image are re-applied in installation order.
 * They then serve a seeded load, so that they hold state (keys, counters)
 * that a hotpatch keeps and a reboot loses.
 *
 * Contracts:
 * - `applyHotpatch` applies one package to every process live, all or
 *   nothing: if one process refuses, the ones already patched are reverted.
 * - `reboot` replaces every process by a fresh one of the given image (with
 *   its hotpatches); it reports the measured downtime (wall-clock time from
 *   stopping the old processes until the new ones serve) and the state lost.
 * - `serveLoad` never throws for a guest failure (a trap or abort while
 *   serving): it counts the failed requests in `failedRequests` and goes on
 *   with the next request, as a service manager would; the health check
 *   (health.ts) is what judges a VM. It times every request (the last
 *   LATENCY_SAMPLES per process are kept for `describe`).
 * - `describe` reads, and changes nothing but the STATS request it sends to
 *   each process (which the guest counts as a request).
 */
import { isHotpatchError } from "../errors.ts";
import { decodeStats, randomRequests, statsRequest } from "../guests/index.ts";
import type { Image } from "../image/index.ts";
import { PatchLoader } from "../loader/index.ts";
import type { TrustStore } from "../patch/index.ts";
import { GuestProcess } from "../process/index.ts";

/** Requests each process serves after boot (and per load round). */
export const LOAD_REQUESTS = 300;

/** Request latencies kept per process for `describe` (the most recent ones). */
export const LATENCY_SAMPLES = 1024;

export interface RunningProcess {
  index: number;
  process: GuestProcess;
  loader: PatchLoader;
  /** The last LATENCY_SAMPLES request latencies (µs), a ring written at `latencyNext`. */
  latencies: number[];
  latencyNext: number;
}

/** One slot of a running process: the function there now and the stack of code under it. */
export interface SlotView {
  slot: number;
  function: string;
  /** "image" for the image's own code, else the patch id whose code runs there. */
  runs: string;
  /** What the slot has held, the image's function first, the entry in use last. */
  stack: string[];
}

/** A running process as the emulator's processes endpoint shows it. */
export interface ProcessView {
  index: number;
  buildId: string;
  /** The guest's own counters (a STATS request). */
  requests: number;
  keys: number;
  latencyMicros: { samples: number; p50: number; p99: number; max: number };
  patches: { id: string; title: string; classification: string; functions: string[] }[];
  slots: SlotView[];
}

export interface RebootOutcome {
  downtimeMillis: number;
  /** Keys and requests the processes held before the reboot, all lost. */
  stateLost: { keys: number; requests: number };
}

export class VmRuntime {
  processes: RunningProcess[] = [];
  /** Load requests served, and those that failed with a guest trap or abort, since the VM first booted. */
  servedRequests = 0;
  failedRequests = 0;
  private round = 0;

  private constructor(
    readonly vmName: string,
    private readonly seed: number,
    private readonly trust: TrustStore,
  ) {}

  /** Boots `count` processes of `image` and re-applies `hotpatches` (packages, oldest first). */
  static boot(options: {
    vmName: string;
    count: number;
    image: Image;
    hotpatches: readonly Uint8Array[];
    trust: TrustStore;
    seed: number;
  }): VmRuntime {
    const runtime = new VmRuntime(options.vmName, options.seed, options.trust);
    runtime.start(options.count, options.image, options.hotpatches);
    return runtime;
  }

  /** Serves one round of the seeded load on every process. */
  serveLoad(requests = LOAD_REQUESTS): void {
    this.round += 1;
    for (const p of this.processes) {
      for (const r of randomRequests(this.seed + 1000 * this.round + p.index, requests)) {
        this.servedRequests += 1;
        const started = performance.now();
        try {
          p.process.request(r);
        } catch (error) {
          if (!isHotpatchError(error)) throw error;
          this.failedRequests += 1;
        }
        p.latencies[p.latencyNext] = (performance.now() - started) * 1000;
        p.latencyNext = (p.latencyNext + 1) % LATENCY_SAMPLES;
      }
    }
  }

  /** Keys and requests held by all processes now (a process whose STATS request fails twice counts as none). */
  totals(): { keys: number; requests: number } {
    let keys = 0;
    let requests = 0;
    for (const p of this.processes) {
      const stats = this.statsOf(p);
      keys += stats?.keys ?? 0;
      requests += stats?.requests ?? 0;
    }
    return { keys, requests };
  }

  /** One process's counters (a STATS request, tried twice; a guest failure counts in failedRequests), or undefined. */
  private statsOf(p: RunningProcess): { keys: number; requests: number } | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return decodeStats(p.process.request(statsRequest()));
      } catch (error) {
        if (!isHotpatchError(error)) throw error;
        this.failedRequests += 1;
      }
    }
    return undefined;
  }

  /** Every process: its counters, recent latency, installed patches and slot table. */
  describe(): ProcessView[] {
    return this.processes.map((p) => {
      const stats = this.statsOf(p);
      const slots = new Map<number, SlotView>();
      for (const f of p.process.linkMap.functions) slots.set(f.slot, { slot: f.slot, function: f.key, runs: "image", stack: ["image"] });
      for (const [slot, entries] of p.loader.slotStacks()) {
        const top = entries.at(-1);
        if (top === undefined) continue;
        slots.set(slot, { slot, function: top.key, runs: top.patchId || "image", stack: entries.map((e) => e.patchId || "image") });
      }
      return {
        index: p.index,
        buildId: p.process.buildId,
        requests: stats?.requests ?? 0,
        keys: stats?.keys ?? 0,
        latencyMicros: latencySummary(p.latencies),
        patches: p.loader.installed().map((i) => ({ id: i.id, title: i.title, classification: i.classification, functions: i.functions.map((f) => f.key) })),
        slots: [...slots.values()].sort((a, b) => a.slot - b.slot),
      };
    });
  }

  /** Applies package `kb` live to every process; all or nothing. Returns the slowest apply time (µs). */
  applyHotpatch(kb: string, bytes: Uint8Array): number {
    const done: RunningProcess[] = [];
    let slowest = 0;
    try {
      for (const p of this.processes) {
        const started = performance.now();
        p.loader.apply(bytes, this.trust);
        slowest = Math.max(slowest, (performance.now() - started) * 1000);
        done.push(p);
      }
    } catch (error) {
      for (const p of done) p.loader.revert(kb);
      throw error;
    }
    return Math.round(slowest);
  }

  /** Reverts a hotpatch live on every process. */
  revertHotpatch(kb: string): void {
    for (const p of this.processes) p.loader.revert(kb);
  }

  /** Restarts every process from `image` with `hotpatches` re-applied. */
  reboot(image: Image, hotpatches: readonly Uint8Array[]): RebootOutcome {
    const stateLost = this.totals();
    const started = performance.now();
    this.start(this.processes.length, image, hotpatches);
    const downtimeMillis = performance.now() - started;
    return { downtimeMillis: Math.round(downtimeMillis * 1000) / 1000, stateLost };
  }

  private start(count: number, image: Image, hotpatches: readonly Uint8Array[]): void {
    this.processes = [];
    for (let index = 0; index < count; index++) {
      const process = GuestProcess.start(image, { seed: this.seed + index });
      const loader = new PatchLoader(process, { now: () => 0 });
      for (const bytes of hotpatches) loader.apply(bytes, this.trust);
      this.processes.push({ index, process, loader, latencies: [], latencyNext: 0 });
    }
  }
}

/** Median, 99th percentile and maximum of `samples` (µs, rounded to 0.1), nearest rank. */
function latencySummary(samples: readonly number[]): ProcessView["latencyMicros"] {
  if (samples.length === 0) return { samples: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const round = (x: number) => Math.round(x * 10) / 10;
  return { samples: sorted.length, p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(sorted[sorted.length - 1]) };
}
