/**
 * Fault-injection experiments: a scenario file (JSON) runs a live process
 * (a worker with a watchdog, serving seeded load), arms a fault plan, applies
 * and reverts patches — good ones and faulty ones (faulty-patches.ts) — and
 * reports what was injected, what the engine detected and how fast, the
 * recovery it took, and whether the invariants held.
 *
 * Health checks after every apply that goes live, until `health.window`
 * requests have passed: a failed request or a restart (a trap: "crash"; past
 * the deadline: "watchdog"), the p99 latency of the requests since the apply
 * over `latencyLimitMicros` ("latency"), the static-data digest changed
 * ("static-digest"), memory over `memoryLimitBytes` ("memory-limit").
 * Recovery: revert the patch live (retried while the process restarts), and
 * restart the process as well when the damage is in memory (static data or
 * memory size), which a revert cannot undo.
 *
 * Invariants: `fault-fired` (every rule fired, every faulty patch was
 * tried), `no-partial-patch` (the slot audit is clean at every check and the
 * control plane's patch list matches the process's), `records-kept` (no
 * request lost, installed patches as recorded), `detected-within-bound`,
 * `known-good-after-recovery` (the final state equals a reference replay of
 * the same requests, restarts and good patches without the faulty ones),
 * `host-survives` (no uncaught exception or unhandled rejection in the
 * host), `documented-behaviour` (each action's outcome, code, detection and
 * recovery as the scenario expects).
 */
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as hdr from "hdr-histogram-js";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError, isHotpatchError } from "../errors.ts";
import { buildImageFromPath } from "../image/index.ts";
import type { LoadSpec } from "../load/index.ts";
import { replay } from "../stress/index.ts";
import { type StagedPatch, stagePatch } from "../loader/index.ts";
import { TrustStore } from "../patch/index.ts";
import { DEFAULT_TRANSITION, Supervisor, type TransitionSpec, type WorkerMessage, type WorkerReport } from "../worker/index.ts";
import { type Detection, FAULTY_KINDS, type FaultyKind, type FaultyKindName, faultyPatch, isFaultyKind, type Recovery } from "./faulty-patches.ts";
import * as faults from "../faults/index.ts";

export const EXPERIMENTS_DIR = fileURLToPath(new URL("../../experiments/", import.meta.url));

export interface ScenarioAction {
  /** Wait until this many requests were generated before acting. */
  at?: number;
  apply?: string;
  revert?: string;
  /** apply: an AssemblyScript target (path relative to the scenario), or a faulty kind. */
  source?: string;
  faulty?: FaultyKindName;
  /** apply: wait for the held request (scenario `hold`) before applying, release it after the result. */
  whileHeld?: boolean;
  transition?: TransitionSpec;
  expect?: {
    outcome?: "applied" | "refused" | "crashed" | "reverted";
    code?: string;
    detection?: Detection | "none";
    recovery?: Recovery | "restart";
  };
}

export interface Scenario {
  name: string;
  question: string;
  answer?: string;
  seed: number;
  /** The running image (path relative to the scenario). Default: kvstore v1. */
  image?: string;
  load: { rate: number; requests: number; scanEvery?: number; scanSteps?: number; script?: Record<string, string> };
  /** A request index held at its first safe point until an action releases it. */
  hold?: number;
  watchdogMs?: number;
  faults?: faults.FaultRule[];
  actions: ScenarioAction[];
  health?: { window?: number; maxRequestsToDetect?: number; latencyLimitMicros?: number; memoryLimitBytes?: number };
}

export interface DetectionReport {
  by: Detection;
  /** Requests generated from the apply (or the fault) to the detection. */
  requests: number;
  ms: number;
  detail: string;
}

export interface ActionReport {
  /** Index of the scenario action. */
  index: number;
  action: "apply" | "revert";
  patch: string;
  kind: string;
  outcome: "applied" | "refused" | "crashed" | "reverted" | "failed";
  code?: string;
  message?: string;
  detection?: DetectionReport;
  recovery?: { action: Recovery | "restart" | "refusal"; ms: number; ok: boolean; detail: string };
}

