/**
 * Suite 9 — one hotpatch into a fleet of running processes.
 *
 * N kvstore v1 processes run in this thread, every one instantiated from one
 * compiled module. A round applies a package never seen before to all of
 * them: the package is verified and compiled once (`stagePatch`), and the
 * one compiled code page is instantiated against each process by its own
 * loader (`enable`). Each process must then refuse the heartbeat exploit,
 * or the round fails. The round's wall time runs from the start of the stage
 * to the last enable; every process's enable is a sample.
 *
 * Side by side in the same run, the baseline: one process's stage (fresh
 * packages) and one process's enable (stage done ahead), as the apply-latency
 * suite measures them. The target: the N-process apply costs at most
 * 5 × one stage + N × one enable (medians).
 *
 * Memory per process: growth of the OS process's resident set, JS heap and
 * external memory while the N processes start (each holds its instance, its
 * wasm memory and its loader), divided by N, after a full collection.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { HEARTBLEED_REQUEST, randomRequests } from "../../engine/guests/index.ts";
import { PatchLoader, stagePatch } from "../../engine/loader/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { timedApplies } from "../lib/apply.ts";
import { collectGarbage } from "../lib/gc.ts";
import { freshPackage, type PackageTemplate } from "../lib/fresh.ts";
import { type Distribution, roundTo, summarize, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const FULL_PROCESSES = 1000;
const QUICK_PROCESSES = 100;
const FULL_ROUNDS = 11;
const QUICK_ROUNDS = 3;
/** Samples of the one-process baseline rows. */
const BASELINE_SAMPLES = 1000;

interface Fleet {
  processes: GuestProcess[];
  loaders: PatchLoader[];
  /** Bytes per process: growth of the resident set, of the JS heap and of external memory (wasm memories) while the fleet started, and one process's linear memory. */
  memory: { rss: number; heap: number; external: number; wasm: number };
}


/** Starts `count` processes from one compiled module, each with a few requests of state. */
async function startFleet(context: BenchContext, count: number): Promise<Fleet> {
  const image = await context.kvImage("v1");
  const module = new WebAssembly.Module(image.module as BufferSource);
  const warmup = randomRequests(5, 20);
  collectGarbage();
  const before = process.memoryUsage();
  const processes: GuestProcess[] = [];
  for (let i = 0; i < count; i++) {
    const guest = GuestProcess.start({ module, linkMap: image.linkMap });
    for (const r of warmup) guest.request(r);
    processes.push(guest);
  }
  const loaders = processes.map((p) => new PatchLoader(p));
  collectGarbage();
  const after = process.memoryUsage();
  const grown = (key: "rss" | "heapUsed" | "external") => (after[key] - before[key]) / count;
  const wasmBytes = processes[0].memory?.buffer.byteLength ?? 0;
  return { processes, loaders, memory: { rss: grown("rss"), heap: grown("heapUsed"), external: grown("external"), wasm: wasmBytes } };
}

/** Garbage collections' time (ms) inside windows the caller opens: V8 reports each collection with its start and duration. */
function gcClock() {
  const collections: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    /** Collection time that overlaps [from, to]; entries arrive asynchronously, so ask once the observer had time to hear of them. */
    within: (from: number, to: number) => collections.reduce((sum, c) => sum + Math.max(0, Math.min(c.end, to) - Math.max(c.start, from)), 0),
    stop: () => observer.disconnect(),
  };
}

/** One round: stage once, enable on every process, check each one is fixed; then revert all (not timed). Returns its start and wall time (ms). */
function fleetRound(context: BenchContext, fleet: Fleet, template: PackageTemplate, enables: number[]): { start: number; wall: number } {
  const { id, bytes } = freshPackage(template, context.keys.privateKey);
  const start = performance.now();
  const staged = stagePatch(bytes, context.keys.trust);
  for (const loader of fleet.loaders) {
    const t = performance.now();
    loader.enable(staged);
    enables.push((performance.now() - t) * 1e6);
  }
  const wall = performance.now() - start;
  for (const [i, guest] of fleet.processes.entries()) {
    const answer = guest.request(HEARTBLEED_REQUEST);
    if (answer.length !== 1) throw new Error(`process ${i} still leaks after ${id} (${answer.length} bytes)`);
  }
  for (const loader of fleet.loaders) loader.revert(id);
  return { start, wall };
}

