/**
 * A VM's running guest processes, in the calling thread: the synchronous
 * core that both hosts run (local-host.ts in a CLI command's thread,
 * pool-worker.ts in a worker thread of `hotpatch serve`).
 *
 * A VM boots as a real OS boots: every process starts from the VM's image,
 * then the installed hotpatches of that image are re-applied in installation
 * order. They then serve a seeded load, so that they hold state (keys,
 * counters) that a hotpatch keeps and a reboot loses.
 *
 * Contracts (beside those of vm-processes.ts):
 * - `reboot` measures downtime as the wall-clock time from stopping the old
 *   processes until the new ones serve.
 * - `serveLoad` never throws for a guest failure (a trap or abort while
 *   serving): it counts the failed requests in `failedRequests` and goes on
 *   with the next request, as a service manager would; the health check
 *   (health.ts) is what judges a VM. It times every request (the last
 *   LATENCY_SAMPLES per process are kept for `describe`).
 * - `describe` reads, and changes nothing but the STATS request it sends to
 *   each process (which the guest counts as a request).
 */
import { HotpatchError, isHotpatchError } from "../errors.ts";
import { decodeStats, randomRequests, statsRequest } from "../guests/index.ts";
import type { Image } from "../image/index.ts";
import { PatchLoader } from "../loader/index.ts";
import { type PostedStaged, stagedOnce } from "./staged-packages.ts";
import { TrustStore } from "../patch/index.ts";
import { GuestProcess } from "../process/index.ts";
import { checkHealth, type HealthReport } from "./health.ts";
import type { ApplyTiming, BootSpec, ProcessView, RebootOutcome, SlotView, VmSnapshot } from "./vm-processes.ts";

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

export class VmRuntime {
  processes: RunningProcess[] = [];
  /** Load requests served, and those that failed with a guest trap or abort, since the VM first booted. */
  servedRequests = 0;
  failedRequests = 0;
  private round = 0;
  /** The boot the running processes belong to (ProcessView.boot). */
  private boots = 0;

  private constructor(
    readonly vmName: string,
    private readonly seed: number,
    private readonly trust: TrustStore,
  ) {}

  /** Why the last load round failed with something that is not a guest failure (pool-worker.ts sets it). */
  loadError: string | undefined;

  /** Boots `count` processes of `image` and re-applies `hotpatches` (packages, oldest first). */
  static boot(spec: BootSpec): VmRuntime {
    const runtime = new VmRuntime(spec.vmName, spec.seed, new TrustStore(spec.trustedKeys));
    runtime.start(spec.count, spec.image, spec.hotpatches);
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
        boot: this.boots,
        buildId: p.process.buildId,
        requests: stats?.requests ?? 0,
        keys: stats?.keys ?? 0,
        latencyMicros: latencySummary(p.latencies),
        patches: p.loader.installed().map((i) => ({ id: i.id, title: i.title, classification: i.classification, functions: i.functions.map((f) => f.key) })),
        slots: [...slots.values()].sort((a, b) => a.slot - b.slot),
      };
    });
  }

  /**
   * Applies package `kb` live to every process; all or nothing. Returns the
   * slowest process's times. `posted`: the package as the VM pool staged it
   * (verified and compiled on the server's thread), adopted instead of staged here.
   */
  applyHotpatch(kb: string, bytes: Uint8Array, posted?: PostedStaged): ApplyTiming {
    const done: RunningProcess[] = [];
    const timing: ApplyTiming = { applyMicros: 0, pauseMicros: 0 };
    try {
      for (const p of this.processes) {
        const started = performance.now();
        const prepared = p.loader.prepare(stagedOnce(bytes, this.trust, posted)); // verified and compiled once (staged-packages.ts)
        const switching = performance.now();
        p.loader.commit(prepared);
        const ended = performance.now();
        timing.applyMicros = Math.max(timing.applyMicros, (ended - started) * 1000);
        timing.pauseMicros = Math.max(timing.pauseMicros, (ended - switching) * 1000);
        done.push(p);
      }
    } catch (error) {
      for (const p of done) p.loader.revert(kb);
      throw error;
    }
    return { applyMicros: Math.round(timing.applyMicros), pauseMicros: Math.round(timing.pauseMicros * 10) / 10 };
  }

  /** One request to process `index`; a guest failure is thrown (E_GUEST_TRAP / E_GUEST_ABORT). */
  request(index: number, bytes: Uint8Array): Uint8Array {
    const p = this.processes[index];
    if (p === undefined) throw new HotpatchError("E_USAGE", `VM ${this.vmName} has no process ${index} (it runs ${this.processes.length})`);
    return p.process.request(bytes);
  }

  /** The platform health signal (health.ts). */
  health(expectedRevision: number, seed: number): HealthReport {
    return checkHealth(this, expectedRevision, seed);
  }

  /** The load served since boot and every process (describe). */
  snapshot(): VmSnapshot {
    return { served: this.servedRequests, failed: this.failedRequests, ...(this.loadError === undefined ? {} : { loadError: this.loadError }), processes: this.describe() };
  }

  /** Reverts a hotpatch live on every process; returns the slowest process's switch (commit) time (µs). */
  revertHotpatch(kb: string): { pauseMicros: number } {
    let slowest = 0;
    for (const p of this.processes) {
      const prepared = p.loader.prepareRevert(kb);
      const started = performance.now();
      p.loader.commit(prepared);
      slowest = Math.max(slowest, (performance.now() - started) * 1000);
    }
    return { pauseMicros: Math.round(slowest * 10) / 10 };
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
    this.boots += 1;
    this.processes = [];
    for (let index = 0; index < count; index++) {
      const process = GuestProcess.start(image, { seed: this.seed + index });
      const loader = new PatchLoader(process, { now: () => 0 });
      for (const bytes of hotpatches) loader.enable(stagedOnce(bytes, this.trust));
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