export interface InvariantReport {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ExperimentReport {
  scenario: string;
  name: string;
  question: string;
  answer?: string;
  seed: number;
  ok: boolean;
  injected: { faults: faults.RuleReport[]; patches: { id: string; kind: string }[] };
  actions: ActionReport[];
  requests: { generated: number; served: number; failed: number; lost: number };
  restarts: number;
  statePreserved: boolean;
  invariants: InvariantReport[];
  transcript: string[];
  durationMs: number;
}

const DEFAULT_HEALTH = { window: 300, maxRequestsToDetect: 300, latencyLimitMicros: 50_000, memoryLimitBytes: 16 * 1024 * 1024 };
const GOOD_BASE = fileURLToPath(new URL("../../assembly/kvstore/v1.ts", import.meta.url));
const GOOD_FIX = fileURLToPath(new URL("../../assembly/kvstore/v2.ts", import.meta.url));

/** The ready scenarios of the repository, sorted. */
export function listExperiments(dir = EXPERIMENTS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(dir, f));
}

export function readScenario(path: string): Scenario {
  let value: Scenario;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new HotpatchError("E_USAGE", `cannot read the scenario: ${(error as Error).message}`, { path });
  }
  const bad = (why: string): never => {
    throw new HotpatchError("E_USAGE", `scenario ${why}`, { path });
  };
  if (typeof value !== "object" || value === null) bad("must be a JSON object");
  if (typeof value.name !== "string" || typeof value.question !== "string") bad('needs "name" and "question"');
  if (!Number.isInteger(value.seed)) bad('needs an integer "seed"');
  if (!(value.load?.rate > 0) || !(Number.isInteger(value.load?.requests) && value.load.requests > 0)) bad('needs "load": { "rate" > 0, "requests" > 0 }');
  if (!Array.isArray(value.actions) || value.actions.length === 0) bad('needs a non-empty "actions" list');
  value.actions.forEach((a, i) => {
    if ((a.apply === undefined) === (a.revert === undefined)) bad(`actions[${i}] must have exactly one of "apply", "revert"`);
    if (a.apply !== undefined && (a.source === undefined) === (a.faulty === undefined)) bad(`actions[${i}] (apply) needs exactly one of "source", "faulty"`);
    if (a.faulty !== undefined && !isFaultyKind(a.faulty)) bad(`actions[${i}] names an unknown faulty kind "${a.faulty}" (known: ${Object.keys(FAULTY_KINDS).join(", ")})`);
  });
  faults.checkPlan({ seed: value.seed, rules: value.faults ?? [] });
  return value;
}

