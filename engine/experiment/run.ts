/**
 * One experiment, run as a transcript of phases over one run object:
 * prepare (read the scenario, build the image and every package, sign them
 * with a fresh key) → start (listen for the host's uncaught errors, arm the
 * fault plan, start the worker under the scenario's seeded load) → baseline
 * → play the actions in order, each when its request count is reached (an
 * apply: inject → observe → recover, process-under-test.ts) → finish the
 * load and check → stop the process and disarm → compare with a reference
 * replay of the good patches → check the invariants (invariants.ts) →
 * report (report.ts).
 *
 * Contract: whatever happens after the start, the fault plan is disarmed,
 * the process stopped and the host listeners removed before runExperiment
 * settles. `say` gets the progress lines, in order.
 */
import { generateKeyPairSync } from "node:crypto";
import { dirname, resolve } from "node:path";
import * as faults from "../faults/index.ts";
import { buildImageFromPath, type Image } from "../image/index.ts";
import type { LoadSpec } from "../load/index.ts";
import type { StagedPatch } from "../loader/index.ts";
import { TrustStore } from "../patch/index.ts";
import { replay } from "../stress/index.ts";
import { Supervisor, type WorkerMessage } from "../worker/index.ts";
import { checkInvariants, type RunObservations } from "./invariants.ts";
import { buildPackages, faultyPatchIds, type ScenarioPackage } from "./packages.ts";
import { ProcessUnderTest } from "./process-under-test.ts";
import type { ActionReport, ExperimentReport, InvariantReport } from "./report.ts";
import { type HealthLimits, healthLimitsOf, imageSourceOf, loadSpecOf, readScenario, type Scenario } from "./scenario.ts";
import { until } from "./timing.ts";

type Say = (line: string) => void;

/** What the run needs before anything runs. */
interface PreparedRun {
  /** The scenario file, as given. */
  path: string;
  scenario: Scenario;
  /** The scenario's folder (its relative paths start there). */
  dir: string;
  health: HealthLimits;
  load: LoadSpec;
  say: Say;
  startedAt: number;
  image: Image;
  trust: TrustStore;
  packages: Map<string, ScenarioPackage>;
}

/** The run object once the process runs. */
interface LiveRun extends PreparedRun {
  supervisor: Supervisor;
  live: ProcessUnderTest;
  /** The report of each action played so far, in order. */
  actions: ActionReport[];
  /** Every package staged so far, by id (the reference replay enables them). */
  staged: Map<string, StagedPatch>;
  hostErrors: string[];
  onHostError: (error: unknown) => void;
  stopped: boolean;
}

interface StoppedRun {
  final: Awaited<ReturnType<Supervisor["stop"]>>;
  faultReport: faults.RuleReport[];
}

export async function runExperiment(path: string, say: Say = () => {}): Promise<ExperimentReport> {
  const run = await start(await prepare(path, say));
  try {
    await run.live.baseline();
    await playActions(run);
    await finishLoad(run);
    const observed = compareWithReference(run, await stop(run));
    return reportOf(run, observed, checkInvariants(observed));
  } finally {
    await cleanUp(run);
  }
}

async function prepare(path: string, say: Say): Promise<PreparedRun> {
  const scenario = readScenario(path);
  const dir = dirname(resolve(path));
  const health = healthLimitsOf(scenario);
  const startedAt = performance.now();
  const image = await buildImageFromPath(imageSourceOf(scenario, dir));
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const trust = new TrustStore([publicKey]);
  say(`${scenario.name}: building patches`);
  const packages = await buildPackages({ scenario, path, dir, image, key: privateKey });
  return { path, scenario, dir, health, load: loadSpecOf(scenario), say, startedAt, image, trust, packages };
}

