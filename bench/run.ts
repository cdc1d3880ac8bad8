/**
 * The benchmark runner: runs the selected suites in order in this process
 * and returns one results object (see report.ts for the files written).
 * Suites never assert timings; a target states where a figure stands.
 */
import type { MachineInfo } from "./lib/machine.ts";
import { machineInfo } from "./lib/machine.ts";
import { createContext } from "./lib/context.ts";
import type { Suite, SuiteResult } from "./lib/suite.ts";
import { applyLatency } from "./suites/apply-latency.ts";
import { buildTime } from "./suites/build-time.ts";
import { applyFloor } from "./suites/apply-floor.ts";
import { fleetApply } from "./suites/fleet-apply.ts";
import { patchability } from "./suites/patchability.ts";
import { pause } from "./suites/pause.ts";
import { restart } from "./suites/restart.ts";
import { scaling } from "./suites/scaling.ts";
import { fleetRollout } from "./suites/fleet-rollout.ts";
import { serveApi } from "./suites/serve-api.ts";
import { migration } from "./suites/migration.ts";
import { shadowVariables } from "./suites/shadow-variables.ts";
import { storm } from "./suites/storm.ts";

export const SUITES: readonly Suite[] = [applyLatency, pause, restart, patchability, storm, buildTime, scaling, applyFloor, fleetApply, serveApi, fleetRollout, shadowVariables, migration];

export interface BenchOptions {
  quick: boolean;
  /** Suite names; all when empty or absent. */
  suites?: string[];
  /** The fleet-rollout suite's fleet size (default by preset). */
  fleetVms?: number;
  log?: (line: string) => void;
}

export interface BenchResults {
  format: 1;
  mode: "quick" | "full";
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  suites: SuiteResult[];
}

export function selectSuites(names: string[] | undefined): Suite[] {
  if (!names || names.length === 0) return [...SUITES];
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(", ")} (suites: ${SUITES.map((s) => s.name).join(", ")})`);
  return SUITES.filter((s) => names.includes(s.name));
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const log = options.log ?? (() => {});
  const suites = selectSuites(options.suites);
  const startedAt = new Date();
  const started = performance.now();
  const machine = machineInfo();
  const context = createContext({ quick: options.quick, log, fleetVms: options.fleetVms });
  const results: SuiteResult[] = [];
  try {
    for (const suite of suites) {
      log(`[${suite.name}] ${suite.title}`);
      const t0 = performance.now();
      const outcome = await suite.run(context);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      results.push({ name: suite.name, title: suite.title, seconds, ...outcome });
      log(`[${suite.name}] done in ${seconds} s${outcome.skipped ? ` (skipped: ${outcome.reason})` : ""}`);
    }
  } finally {
    context.dispose();
  }
  return {
    format: 1,
    mode: options.quick ? "quick" : "full",
    startedAt: startedAt.toISOString(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    machine,
    suites: results,
  };
}
