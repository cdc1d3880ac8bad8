/**
 * The scenario of an experiment: one JSON file of experiments/ (or any path)
 * naming a seeded load, a fault plan and a list of actions (apply a patch —
 * built from an AssemblyScript source or a faulty kind — or revert one),
 * each with the outcome, code, detection and recovery it expects.
 *
 * Contract: `readScenario` returns a scenario only when it is well formed,
 * and otherwise throws E_USAGE ("cannot read the scenario: …" or
 * "scenario …", with the path), checking in this order: the JSON, the
 * object, "name" and "question", "seed", "load", "actions", then each action
 * in turn, then the fault plan (engine/faults' own checks). The defaults of
 * what a scenario leaves out (image, health limits, load script) are filled
 * in here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import type { LoadSpec } from "../load/index.ts";
import type { TransitionSpec } from "../worker/index.ts";
import { type Detection, FAULTY_KINDS, type FaultyKindName, isFaultyKind, type Recovery } from "./faulty-patches.ts";

export const EXPERIMENTS_DIR = fileURLToPath(new URL("../../experiments/", import.meta.url));
const DEFAULT_IMAGE = fileURLToPath(new URL("../../assembly/kvstore/v1.ts", import.meta.url));

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
  health?: Partial<HealthLimits>;
}

/** The health checks' limits after an apply that goes live (see process-under-test.ts). */
export interface HealthLimits {
  /** Healthy requests after which the watch of an apply ends. */
  window: number;
  maxRequestsToDetect: number;
  latencyLimitMicros: number;
  memoryLimitBytes: number;
}

const DEFAULT_HEALTH: HealthLimits = { window: 300, maxRequestsToDetect: 300, latencyLimitMicros: 50_000, memoryLimitBytes: 16 * 1024 * 1024 };

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

/** The source of the running image: the scenario's (relative to its folder `dir`), or kvstore v1. */
export function imageSourceOf(scenario: Scenario, dir: string): string {
  return scenario.image ? resolve(dir, scenario.image) : DEFAULT_IMAGE;
}

/** The scenario's health limits, defaults filled in. */
export function healthLimitsOf(scenario: Scenario): HealthLimits {
  return { ...DEFAULT_HEALTH, ...scenario.health };
}

/** The seeded load the scenario's process serves (its script's hex payloads as bytes). */
export function loadSpecOf(scenario: Scenario): LoadSpec {
  return {
    seed: scenario.seed,
    rate: scenario.load.rate,
    count: scenario.load.requests,
    scanEvery: scenario.load.scanEvery,
    scanSteps: scenario.load.scanSteps,
    script: Object.fromEntries(Object.entries(scenario.load.script ?? {}).map(([k, hex]) => [Number(k), [...Buffer.from(hex, "hex")]])),
  };
}
