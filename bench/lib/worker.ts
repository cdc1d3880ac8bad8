/**
 * The worker-thread process (engine/worker/supervisor.ts), which the pause
 * and patch-storm targets are defined on: this file is the one place in
 * bench/ that knows its API.
 */
import { decodeFromCompressedBase64, type Histogram } from "hdr-histogram-js";
import type { Image } from "../../engine/image/index.ts";
import type { Supervisor } from "../../engine/worker/index.ts";
import { type Distribution, MIN_SAMPLES_FOR_P99, roundTo } from "./stats.ts";

/** A worker process serving kvstore's request mix open-loop at `rate` requests per second. */
export async function startWorker(image: Image, rate: number, seed = 11): Promise<Supervisor> {
  const { Supervisor } = await import("../../engine/worker/index.ts");
  return Supervisor.start({ module: new WebAssembly.Module(image.module as BufferSource), linkMap: image.linkMap, load: { seed, rate, count: Number.POSITIVE_INFINITY } });
}

/** A worker histogram (hdr-histogram-js, compressed base64, microseconds) as a distribution. */
export function workerDistribution(label: string, encoded: string): Distribution {
  return histogramDistribution(label, decodeFromCompressedBase64(encoded));
}

/**
 * Samples of one phase of a run: the worker's cumulative histogram at its
 * end minus the one at its start (both from `Supervisor.snapshot`), added
 * to `into` (phases of one kind interleaved with others add up).
 */
export function addPhase(into: Histogram | undefined, before: string, after: string): Histogram {
  const phase = decodeFromCompressedBase64(after);
  const start = decodeFromCompressedBase64(before);
  phase.subtract(start);
  start.destroy();
  if (!into) return phase;
  into.add(phase);
  phase.destroy();
  return into;
}

/** A histogram of microseconds as a distribution (p99 only from ≥ 1,000 samples); destroys the histogram. */
export function histogramDistribution(label: string, h: Histogram): Distribution {
  const n = h.totalCount;
  const d: Distribution = {
    label,
    unit: "µs",
    n,
    min: roundTo(h.minNonZeroValue),
    p50: roundTo(h.getValueAtPercentile(50)),
    p90: roundTo(h.getValueAtPercentile(90)),
    p99: n >= MIN_SAMPLES_FOR_P99 ? roundTo(h.getValueAtPercentile(99)) : null,
    max: roundTo(h.maxValue),
    mean: roundTo(h.mean),
  };
  h.destroy();
  return d;
}
