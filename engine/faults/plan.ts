/**
 * Fault plans and the one function the engine calls at every fault point:
 * `hit(point, detail)`.
 *
 * A plan is seeded data: a list of rules, each naming a point (points.ts),
 * how it fails (`throw` a HotpatchError E_FAULT_INJECTED, `delay` the thread
 * for `delayMs`, `crash`: a worker thread exits at once; on the control
 * thread, where exiting would take the host down, it throws an error without
 * a stable code, i.e. an internal failure; `kill`: the whole OS process gets
 * SIGKILL at once, as a power cut or `kill -9` would, so nothing after the
 * point runs and nothing is cleaned up; on a worker thread `kill` ends that
 * thread only, as `crash` does) and when (the `nth` matching hit
 * and the `times - 1` after it, or each hit with a seeded `probability`;
 * `afterSlot` restricts the swap point to the hit after that many writes).
 *
 * Zero cost when unarmed: `hit` returns on its first comparison.
 *
 * Threads: `arm` publishes the plan with `setEnvironmentData`, so every
 * worker started while it is armed (a process restarted by the supervisor
 * too) adopts it when this module loads. Hit and fire counters live in a
 * SharedArrayBuffer, so "the nth hit" counts across every thread and every
 * life of a process, and the control plane reads what fired in workers.
 *
 * Ordering: arm before starting the processes the plan is for; `disarm` (or
 * `arm` again) afterwards. Only one plan is armed per OS process.
 */
import { performance } from "node:perf_hooks";
import { getEnvironmentData, isMainThread, setEnvironmentData } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import { type FaultPointName, isFaultPoint } from "./points.ts";

