/**
 * Suite 5 — request latency under a patch storm.
 *
 * In-thread (until the worker process lands): kvstore serves its request
 * mix; in storm blocks, every gap between two requests either applies a
 * package never seen before (stage with signature + enable, the security
 * fix of handleEcho) or reverts the last one. Blocks of quiet and storm
 * alternate so both see the same machine noise; only request latency is
 * recorded. The target is judged on the worker process (when the engine has it):
 * the guest serves an open-loop load while the control plane applies and
 * reverts fresh packages back to back; latency is what the worker records
 * (from a request's due time to its response), quiet run then storm run.
 */
import { randomRequests } from "../../engine/guests/kvstore.ts";
import { PatchLoader } from "../../engine/loader/loader.ts";
import { stagePatch } from "../../engine/loader/stage.ts";
import { GuestProcess } from "../../engine/process/process.ts";
import { freshPackages } from "../lib/fresh.ts";
import { Recorder, roundTo, skippedTarget, type Target, target } from "../lib/stats.ts";
import type { Figure, Suite } from "../lib/suite.ts";
import { startWorker, workerDistribution, workerProcess } from "../lib/worker.ts";

const BLOCK = 500;
const WORKER_RATE = 5000;

export const storm: Suite = {
  name: "storm",
  title: "Request latency with and without a patch storm",
  async run(context) {
    const perSide = context.quick ? 2000 : 10_000;
    const process = GuestProcess.start(await context.kvImage("v1"));
    const loader = new PatchLoader(process);
    const template = await context.kvPatch();
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
    const q = quiet.summary();
    const s = stormy.summary();
    const worker = workerProcess();
    const inThreadRatio = s.p99 !== null && q.p99 !== null ? roundTo(s.p99 / q.p99) : null;
    const distributions = [q, s, applies.summary()];
    const figures: Record<string, Figure> = {
      "in-thread p99 ratio storm / quiet": inThreadRatio,
      "in-thread p50 ratio storm / quiet": roundTo(s.p50 / q.p50),
      "worker process available": worker.available,
    };
    const name = "Request p99 during a patch storm within 1.5× of p99 without one";
    let targets: Target[];
    if (!worker.available) {
      targets = [skippedTarget(name, 1.5, "×", "<=", `${worker.reason}; in-thread (applies between requests, not timed into them) the ratio is ${inThreadRatio}`)];
    } else {
      const image = await context.kvImage("v1");
      const ms = context.quick ? 1500 : 6000;
      const quietRun = await startWorker(image, WORKER_RATE);
      await new Promise((resolve) => setTimeout(resolve, ms));
      const wq = workerDistribution("worker request latency, quiet", (await quietRun.stop()).latency);
      const stormRun = await startWorker(image, WORKER_RATE);
      const until = performance.now() + ms;
      let transitions = 0;
      while (performance.now() < until) {
        for (const p of freshPackages(template, context.keys.privateKey, 20)) {
          const staged = stagePatch(p.bytes, context.keys.trust);
          await stormRun.apply(staged);
          await stormRun.revert(staged.id);
          transitions += 2;
        }
      }
      const ws = workerDistribution("worker request latency, continuous apply/revert", (await stormRun.stop()).latency);
      distributions.push(wq, ws);
      figures["worker load (requests/s, open loop)"] = WORKER_RATE;
      figures["worker storm transitions (apply + revert)"] = transitions;
      targets = [target(name, 1.5, ws.p99 !== null && wq.p99 !== null ? ws.p99 / wq.p99 : Number.NaN, "×", "<=")];
    }
    return {
      distributions,
      figures,
      targets,
      notes: [
        `Blocks of ${BLOCK} requests alternate between quiet and storm; in a storm block every gap between requests applies a fresh package or reverts it. In-thread the apply delays the next request but is not part of its latency; the apply times are reported beside.`,
      ],
    };
  },
};