export async function runExperiment(path: string, say: (line: string) => void = () => {}): Promise<ExperimentReport> {
  const scenario = readScenario(path);
  const dir = dirname(resolve(path));
  const health = { ...DEFAULT_HEALTH, ...scenario.health };
  const started = performance.now();
  const image = await buildImageFromPath(scenario.image ? resolve(dir, scenario.image) : GOOD_BASE);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const trust = new TrustStore([publicKey]);

  // Packages, built before anything runs.
  say(`${scenario.name}: building patches`);
  const packages = new Map<string, { bytes: Uint8Array; kind: string }>();
  let good: Uint8Array | undefined;
  for (const [i, a] of scenario.actions.entries()) {
    if (a.apply === undefined || packages.has(a.apply)) continue;
    if (a.source !== undefined) {
      const built = await buildPatch({ base: image, target: resolve(dir, a.source), id: a.apply, key: privateKey });
      if (built.kind !== "hotpatch") throw new HotpatchError("E_USAGE", `actions[${i}]: ${a.source} is not a hotpatch of the image (${built.kind})`, { path });
      packages.set(a.apply, { bytes: built.package, kind: "good" });
    } else {
      const kind = a.faulty!;
      if (!(FAULTY_KINDS[kind] as FaultyKind).source && good === undefined) {
        const built = await buildPatch({ base: image, target: GOOD_FIX, id: "KB5036001", key: privateKey });
        good = built.kind === "hotpatch" ? built.package : undefined;
      }
      const bytes = await faultyPatch({ kind, base: image, good: good ?? new Uint8Array(), key: privateKey, id: a.apply, seed: scenario.seed + i });
      packages.set(a.apply, { bytes, kind });
    }
  }

  const hostErrors: string[] = [];
  const onHostError = (error: unknown) => hostErrors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on("uncaughtException", onHostError);
  process.on("unhandledRejection", onHostError);
  faults.arm({ seed: scenario.seed, rules: scenario.faults ?? [] });
  const load: LoadSpec = {
    seed: scenario.seed,
    rate: scenario.load.rate,
    count: scenario.load.requests,
    scanEvery: scenario.load.scanEvery,
    scanSteps: scenario.load.scanSteps,
    script: Object.fromEntries(Object.entries(scenario.load.script ?? {}).map(([k, hex]) => [Number(k), [...Buffer.from(hex, "hex")]])),
  };
  const supervisor = await Supervisor.start({
    module: new WebAssembly.Module(image.module as BufferSource),
    linkMap: image.linkMap,
    load,
    deadlineMs: scenario.watchdogMs ?? 250,
    holdAt: scenario.hold,
  });
  // Listen for the held request from the start: it may come before the action that waits for it.
  const held = scenario.hold !== undefined ? supervisor.next((m: WorkerMessage) => m.type === "held") : undefined;
  const run = new Run(supervisor, health, say, held);
  let stopped = false;
  try {
    await run.baseline();
    const staged = new Map<string, StagedPatch>();
    for (const [index, action] of scenario.actions.entries()) {
      if (action.at !== undefined) await until(() => supervisor.counters().generated >= action.at!);
      if (action.apply !== undefined) {
        const pkg = packages.get(action.apply)!;
        run.actions.push(await run.apply(index, action, pkg.bytes, pkg.kind, trust, staged));
      } else {
        run.actions.push(await run.revert(index, action));
      }
    }
    await until(() => supervisor.counters().generated >= scenario.load.requests);
    await run.check("end of run");
    const final = await supervisor.stop();
    stopped = true;
    const faultReport = faults.report();
    faults.disarm();

    const faulty = new Set([...packages].filter(([, p]) => p.kind !== "good").map(([id]) => id));
    const goodEvents = supervisor.events.filter((e) => e.op === "restart" || !faulty.has(e.patch));
    const reference = replay(image, load, final.metrics.generated, goodEvents, staged);
    const knownGood = JSON.stringify(reference.state) === JSON.stringify(final.state);
    const { generated, served, failed } = final.metrics;
    const lost = generated - served - failed;
    const restarts = final.metrics.restarts;
    const invariants = run.invariants({
      scenario,
      faultReport,
      packages,
      knownGood,
      exact: reference.exact,
      lost,
      installedMatches: JSON.stringify(final.installed) === JSON.stringify(supervisor.installed()),
      hostErrors,
      maxRequests: health.maxRequestsToDetect,
    });
    const report: ExperimentReport = {
      scenario: resolve(path),
      name: scenario.name,
      question: scenario.question,
      answer: scenario.answer,
      seed: scenario.seed,
      ok: invariants.every((i) => i.ok),
      injected: { faults: faultReport, patches: [...packages].filter(([, p]) => p.kind !== "good").map(([id, p]) => ({ id, kind: p.kind })) },
      actions: run.actions,
      requests: { generated, served, failed, lost },
      restarts,
      statePreserved: restarts === 0 && knownGood,
      invariants,
      transcript: supervisor.transcript,
      durationMs: Math.round(performance.now() - started),
    };
    return report;
  } finally {
    faults.disarm();
    if (!stopped) await supervisor.stop().catch(() => undefined);
    process.off("uncaughtException", onHostError);
    process.off("unhandledRejection", onHostError);
  }
}

interface Health {
  window: number;
  maxRequestsToDetect: number;
  latencyLimitMicros: number;
  memoryLimitBytes: number;
}

/** One experiment in progress: the process, its health checks and what happened. */
class Run {
  readonly actions: ActionReport[] = [];
  private readonly audits: string[] = [];
  private staticDigest = "";

  constructor(
    private readonly supervisor: Supervisor,
    private readonly health: Health,
    private readonly say: (line: string) => void,
    private readonly held?: Promise<WorkerMessage>,
  ) {}

  async baseline(): Promise<void> {
    const snap = await this.supervisor.snapshot();
    this.staticDigest = snap.health!.staticDigest;
  }

  /** A slot audit and a comparison of the control plane's patch list with the process's. */
  async check(when: string): Promise<WorkerReport | undefined> {
    const snap = await this.snapshot();
    if (!snap) return undefined;
    const h = snap.health!;
    if (h.slotMismatches.length > 0) this.audits.push(`${when}: slots ${h.slotMismatches.join(", ")} do not hold the recorded entries`);
    if (JSON.stringify(h.installed) !== JSON.stringify(this.supervisor.installed())) {
      this.audits.push(`${when}: the process runs [${h.installed.join(", ")}] but the control plane recorded [${this.supervisor.installed().join(", ")}]`);
    }
    return snap;
  }

