/**
 * A stress run: a guest service from `assembly/<guest>/` serves seeded load
 * in a worker process while the control plane applies and reverts its
 * hotpatch `flips` times; then the final state is checked against a
 * reference replay (reference.ts).
 *
 * The guest's versions are its `*.ts` files in name order: the first is the
 * running image, the second the target of the hotpatch, which is built and
 * signed with a throw-away key for the run. Each apply is staged (signature
 * check + compile) on this thread ahead of time, as a real control plane
 * stages a package before its install window: the package of apply k+1 is
 * staged right after revert k is acknowledged, in the quiet half of the
 * cycle, so the control thread's staging never overlaps a switch (staging
 * right before each apply put it beside the worker's receive, prepare and
 * switch on a 2-core machine, and the pause p99 went from ~13 to ~17 µs).
 * Apply latency runs from posting the staged package to the worker's
 * acknowledgement; staging is timed apart.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as hdr from "hdr-histogram-js";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import { buildImageFromPath, type ImageMode } from "../image/index.ts";
import { type StagedPatch, stagePatch } from "../loader/index.ts";
import { TrustStore } from "../patch/index.ts";
import { Supervisor } from "../worker/index.ts";
import { replay } from "./reference.ts";

export const ASSEMBLY_DIR = fileURLToPath(new URL("../../assembly/", import.meta.url));

export interface StressOptions {
  guest: string;
  rate: number;
  durationSeconds: number;
  flips: number;
  seed: number;
  /** Image mode of the guest (default DEFAULT_IMAGE_MODE, engine/image). */
  mode?: ImageMode;
  /** Narration (progress, extra measurements). */
  say?: (line: string) => void;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** Exactly what `hotpatch stress --json` prints. Times in µs. */
export interface StressResult {
  requests: number;
  failed: number;
  lost: number;
  applies: number;
  reverts: number;
  pause: Percentiles;
  latency: Percentiles;
  finalStateMatches: boolean;
}

export interface StressDetails {
  /** Main thread: staging (verify + compile) of each apply's package, done ahead of the apply. */
  stageMicros: Percentiles;
  /** Main thread: post → prepare → switch → acknowledgement, per apply (the package staged ahead). */
  applyMicros: Percentiles;
  /** Worker: instantiating the code page while requests keep flowing, per apply. */
  prepareMicros: Percentiles;
  /** Whether every switch happened between two requests (the reference is then exact). */
  exact: boolean;
  /** The worker's pause histogram (hdr-histogram-js, compressed base64, µs), which `result.pause` summarises: for the bench. */
  pauseHistogram: string;
}

export function guestVersions(guest: string): string[] {
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(guest)) throw new HotpatchError("E_USAGE", `--guest must name a folder of assembly/, not ${guest}`);
  const dir = join(ASSEMBLY_DIR, guest);
  const versions = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ts")).sort((a, b) => a.localeCompare(b, "en", { numeric: true })) : [];
  if (versions.length < 2) {
    throw new HotpatchError("E_USAGE", `guest ${guest} needs at least two versions (*.ts) in assembly/${guest}/, found ${versions.length}`);
  }
  return versions.map((f) => join(dir, f));
}

export async function runStress(options: StressOptions): Promise<{ result: StressResult; details: StressDetails }> {
  const say = options.say ?? (() => {});
  const [base, target] = guestVersions(options.guest);
  const image = await buildImageFromPath(base, { mode: options.mode });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const id = "KB9000001";
  const built = await buildPatch({ base: image, target, id, key: privateKey, title: `stress: ${options.guest}` });
  if (built.kind !== "hotpatch") {
    throw new HotpatchError("E_REQUIRES_BASELINE", `the first two versions of ${options.guest} do not differ by a hotpatch (${built.kind})`, { patch: id });
  }
  const trust = new TrustStore([publicKey]);
  const count = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const load = { seed: options.seed, rate: options.rate, count };
  say(`${options.guest}: ${count} requests at ${options.rate}/s, ${options.flips} apply/revert cycles of ${id} (${built.functions.map((f) => f.key).join(", ")})`);

  const supervisor = await Supervisor.start({ module: new WebAssembly.Module(image.module as BufferSource), linkMap: image.linkMap, load });
  const staged = new Map<string, StagedPatch>();
  const stageMicros = newHistogram();
  const applyMicros = newHistogram();
  const prepareMicros = newHistogram();
  const stageNext = () => {
    const t0 = performance.now();
    const patch = stagePatch(built.package, trust);
    stageMicros.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    staged.set(patch.id, patch);
    return patch;
  };
  const start = performance.now();
  const durationMs = options.durationSeconds * 1000;
  let applies = 0;
  let reverts = 0;
  let next = stageNext();
  for (let k = 0; k < options.flips; k++) {
    await sleepUntil(start + (k / options.flips) * durationMs);
    const t0 = performance.now();
    const report = await supervisor.apply(next);
    applyMicros.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    prepareMicros.recordValue(Math.max(1, Math.round(report.prepareMicros)));
    applies++;
    await sleepUntil(start + ((k + 0.5) / options.flips) * durationMs);
    await supervisor.revert(id);
    reverts++;
    if (k + 1 < options.flips) next = stageNext(); // ahead of the next apply, in the quiet half of the cycle
  }
  while (supervisor.counters().generated < count) await sleepUntil(performance.now() + 20);
  const final = await supervisor.stop();
  const reference = replay(image, load, final.metrics.generated, supervisor.events, staged);
  const { generated, served, failed } = final.metrics;
  const result: StressResult = {
    requests: generated,
    failed,
    lost: generated - served - failed,
    applies,
    reverts,
    pause: percentiles(hdr.decodeFromCompressedBase64(final.pauses)),
    latency: percentiles(hdr.decodeFromCompressedBase64(final.latency)),
    finalStateMatches: JSON.stringify(reference.state) === JSON.stringify(final.state),
  };
  return { result, details: { stageMicros: percentiles(stageMicros), applyMicros: percentiles(applyMicros), prepareMicros: percentiles(prepareMicros), exact: reference.exact, pauseHistogram: final.pauses } };
}

function newHistogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function percentiles(h: hdr.Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: 0, p99: 0, max: 0 };
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue };
}

function sleepUntil(at: number): Promise<void> {
  const ms = at - performance.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