export const FAULT_MODES = ["throw", "delay", "crash", "kill"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultRule {
  point: FaultPointName;
  mode: FaultMode;
  /** The first matching hit that fires (1-based). Default 1. */
  nth?: number;
  /** How many consecutive hits fire from `nth` on; 0 for all of them. Default 1. */
  times?: number;
  /** Instead of nth/times: each matching hit fires with this probability (seeded). */
  probability?: number;
  /** Swap point only: matches only the hit after this many slot writes. */
  afterSlot?: number;
  /** For `delay`. Default 100. */
  delayMs?: number;
}

export interface FaultPlan {
  seed: number;
  rules: FaultRule[];
}

/** What one point passes: anything that narrows a rule or helps a report. */
export interface FaultDetail {
  patch?: string;
  written?: number;
  total?: number;
  [key: string]: unknown;
}

export interface RuleReport {
  rule: number;
  point: FaultPointName;
  mode: FaultMode;
  hits: number;
  fires: number;
  /** Wall-clock time of the first fire (ms since the epoch, comparable across threads), or null. */
  firstFiredAt: number | null;
}

interface Armed {
  plan: FaultPlan;
  /** Per rule: [hits, fires]. */
  counts: Int32Array;
  /** Per rule: epoch ms of the first fire (0 = never). */
  firstFired: Float64Array;
}

interface Shared {
  plan: FaultPlan;
  counts: SharedArrayBuffer;
  firstFired: SharedArrayBuffer;
}

const ENVIRONMENT_KEY = "wasm-hotpatch.faults";
let armed: Armed | undefined;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Called at each fault point. Returns at once when no plan is armed. */
export function hit(point: FaultPointName, detail?: FaultDetail): void {
  if (armed === undefined) return;
  fire(armed, point, detail);
}

function fire(state: Armed, point: FaultPointName, detail: FaultDetail | undefined): void {
  const { plan, counts, firstFired } = state;
  for (let i = 0; i < plan.rules.length; i++) {
    const rule = plan.rules[i];
    if (rule.point !== point) continue;
    if (rule.afterSlot !== undefined && detail?.written !== rule.afterSlot) continue;
    const hitNumber = Atomics.add(counts, 2 * i, 1) + 1;
    if (!fires(plan.seed, i, rule, hitNumber)) continue;
    Atomics.add(counts, 2 * i + 1, 1);
    if (firstFired[i] === 0) firstFired[i] = performance.timeOrigin + performance.now();
    const where = `${point}${detail?.patch ? ` (${detail.patch})` : ""}${rule.afterSlot !== undefined ? ` after ${detail?.written} of ${detail?.total} slots` : ""}`;
    if (rule.mode === "delay") {
      Atomics.wait(sleeper, 0, 0, rule.delayMs ?? 100);
      continue;
    }
    if (rule.mode === "kill" && isMainThread) process.kill(process.pid, "SIGKILL");
    if (rule.mode === "crash" || rule.mode === "kill") {
      if (!isMainThread) process.exit(70); // a worker thread: ends this thread only, like a segfault of the process
      throw new Error(`injected crash at ${where}`);
    }
    throw new HotpatchError("E_FAULT_INJECTED", `injected fault at ${where}, hit ${hitNumber} of rule ${i}`, {
      patch: detail?.patch,
      faultPoint: point,
    });
  }
}

function fires(seed: number, rule: number, spec: FaultRule, hitNumber: number): boolean {
  if (spec.probability !== undefined) return unitHash(seed, rule, hitNumber) < spec.probability;
  const nth = spec.nth ?? 1;
  const times = spec.times ?? 1;
  return hitNumber >= nth && (times === 0 || hitNumber < nth + times);
}

/** A well-mixed number in [0, 1) from the seed, the rule and the hit number. */
function unitHash(seed: number, rule: number, n: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(rule + 1, 0xc2b2ae35) ^ Math.imul(n, 0x27d4eb2f)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Validates a plan (E_USAGE naming the offending rule). */
export function checkPlan(plan: FaultPlan): FaultPlan {
  const bad = (i: number, why: string): never => {
    throw new HotpatchError("E_USAGE", `faults[${i}] ${why}`);
  };
  if (typeof plan !== "object" || plan === null) throw new HotpatchError("E_USAGE", "a fault plan is an object with a seed and a list of rules");
  if (!Number.isInteger(plan.seed)) throw new HotpatchError("E_USAGE", "a fault plan needs an integer seed");
  if (!Array.isArray(plan.rules)) throw new HotpatchError("E_USAGE", "a fault plan needs a list of rules");
  plan.rules.forEach((r, i) => {
    if (typeof r !== "object" || r === null) bad(i, "is not a rule (an object with a point and a mode)");
    if (!isFaultPoint(String(r.point))) bad(i, `names an unknown fault point "${r.point}"`);
    if (!FAULT_MODES.includes(r.mode)) bad(i, `has mode "${r.mode}" (expected throw, delay, crash or kill)`);
    if (r.nth !== undefined && !(Number.isInteger(r.nth) && r.nth >= 1)) bad(i, "nth must be an integer ≥ 1");
    if (r.times !== undefined && !(Number.isInteger(r.times) && r.times >= 0)) bad(i, "times must be an integer ≥ 0");
    if (r.probability !== undefined && !(r.probability >= 0 && r.probability <= 1)) bad(i, "probability must lie in [0, 1]");
    if (r.afterSlot !== undefined && (r.point !== "swap" || !Number.isInteger(r.afterSlot) || r.afterSlot < 1)) {
      bad(i, "afterSlot applies to the swap point only and must be an integer ≥ 1");
    }
    if (r.delayMs !== undefined && !(r.delayMs >= 0)) bad(i, "delayMs must be ≥ 0");
  });
  return plan;
}

/** Arms a plan in this thread and for every worker started from now on. */
export function arm(plan: FaultPlan): void {
  checkPlan(plan);
  const shared: Shared = {
    plan,
    counts: new SharedArrayBuffer(8 * Math.max(1, plan.rules.length)),
    firstFired: new SharedArrayBuffer(8 * Math.max(1, plan.rules.length)),
  };
  adopt(shared);
  setEnvironmentData(ENVIRONMENT_KEY, shared as never);
}

/** Disarms in this thread; workers started from now on get no plan. */
export function disarm(): void {
  armed = undefined;
  setEnvironmentData(ENVIRONMENT_KEY, undefined as never);
}

export function isArmed(): boolean {
  return armed !== undefined;
}

/** Hits and fires of every rule of the armed plan (empty when none is armed). */
export function report(): RuleReport[] {
  if (!armed) return [];
  const { plan, counts, firstFired } = armed;
  return plan.rules.map((r, i) => ({
    rule: i,
    point: r.point,
    mode: r.mode,
    hits: Atomics.load(counts, 2 * i),
    fires: Atomics.load(counts, 2 * i + 1),
    firstFiredAt: firstFired[i] === 0 ? null : firstFired[i],
  }));
}

function adopt(shared: Shared): void {
  armed = { plan: shared.plan, counts: new Int32Array(shared.counts), firstFired: new Float64Array(shared.firstFired) };
}

// A worker thread adopts the plan that was armed when it started.
if (!isMainThread) {
  const shared = getEnvironmentData(ENVIRONMENT_KEY) as Shared | undefined;
  if (shared?.plan) adopt(shared);
}