  async apply(index: number, action: ScenarioAction, bytes: Uint8Array, kind: string, trust: TrustStore, staged: Map<string, StagedPatch>): Promise<ActionReport> {
    const patch = action.apply!;
    const report: ActionReport = { index, action: "apply", patch, kind, outcome: "applied" };
    if (action.whileHeld) {
      if (!this.held) throw new HotpatchError("E_USAGE", `actions[${index}] waits for a held request, but the scenario holds none ("hold")`);
      await this.held;
    }
    const before = this.supervisor.counters();
    const t0 = performance.now();
    this.say(`apply ${patch} (${kind}) at request ${before.generated}`);
    try {
      const s = stagePatch(bytes, trust);
      staged.set(s.id, s);
      await this.supervisor.apply(s, action.transition ?? DEFAULT_TRANSITION);
    } catch (error) {
      if (!isHotpatchError(error)) {
        report.outcome = "failed";
        report.message = `an exception without a stable code: ${error instanceof Error ? error.message : String(error)}`;
        return report;
      }
      const ms = performance.now() - t0;
      const requests = this.supervisor.counters().generated - before.generated;
      report.code = error.code;
      report.message = error.message;
      if (error.code === "E_CRASHED") {
        // The process died before acknowledging: the supervisor restarted it with the patches it had recorded.
        report.outcome = "crashed";
        report.detection = { by: "crash", requests, ms: round(ms), detail: error.message };
        const r0 = performance.now();
        const ok = (await this.check("after the restart")) !== undefined;
        report.recovery = { action: "restart", ms: round(performance.now() - r0), ok, detail: `restarted with [${this.supervisor.installed().join(", ")}]` };
      } else {
        report.outcome = "refused";
        report.detection = { by: "refusal", requests, ms: round(ms), detail: error.message };
        report.recovery = { action: "refusal", ms: 0, ok: true, detail: "nothing changed: the process kept its code" };
      }
      if (action.whileHeld) this.supervisor.release();
      await this.check(`after ${patch} was ${report.outcome}`);
      return report;
    }
    if (action.whileHeld) this.supervisor.release();
    await this.check(`after applying ${patch}`);
    const detection = await this.watch(patch);
    if (detection) {
      report.detection = detection;
      report.recovery = await this.recover(patch, detection.by);
      await this.check(`after recovering from ${patch}`);
    }
    return report;
  }

  async revert(index: number, action: ScenarioAction): Promise<ActionReport> {
    const patch = action.revert!;
    const report: ActionReport = { index, action: "revert", patch, kind: "revert", outcome: "reverted" };
    try {
      await this.supervisor.revert(patch, action.transition ?? DEFAULT_TRANSITION);
    } catch (error) {
      report.outcome = isHotpatchError(error) ? "refused" : "failed";
      report.code = isHotpatchError(error) ? error.code : undefined;
      report.message = (error as Error).message;
    }
    await this.check(`after reverting ${patch}`);
    return report;
  }

  /** Health checks after an apply: until a detection, or `window` healthy requests. */
  private async watch(patch: string): Promise<DetectionReport | undefined> {
    const start = this.supervisor.counters();
    const t0 = performance.now();
    const base = await this.snapshot();
    const baseLatency = base ? hdr.decodeFromCompressedBase64(base.latency) : undefined;
    const detected = (by: Detection, detail: string): DetectionReport => {
      const report = { by, requests: this.supervisor.counters().generated - start.generated, ms: round(performance.now() - t0), detail };
      this.say(`detected ${by} ${report.requests} requests (${report.ms} ms) after ${patch}: ${detail}`);
      return report;
    };
    for (;;) {
      const c = this.supervisor.counters();
      if (c.failed > start.failed || c.restarts > start.restarts) {
        const restart = this.supervisor.events.findLast((e) => e.op === "restart");
        const message = restart?.op === "restart" ? restart.error.message : "a request failed";
        return detected(message.includes("deadline") ? "watchdog" : "crash", message);
      }
      if (c.generated - start.generated >= this.health.window) return undefined;
      const snap = await this.snapshot();
      if (snap?.health) {
        const h = snap.health;
        if (h.slotMismatches.length > 0) this.audits.push(`while watching ${patch}: slots ${h.slotMismatches.join(", ")} do not hold the recorded entries`);
        if (h.staticDigest !== this.staticDigest) return detected("static-digest", "the image's static data changed (a write outside the patch's own data)");
        if (h.memoryBytes > this.health.memoryLimitBytes) return detected("memory-limit", `memory ${h.memoryBytes} bytes exceeds the limit of ${this.health.memoryLimitBytes}`);
        if (baseLatency && this.supervisor.counters().restarts === start.restarts) {
          const window = hdr.decodeFromCompressedBase64(snap.latency);
          window.subtract(baseLatency);
          const p99 = window.totalCount >= 10 ? window.getValueAtPercentile(99) : 0;
          if (p99 > this.health.latencyLimitMicros) {
            return detected("latency", `p99 latency ${p99} µs over ${window.totalCount} requests exceeds ${this.health.latencyLimitMicros} µs`);
          }
        }
      }
      await sleep(10);
    }
  }

