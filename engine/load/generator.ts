/**
 * The seeded load generator: request `i` of a run is a pure function of the
 * seed and `i`, so a generator restarted at any index (after a crash) goes on
 * with exactly the requests a reference replay will see, and the reference
 * needs no recording of request bytes.
 *
 * The mix is the kvstore request stream of engine/guests/kvstore.ts
 * (`randomRequests`, one request per index), plus optional long-running
 * SCANs and a script of fixed requests at given indices (for tests).
 */
import { randomRequests, scanRequest } from "../guests/index.ts";

export interface LoadSpec {
  seed: number;
  /** Requests per second; requests are due at fixed intervals (open loop). */
  rate: number;
  /** Requests to generate; Infinity for "until stopped". */
  count: number;
  /** Every `scanEvery`-th request (indices scanEvery-1, 2·scanEvery-1, …) is a SCAN of `scanSteps` rounds; 0 for none. */
  scanEvery?: number;
  scanSteps?: number;
  /** Fixed request bytes at given indices, overriding the mix. */
  script?: Record<number, number[]>;
}

/** The bytes of request `index`. */
export function requestAt(spec: LoadSpec, index: number): Uint8Array {
  const scripted = spec.script?.[index];
  if (scripted) return Uint8Array.from(scripted);
  if (spec.scanEvery && (index + 1) % spec.scanEvery === 0) return scanRequest(spec.scanSteps ?? 1000);
  return randomRequests(indexSeed(spec.seed, index), 1)[0];
}

/** A well-mixed 32-bit seed for one index. */
export function indexSeed(seed: number, index: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** When request `index` is due, in ms of the pacing clock, for a generator that started `first` at `startMs`. */
export function dueAt(spec: LoadSpec, first: number, startMs: number, index: number): number {
  return startMs + ((index - first) * 1000) / spec.rate;
}

/** How many requests of the run are due by `t` (index bound: requests `first` … result − 1), for a generator that started `first` at `startMs`. */
export function dueBy(spec: LoadSpec, first: number, startMs: number, t: number): number {
  if (t < startMs) return first;
  return Math.min(spec.count, first + Math.floor(((t - startMs) * spec.rate) / 1000) + 1);
}