async function start(prepared: PreparedRun): Promise<LiveRun> {
  const { scenario, image, load } = prepared;
  const hostErrors: string[] = [];
  const onHostError = (error: unknown) => hostErrors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on("uncaughtException", onHostError);
  process.on("unhandledRejection", onHostError);
  faults.arm({ seed: scenario.seed, rules: scenario.faults ?? [] });
  const supervisor = await Supervisor.start({
    module: new WebAssembly.Module(image.module as BufferSource),
    linkMap: image.linkMap,
    load,
    deadlineMs: scenario.watchdogMs ?? 250,
    holdAt: scenario.hold,
  });
  // Listen for the held request from the start: it may come before the action that waits for it.
  const held = scenario.hold !== undefined ? supervisor.next((m: WorkerMessage) => m.type === "held") : undefined;
  const live = new ProcessUnderTest(supervisor, prepared.health, prepared.say, held);
  return { ...prepared, supervisor, live, actions: [], staged: new Map(), hostErrors, onHostError, stopped: false };
}

/** The scenario's actions in order, each once the load has generated its `at` requests. */
async function playActions(run: LiveRun): Promise<void> {
  const { live, supervisor } = run;
  for (const [index, action] of run.scenario.actions.entries()) {
    if (action.at !== undefined) await until(() => supervisor.counters().generated >= action.at!);
    if (action.apply !== undefined) {
      run.actions.push(await live.apply(index, action, run.packages.get(action.apply)!, run.trust, run.staged));
    } else {
      run.actions.push(await live.revert(index, action));
    }
  }
}

async function finishLoad(run: LiveRun): Promise<void> {
  await until(() => run.supervisor.counters().generated >= run.scenario.load.requests);
  await run.live.check("end of run");
}

async function stop(run: LiveRun): Promise<StoppedRun> {
  const final = await run.supervisor.stop();
  run.stopped = true;
  const faultReport = faults.report();
  faults.disarm();
  return { final, faultReport };
}

/** What the run observed, with its final state compared to a replay of the same requests and restarts with only the good patches. */
function compareWithReference(run: LiveRun, { final, faultReport }: StoppedRun): RunObservations {
  const faultyIds = faultyPatchIds(run.packages);
  const faulty = new Set(faultyIds);
  const goodEvents = run.supervisor.events.filter((e) => e.op === "restart" || !faulty.has(e.patch));
  const reference = replay(run.image, run.load, final.metrics.generated, goodEvents, run.staged);
  const { generated, served, failed, restarts } = final.metrics;
  return {
    scenario: run.scenario,
    faultReport,
    faultyPatchIds: faultyIds,
    actions: run.actions,
    audits: run.live.audits,
    knownGood: JSON.stringify(reference.state) === JSON.stringify(final.state),
    exactReplay: reference.exact,
    requests: { generated, served, failed, lost: generated - served - failed },
    restarts,
    installedMatches: JSON.stringify(final.installed) === JSON.stringify(run.supervisor.installed()),
    hostErrors: run.hostErrors,
    maxRequestsToDetect: run.health.maxRequestsToDetect,
  };
}

function reportOf(run: LiveRun, observed: RunObservations, invariants: InvariantReport[]): ExperimentReport {
  const { scenario } = run;
  return {
    scenario: resolve(run.path),
    name: scenario.name,
    question: scenario.question,
    answer: scenario.answer,
    seed: scenario.seed,
    ok: invariants.every((i) => i.ok),
    injected: { faults: observed.faultReport, patches: observed.faultyPatchIds.map((id) => ({ id, kind: run.packages.get(id)!.kind })) },
    actions: run.actions,
    requests: observed.requests,
    restarts: observed.restarts,
    statePreserved: observed.restarts === 0 && observed.knownGood,
    invariants,
    transcript: run.supervisor.transcript,
    durationMs: Math.round(performance.now() - run.startedAt),
  };
}

/** Disarms the fault plan, stops the process if it still runs, removes the host listeners. */
async function cleanUp(run: LiveRun): Promise<void> {
  faults.disarm();
  if (!run.stopped) await run.supervisor.stop().catch(() => undefined);
  process.off("uncaughtException", run.onHostError);
  process.off("unhandledRejection", run.onHostError);
}
