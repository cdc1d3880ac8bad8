/**
 * Suite 5 — request latency under a patch storm.
 *
 * The target is judged on the worker process: the guest serves an open-loop
 * load while the control plane applies and reverts fresh packages; latency
 * is what the worker records (from a request's due time to its response).
 * Reported beside it, in-thread: kvstore serves its request mix; in storm
 * blocks, every gap between two requests either applies a package never
 * seen before (stage with signature + enable, the kvstore security
 * fix v1 → v2) or reverts the last one. Blocks of quiet and storm alternate
 * so both see the same machine noise; only request latency is recorded.
 */
import { randomRequests } from "../../engine/guests/index.ts";
import { PatchLoader, type StagedPatch, stagePatch } from "../../engine/loader/index.ts";
import type { Histogram } from "hdr-histogram-js";
import type { Image } from "../../engine/image/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { freshPackages, type PackageTemplate } from "../lib/fresh.ts";
import { type Distribution, Recorder, roundTo, target } from "../lib/stats.ts";
import type { Figure, Suite } from "../lib/suite.ts";
import { addPhase, histogramDistribution, startWorker } from "../lib/worker.ts";

const BLOCK = 500;
const WORKER_RATE = 5000;
/** Transitions per second (applies and reverts) of the storm the target is judged on; see the notes for why. */
export const STORM_RATE = 100;
/** Length of one phase of the worker run, and rounds of (quiet, storm at STORM_RATE, flat-out storm). */
const PHASE_MS = 500;
/** Idle time between two phases, counted in neither. */
const SETTLE_MS = 100;
const QUICK_ROUNDS = 3;
const FULL_ROUNDS = 12;

type Phase = "quiet" | "rated" | "flatOut";

/**
 * The worker part: one worker, phases of each kind taken in turn (so each
 * sees the same machine noise), each kind's latency summed over its phases.
 */