  /** Revert (retried while the process restarts); restart too when the damage is in memory. */
  private async recover(patch: string, by: Detection): Promise<NonNullable<ActionReport["recovery"]>> {
    const t0 = performance.now();
    const restart = by === "static-digest" || by === "memory-limit";
    let detail = "";
    let ok = false;
    for (let attempt = 1; attempt <= 20 && !ok; attempt++) {
      try {
        await this.supervisor.revert(patch);
        ok = true;
        detail = `reverted ${patch} (attempt ${attempt})`;
      } catch (error) {
        if (isHotpatchError(error) && error.code === "E_NOT_APPLIED") {
          ok = true;
          detail = `${patch} was no longer installed`;
        } else if (!isHotpatchError(error) || error.code !== "E_CRASHED") {
          detail = `revert failed: ${(error as Error).message}`;
          break;
        }
      }
    }
    if (ok && restart) {
      await this.supervisor.restartNow(`${patch} damaged memory (${by}); a revert cannot undo that`);
      detail += "; restarted the process to reload its memory";
    }
    const ms = round(performance.now() - t0);
    this.say(`recovery: ${detail} in ${ms} ms`);
    return { action: restart ? "revert+restart" : "revert", ms, ok, detail };
  }

  /** A snapshot, or undefined when the process crashed meanwhile (the pending one is then rejected). */
  private async snapshot(): Promise<WorkerReport | undefined> {
    try {
      return await this.supervisor.snapshot();
    } catch (error) {
      if (isHotpatchError(error) && error.code === "E_CRASHED") return undefined;
      throw error;
    }
  }