/**
 * The one-process baseline, on a process of its own before the fleet starts, as the
 * apply-latency suite measures it: stage of fresh packages, and enable with stage done ahead.
 */
async function baseline(context: BenchContext, template: PackageTemplate): Promise<{ stage: Distribution; enable: Distribution }> {
  const image = await context.kvImage("v1");
  const staging = await timedApplies(context, GuestProcess.start(image), template, { mode: "sync", samples: BASELINE_SAMPLES, label: "one process" });
  const ahead = await timedApplies(context, GuestProcess.start(image), template, { mode: "sync", samples: BASELINE_SAMPLES, stageAhead: true, label: "one process, stage done ahead" });
  return { stage: staging.stage, enable: ahead.enable };
}

export const fleetApply: Suite = {
  name: "fleet-apply",
  title: "One hotpatch into a fleet of running processes (staged once, enabled in each)",
  async run(context) {
    const count = context.quick ? QUICK_PROCESSES : FULL_PROCESSES;
    const rounds = context.quick ? QUICK_ROUNDS : FULL_ROUNDS;
    const template = await context.kvPatch();
    const one = await baseline(context, template);
    const fleet = await startFleet(context, count);
    const enables: number[] = [];
    const walls: number[] = [];
    const gcs: number[] = [];
    const gc = gcClock();
    fleetRound(context, fleet, template, []); // warm-up round, not counted
    const windows: { start: number; wall: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const round = fleetRound(context, fleet, template, enables);
      windows.push(round);
      walls.push(round.wall * 1e6);
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // the observer hears of the collections
    for (const w of windows) gcs.push(gc.within(w.start, w.start + w.wall) * 1e6);
    gc.stop();
    const wall = summarize(`${count}-process apply: wall time (stage once + ${count} enables)`, walls, "ms");
    const gcInRounds = summarize(`${count}-process apply: garbage collection inside the round`, gcs, "ms");
    const perProcess = summarize(`${count}-process apply: enable of each process`, enables);
    const bound = 5 * one.stage.p50 + count * one.enable.p50; // µs
    const wallMicros = wall.p50 * 1000;
    return {
      distributions: [wall, gcInRounds, perProcess, one.stage, one.enable],
      figures: {
        processes: count,
        rounds,
        "memory per process: resident set growth, KiB": roundTo(fleet.memory.rss / 1024),
        "memory per process: JS heap growth, KiB": roundTo(fleet.memory.heap / 1024),
        "memory per process: external (wasm memories) growth, KiB": roundTo(fleet.memory.external / 1024),
        "memory per process: linear memory of one process, KiB": roundTo(fleet.memory.wasm / 1024),
        "fleet apply wall time, median, ms": wall.p50,
        "bound: 5 × one stage + N × one enable (medians), ms": roundTo(bound / 1000),
        "fleet apply ÷ bound": roundTo(wallMicros / bound),
        "garbage collection inside the rounds, share of their wall time (total ÷ total)": roundTo(gcs.reduce((a, b) => a + b, 0) / walls.reduce((a, b) => a + b, 0)),
        "live applies per second (N ÷ wall time)": roundTo((count / wallMicros) * 1e6),
      },
      targets: [target(`${count}-process apply within 5 × one stage + ${count} × one enable`, 1, wallMicros / bound, "× the bound", "<=")],
      notes: [
        `${count} kvstore v1 processes in this thread, instantiated from one compiled module, each served 20 requests first. Each of ${rounds} round(s) (after one warm-up round) stages a package never seen before once and enables it in every process; each process must then refuse the heartbeat exploit, or the suite fails. Reverts between rounds are not timed.`,
        "The baseline rows are measured first, each on a process of its own, exactly as the apply-latency suite does: stage of a fresh package (1,000 samples), and enable with stage done ahead in batches of 100 (1,000 samples).",
        "Processes in worker threads take the same compiled code page through postMessage (a WebAssembly.Module is shared, not copied): that path is measured by the pause and storm suites for one worker; a fleet of workers is not measured here.",
      ],
    };
  },
};
