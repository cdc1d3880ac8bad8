/**
 * Latency distributions and targets.
 *
 * Samples are recorded in nanoseconds into an HDR histogram (3 significant
 * digits) and summarised in the unit a table shows. A p99 is only reported
 * from at least MIN_SAMPLES_FOR_P99 samples; below that it is null, never a
 * guess. A target's `met` is always computed here, from its goal and value.
 */
import { build } from "hdr-histogram-js";

export const MIN_SAMPLES_FOR_P99 = 1000;

export type Unit = "ns" | "µs" | "ms";
const NS_PER: Record<Unit, number> = { ns: 1, "µs": 1e3, ms: 1e6 };

export interface Distribution {
  label: string;
  unit: Unit;
  n: number;
  min: number;
  p50: number;
  p90: number;
  /** null when n < MIN_SAMPLES_FOR_P99. */
  p99: number | null;
  max: number;
  mean: number;
}

/** Collects one measured quantity, in nanoseconds. */
export class Recorder {
  private readonly samples: number[] = [];
  constructor(
    readonly label: string,
    readonly unit: Unit = "µs",
  ) {}

  /** Records a duration given in milliseconds (what `performance.now()` differences are). */
  addMillis(ms: number): void {
    this.samples.push(Math.max(1, Math.round(ms * 1e6)));
  }

  addNanos(ns: number): void {
    this.samples.push(Math.max(1, Math.round(ns)));
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): Distribution {
    return summarize(this.label, this.samples, this.unit);
  }
}

export function summarize(label: string, nanos: readonly number[], unit: Unit = "µs"): Distribution {
  const scale = NS_PER[unit];
  const round = (ns: number) => roundTo(ns / scale);
  if (nanos.length === 0) return { label, unit, n: 0, min: 0, p50: 0, p90: 0, p99: null, max: 0, mean: 0 };
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600e9, numberOfSignificantValueDigits: 3 });
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  for (const v of nanos) {
    histogram.recordValue(v);
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const result: Distribution = {
    label,
    unit,
    n: nanos.length,
    min: round(min),
    p50: round(histogram.getValueAtPercentile(50)),
    p90: round(histogram.getValueAtPercentile(90)),
    p99: nanos.length >= MIN_SAMPLES_FOR_P99 ? round(histogram.getValueAtPercentile(99)) : null,
    max: round(max),
    mean: round(sum / nanos.length),
  };
  histogram.destroy();
  return result;
}

/** Three significant digits, enough for noisy timings and stable in JSON. */
export function roundTo(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `<=`: the value must not exceed the goal (a latency); `>=`: it must reach it (a speed-up). */
export type Comparison = "<=" | ">=";

export interface Target {
  name: string;
  goal: number;
  value: number | null;
  unit: string;
  comparison: Comparison;
  met: boolean | null;
  skipped?: true;
  reason?: string;
}

export function isMet(goal: number, value: number, comparison: Comparison): boolean {
  return comparison === "<=" ? value <= goal : value >= goal;
}

export function target(name: string, goal: number, value: number, unit: string, comparison: Comparison): Target {
  return { name, goal, value: roundTo(value), unit, comparison, met: isMet(goal, roundTo(value), comparison) };
}

/** A target that could not be measured here; `value` may carry a related figure that does not meet the target's definition, or null. */
export function skippedTarget(name: string, goal: number, unit: string, comparison: Comparison, reason: string): Target {
  return { name, goal, value: null, unit, comparison, met: null, skipped: true, reason };
}
