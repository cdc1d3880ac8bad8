/**
 * Suite 2 — pause at the safe point under load, for 1 and 100 functions.
 *
 * The targets are defined on the worker-thread process (the guest keeps
 * serving while the control plane stages and prepares; the pause is the
 * switch at a safe point). Until that process exists this suite measures
 * the in-thread process, where the guest's thread itself enables the patch
 * between two requests: its pause is the whole enable (the package was
 * staged ahead of time), measured here under a steady request load.
 */
import { randomRequests } from "../../engine/guests/index.ts";
import type { Image } from "../../engine/image/index.ts";
import { PatchLoader, type StagedPatch, stagePatch } from "../../engine/loader/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import { runStress } from "../../engine/stress/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { freshPackages, type PackageTemplate } from "../lib/fresh.ts";
import { type Distribution, Recorder, target } from "../lib/stats.ts";
import type { Suite, SuiteOutcome } from "../lib/suite.ts";
import { startWorker, workerDistribution } from "../lib/worker.ts";

const PLUS = 100;
/** Packages the control plane keeps staged ahead of the worker's applies. */
const AHEAD = 100;
/** Idle time before each apply of the isolated series (the worker keeps serving). */
const GAP_MS = 20;

export const pause: Suite = {
  name: "pause",
  title: "Pause at the safe point under load (1 and 100 functions)",
  async run(context): Promise<SuiteOutcome> {
    const samples = context.quick ? 1000 : 3000;
    const requests = randomRequests(6, 5000);
    const v1 = await context.kvImage("v1");
    const plus = await context.kvPlusImage(PLUS);
    const onePatch = await context.kvPatch();
    const hundredPatch = await context.kvPlusPatch(PLUS, PLUS);
    const inThread = async (image: Image, template: PackageTemplate, label: string) => {
      const process = GuestProcess.start(image);
      let next = 0;
      const load = () => {
        for (let i = 0; i < 10; i++) process.request(requests[next++ % requests.length]);
      };
      return inThreadPauses(context, process, template, samples, load, label);
    };
    const distributions = [
      await inThread(v1, onePatch, "in-thread pause (enable between requests), kvstore, 1 fn"),
      await inThread(plus, hundredPatch, `in-thread pause (enable between requests), kvstore + ${PLUS} fns, ${PLUS} fn`),
    ];

    const rate = 5000;
    const isolatedSamples = context.quick ? 200 : 1000;
    const one = await workerPauses(context, v1, onePatch, samples, isolatedSamples, rate, "worker pause at the safe point, kvstore, 1 fn");
    const hundred = await workerPauses(context, plus, hundredPatch, samples, isolatedSamples, rate, `worker pause at the safe point, kvstore + ${PLUS} fns, ${PLUS} fn`);
    distributions.push(one.pauses, one.isolated, one.latency, hundred.pauses, hundred.isolated, hundred.latency);
    const stress = await stressPauses(context.quick);
    distributions.push(stress.pauses);
    return {
      distributions,
      figures: {
        "worker process available": true,
        "worker load (requests/s, open loop)": rate,
        "transitions not completed (1 fn)": one.incomplete,
        "transitions not completed (100 fn)": hundred.incomplete,
        [`hotpatch stress ${stress.flags}: requests served / failed / lost`]: `${stress.requests} / ${stress.failed} / ${stress.lost}`,
        [`hotpatch stress ${stress.flags}: final state matches the reference replay`]: stress.matches,
      },
      targets: [
        target("Pause under load, one function: p99", 10, one.pauses.p99 ?? Number.NaN, "µs", "<="),
        target("Pause under load, 100 functions: p99", 30, hundred.pauses.p99 ?? Number.NaN, "µs", "<="),
        target(`Pause that \`hotpatch stress ${stress.flags}\` reports, one function: p99`, 10, stress.pauses.p99 ?? Number.NaN, "µs", "<="),
      ],
      notes: [
        ...NOTES,
        "Worker: the supervisor posts the staged (already compiled, warmed) patch; the worker receives it, prepares it and later reports it in separate steps between requests, and switches at a safe point. The pause is what the worker reports (pauseMicros): from entering the safe point where it switches to returning to the request loop — everything the loop waits for; the report, transcript and postMessage come in a later step. Each sample applies a fresh package, then reverts it (not counted).",
        `The target rows are back-to-back applies (each right after the last sample's revert), with the control plane keeping ${AHEAD} packages staged ahead (after each sample's revert it signs and stages one more, ~130 µs). The "isolated switch" rows apply each package ${GAP_MS} ms after the last transition (the worker keeps serving): a switch after a quiet spell finds its code and data out of the caches, and that is what a rarely patched process sees.`,
      ],
    };
  },
};