  invariants(input: {
    scenario: Scenario;
    faultReport: faults.RuleReport[];
    packages: Map<string, { bytes: Uint8Array; kind: string }>;
    knownGood: boolean;
    exact: boolean;
    lost: number;
    installedMatches: boolean;
    hostErrors: string[];
    maxRequests: number;
  }): InvariantReport[] {
    const out: InvariantReport[] = [];
    const add = (name: string, ok: boolean, detail: string) => out.push({ name, ok, detail });
    const silent = input.faultReport.filter((r) => r.fires === 0);
    const faultyIds = [...input.packages].filter(([, p]) => p.kind !== "good").map(([id]) => id);
    const untried = faultyIds.filter((id) => !this.actions.some((a) => a.action === "apply" && a.patch === id));
    add(
      "fault-fired",
      silent.length === 0 && untried.length === 0 && input.faultReport.length + faultyIds.length > 0,
      silent.length > 0
        ? `never fired: ${silent.map((r) => `faults[${r.rule}] ${r.point}`).join(", ")}`
        : `${input.faultReport.map((r) => `${r.point} fired ${r.fires}×`).join(", ") || "no fault points"}; faulty patches tried: ${faultyIds.join(", ") || "none"}`,
    );
    add("no-partial-patch", this.audits.length === 0, this.audits.join("; ") || "every slot audit clean; the process always ran the patches the control plane recorded");
    add("records-kept", input.lost === 0 && input.installedMatches, `${input.lost} requests lost; installed patches ${input.installedMatches ? "as recorded" : "DIFFER from the records"}`);
    const late = this.actions.filter((a) => a.detection && a.detection.by !== "refusal" && a.detection.requests > input.maxRequests);
    const missed = this.actions.filter((a) => {
      const want = expected(input.scenario, a)?.detection;
      return want !== undefined && want !== "none" && a.detection === undefined;
    });
    add(
      "detected-within-bound",
      late.length === 0 && missed.length === 0,
      late.length + missed.length === 0
        ? `every detection within ${input.maxRequests} requests`
        : [...late.map((a) => `${a.patch} detected after ${a.detection!.requests} requests`), ...missed.map((a) => `${a.patch} never detected`)].join("; "),
    );
    add(
      "known-good-after-recovery",
      input.knownGood,
      input.knownGood
        ? `final state equals a replay of the same requests and restarts with only the good patches${input.exact ? "" : " (inexact replay)"}`
        : "final state DIFFERS from the known-good replay",
    );
    add("host-survives", input.hostErrors.length === 0, input.hostErrors.join("; ") || "no uncaught exception or unhandled rejection in the host");
    const mismatches: string[] = [];
    for (const a of this.actions) {
      const want = expected(input.scenario, a);
      if (!want) continue;
      if (want.outcome && want.outcome !== a.outcome) mismatches.push(`${a.patch}: outcome ${a.outcome}, expected ${want.outcome}`);
      if (want.code && want.code !== a.code) mismatches.push(`${a.patch}: code ${a.code ?? "none"}, expected ${want.code}`);
      if (want.detection && want.detection !== (a.detection?.by ?? "none")) mismatches.push(`${a.patch}: detection ${a.detection?.by ?? "none"}, expected ${want.detection}`);
      if (want.recovery && (want.recovery !== a.recovery?.action || !a.recovery.ok)) {
        mismatches.push(`${a.patch}: recovery ${a.recovery?.action ?? "none"}${a.recovery && !a.recovery.ok ? " (failed)" : ""}, expected ${want.recovery}`);
      }
      if (a.outcome === "failed") mismatches.push(`${a.patch}: ${a.message}`);
    }
    add("documented-behaviour", mismatches.length === 0, mismatches.join("; ") || "every action behaved as the scenario documents");
    return out;
  }
}

function expected(scenario: Scenario, report: ActionReport): ScenarioAction["expect"] {
  return scenario.actions[report.index]?.expect;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

/** The report as Markdown (`--report`). */
export function renderReport(r: ExperimentReport): string {
  const lines = [
    `# Experiment: ${r.name}`,
    "",
    `**${r.question}**${r.answer ? ` ${r.answer}` : ""}`,
    "",
    `Scenario \`${r.scenario}\`, seed ${r.seed}: **${r.ok ? "every invariant held" : "AN INVARIANT FAILED"}** (${r.durationMs} ms).`,
    "",
    "## Injected",
    "",
    ...(r.injected.faults.length ? r.injected.faults.map((f) => `- fault point \`${f.point}\` (${f.mode}): ${f.hits} hit(s), ${f.fires} fired`) : ["- no fault points"]),
    ...r.injected.patches.map((p) => `- faulty patch ${p.id}: ${p.kind} — ${FAULTY_KINDS[p.kind as FaultyKindName]?.what ?? ""}`),
    "",
    "## Actions",
    "",
    "| action | patch | kind | outcome | code | detected by | requests to detect | time to detect (ms) | recovery | recovery time (ms) |",
    "|---|---|---|---|---|---|--:|--:|---|--:|",
    ...r.actions.map(
      (a) =>
        `| ${a.action} | ${a.patch} | ${a.kind} | ${a.outcome} | ${a.code ?? ""} | ${a.detection?.by ?? ""} | ${a.detection?.requests ?? ""} | ${a.detection?.ms ?? ""} | ${a.recovery ? `${a.recovery.action}${a.recovery.ok ? "" : " (FAILED)"}` : ""} | ${a.recovery?.ms ?? ""} |`,
    ),
    "",
    `Requests: ${r.requests.generated} generated, ${r.requests.served} served, ${r.requests.failed} failed, ${r.requests.lost} lost; ${r.restarts} restart(s); state preserved: ${r.statePreserved ? "yes" : "no"}.`,
    "",
    "## Invariants",
    "",
    ...r.invariants.map((i) => `- ${i.ok ? "✓" : "✗"} **${i.name}**: ${i.detail}`),
    "",
    "## Transcript",
    "",
    "```",
    ...r.transcript,
    "```",
    "",
  ];
  return lines.join("\n");
}