async function workerStorm(
  image: Image,
  rounds: number,
  fresh: (count: number) => { id: string; bytes: Uint8Array }[],
  stage: (bytes: Uint8Array) => StagedPatch,
) {
  const supervisor = await startWorker(image, WORKER_RATE);
  const sums: Partial<Record<Phase, Histogram>> = {};
  const transitions: Record<Phase, number> = { quiet: 0, rated: 0, flatOut: 0 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const runPhase = async (phase: Phase) => {
    const start = performance.now();
    const end = start + PHASE_MS;
    if (phase === "quiet") {
      await sleep(PHASE_MS);
      return 0;
    }
    let count = 0;
    const paced = async () => {
      if (phase !== "rated") return true;
      const wait = start + (count * 1000) / STORM_RATE - performance.now();
      if (wait > 0) await sleep(wait);
      return performance.now() < end;
    };
    while (performance.now() < end) {
      for (const p of fresh(10)) {
        if (!(await paced())) break;
        const staged = stage(p.bytes);
        await supervisor.apply(staged);
        count++;
        if (!(await paced())) {
          await supervisor.revert(staged.id); // leave the process unpatched between phases (counted in no phase's rate)
          break;
        }
        await supervisor.revert(staged.id);
        count++;
      }
    }
    return count;
  };
  try {
    const order: Phase[] = ["quiet", "rated", "flatOut"];
    for (const phase of order) await runPhase(phase); // warm-up, not counted
    for (let round = 0; round < rounds; round++) {
      // The order turns every round, so each kind follows each other kind equally often.
      for (const phase of [...order.slice(round % 3), ...order.slice(0, round % 3)]) {
        await sleep(SETTLE_MS); // what a phase leaves behind (a backlog, garbage) is not the next phase's
        const before = (await supervisor.snapshot()).latency;
        transitions[phase] += await runPhase(phase);
        const after = (await supervisor.snapshot()).latency;
        sums[phase] = addPhase(sums[phase], before, after);
      }
    }
  } finally {
    await supervisor.stop();
  }
  const seconds = (rounds * PHASE_MS) / 1000;
  return {
    quiet: histogramDistribution("worker request latency, quiet", sums.quiet!),
    rated: histogramDistribution(`worker request latency, storm at ${STORM_RATE} transitions/s`, sums.rated!),
    flatOut: histogramDistribution("worker request latency, flat-out storm (back to back)", sums.flatOut!),
    ratedPerSecond: roundTo(transitions.rated / seconds),
    flatOutPerSecond: roundTo(transitions.flatOut / seconds),
  };
}

/**
 * The in-thread storm: blocks of BLOCK requests alternate between quiet and
 * storm; in a storm block every gap between requests applies a fresh package
 * or reverts the last one (timed apart from the request after it).
 */
async function inThreadStorm(context: BenchContext, template: PackageTemplate): Promise<{ quiet: Distribution; stormy: Distribution; applies: Distribution }> {
  const perSide = context.quick ? 2000 : 10_000;
  const process = GuestProcess.start(await context.kvImage("v1"));
  const loader = new PatchLoader(process);
  const requests = randomRequests(77, 4000);
  for (const r of requests) process.request(r); // warm up
  const quiet = new Recorder("in-thread request latency, quiet");
  const stormy = new Recorder("in-thread request latency, apply/revert between requests");
  const applies = new Recorder("in-thread apply during the storm (stage + enable)");
  let next = 0;
  let applied: string | undefined;
  for (let block = 0; block < (2 * perSide) / BLOCK; block++) {
    const storming = block % 2 === 1;
    const packages = storming ? freshPackages(template, context.keys.privateKey, BLOCK / 2 + 1) : [];
    for (let i = 0; i < BLOCK; i++) {
      if (storming) {
        if (applied) {
          loader.revert(applied);
          applied = undefined;
        } else {
          const p = packages.pop()!;
          const t = performance.now();
          loader.apply(p.bytes, context.keys.trust);
          applies.addMillis(performance.now() - t);
          applied = p.id;
        }
      }
      const request = requests[next++ % requests.length];
      const t0 = performance.now();
      process.request(request);
      (storming ? stormy : quiet).addMillis(performance.now() - t0);
    }
    if (applied) {
      loader.revert(applied);
      applied = undefined;
    }
  }
  return { quiet: quiet.summary(), stormy: stormy.summary(), applies: applies.summary() };
}

export const storm: Suite = {
  name: "storm",
  title: "Request latency with and without a patch storm",
  async run(context) {
    const template = await context.kvPatch();
    // The worker part runs first: the in-thread part leaves this (the control plane's) heap
    // full of garbage, and its collections (parallel scavenges of 7–17 ms on V8's helper
    // threads) would compete with the worker for the 2 cores in every phase, quiet included.
    const keys = context.keys;
    const fresh = (count: number) => freshPackages(template, keys.privateKey, count);
    const phases = await workerStorm(await context.kvImage("v1"), context.quick ? QUICK_ROUNDS : FULL_ROUNDS, fresh, (bytes) => stagePatch(bytes, keys.trust));
    const { quiet: q, stormy: s, applies } = await inThreadStorm(context, template);
    const inThreadRatio = s.p99 !== null && q.p99 !== null ? roundTo(s.p99 / q.p99) : null;
    const { quiet: wq, rated: wr, flatOut: wf } = phases;
    const ratio = (d: typeof wq) => (d.p99 !== null && wq.p99 !== null ? roundTo(d.p99 / wq.p99) : null);
    const figures: Record<string, Figure> = {
      "in-thread p99 ratio storm / quiet": inThreadRatio,
      "in-thread p50 ratio storm / quiet": roundTo(s.p50 / q.p50),
      "worker load (requests/s, open loop)": WORKER_RATE,
      "storm rate of the target (transitions/s)": STORM_RATE,
      "worker storm at the target rate: transitions/s achieved": phases.ratedPerSecond,
      "worker flat-out storm: transitions/s achieved": phases.flatOutPerSecond,
      "worker p99 ratio, storm at the target rate / quiet": ratio(wr),
      "worker p99 ratio, flat-out storm / quiet": ratio(wf),
      "worker p50 ratio, flat-out storm / quiet": roundTo(wf.p50 / wq.p50),
    };
    const name = "Request p99 during a patch storm within 1.5× of p99 without one";
    return {
      distributions: [q, s, applies, wq, wr, wf],
      figures,
      targets: [target(name, 1.5, ratio(wr) ?? Number.NaN, "×", "<=")],
      notes: [
        `Blocks of ${BLOCK} requests alternate between quiet and storm; in a storm block every gap between requests applies a fresh package or reverts it. In-thread the apply delays the next request but is not part of its latency; the apply times are reported beside.`,
        `Worker: one worker serves ${WORKER_RATE} requests/s open loop while the control plane runs, in turn (the order rotating every round), ${PHASE_MS} ms phases of: quiet (nothing), a storm at ${STORM_RATE} transitions/s (an apply of a fresh package, staged just before, or the revert of the last one, started every ${1000 / STORM_RATE} ms on the control plane's clock, never on the request schedule), and a flat-out storm (the next transition starts as soon as the last one is acknowledged). Each kind's latency (from a request's due time to its response, recorded by the worker) is the sum of its phases, read from worker snapshots at the phase boundaries; ${SETTLE_MS} ms between phases and a warm-up phase of each kind come first and are not counted.`,
        `The target is judged at ${STORM_RATE} transitions/s: a rate at which the storm measures what patching costs the serving thread, not how much CPU a control plane spinning flat out takes from it on a 2-core machine. It is still far beyond any real patch cadence (Windows Hotpatch: a few packages a quarter; ${STORM_RATE}/s is a transition every ${WORKER_RATE / STORM_RATE} requests). The flat-out storm is reported beside it, with its ratio.`,
      ],
    };
  },
};