/** `hotpatch stress` as a user runs it (kvstore, the rate and flips): the pause histogram it prints from. */
async function stressPauses(quick: boolean) {
  const options = quick ? { rate: 20_000, durationSeconds: 2, flips: 500 } : { rate: 20_000, durationSeconds: 5, flips: 1000 };
  const flags = `--rate ${options.rate} --duration ${options.durationSeconds} --flips ${options.flips}`;
  const { result, details } = await runStress({ guest: "kvstore", seed: 1, ...options });
  return {
    flags,
    pauses: workerDistribution(`hotpatch stress ${flags}: pause (applies and reverts)`, details.pauseHistogram),
    requests: result.requests,
    failed: result.failed,
    lost: result.lost,
    matches: result.finalStateMatches,
  };
}

const NOTES = [
  "In-thread, the guest cannot run while the loader enables a patch: the pause is the enable (link checks, instantiate, swap), with staging done ahead of time; 10 kvstore requests run between two enables.",
  "The `hotpatch stress` row is the command itself (engine/stress, seed 1): kvstore served at 20,000 requests/s in a worker while the control plane applies its one-function patch (each package staged ahead, after the previous revert) and reverts it, 1,000 times in 5 s. Its pause is the same pauseMicros as the worker rows, recorded by the worker for every completed switch (applies and reverts) in whole µs; `hotpatch stress` prints the p50/p99/max of exactly this histogram.",
  `The 100-function rows use kvstore v1 with ${PLUS} generated functions appended (it serves the same requests); the patch changes all ${PLUS}.`,
];

async function workerPauses(context: BenchContext, image: Image, template: PackageTemplate, samples: number, isolatedSamples: number, rate: number, label: string) {
  const supervisor = await startWorker(image, rate);
  const pauses = new Recorder(label);
  const isolated = new Recorder(`${label}: isolated switch (${GAP_MS} ms after the last transition)`);
  let incomplete = 0;
  let stopped: Awaited<ReturnType<typeof supervisor.stop>> | undefined;
  // The control plane keeps AHEAD packages staged: one is signed and staged after each sample (its revert), so the
  // worker never sees the quiet spell a whole batch staged mid-series would leave (the isolated rows measure those).
  const series = async (count: number, into: Recorder, gapMs: number) => {
    const next = () => stagePatch(freshPackages(template, context.keys.privateKey, 1)[0].bytes, context.keys.trust);
    const queue = Array.from({ length: Math.min(AHEAD, count) }, next);
    let staged = queue.length;
    for (let done = 0; done < count; done++) {
      const s = queue.shift()!;
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      const report = await supervisor.apply(s);
      if (report.state !== "complete") incomplete++;
      else {
        into.addNanos(report.pauseMicros * 1000);
        await supervisor.revert(s.id);
      }
      if (staged < count) {
        queue.push(next());
        staged++;
      }
    }
  };
  try {
    await series(samples, pauses, 0);
    await series(isolatedSamples, isolated, GAP_MS);
  } finally {
    stopped = await supervisor.stop();
  }
  return { pauses: pauses.summary(), isolated: isolated.summary(), latency: workerDistribution(`${label}: request latency meanwhile`, stopped.latency), incomplete };
}

async function inThreadPauses(context: BenchContext, process: GuestProcess, template: PackageTemplate, samples: number, load: () => void, label: string): Promise<Distribution> {
  const loader = new PatchLoader(process);
  const pauses = new Recorder(label);
  for (let done = 0; done < samples; done += 100) {
    const staged: StagedPatch[] = freshPackages(template, context.keys.privateKey, Math.min(100, samples - done)).map((p) => stagePatch(p.bytes, context.keys.trust));
    for (const s of staged) {
      load();
      const t0 = performance.now();
      loader.enable(s);
      pauses.addMillis(performance.now() - t0);
      load();
      loader.revert(s.id);
    }
  }
  return pauses.summary();
}
