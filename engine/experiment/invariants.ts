/**
 * The invariants of an experiment, each a named function over what the run
 * observed (RunObservations), none with side effects:
 * - `fault-fired`: every rule of the fault plan fired, every faulty patch was tried;
 * - `no-partial-patch`: the slot audit was clean at every check and the
 *   control plane's patch list matched the process's;
 * - `records-kept`: no request lost, installed patches as recorded;
 * - `detected-within-bound`: every expected detection happened, within
 *   `health.maxRequestsToDetect` requests;
 * - `known-good-after-recovery`: the final state equals a reference replay of
 *   the same requests, restarts and good patches without the faulty ones;
 * - `host-survives`: no uncaught exception or unhandled rejection in the host;
 * - `documented-behaviour`: each action's outcome, code, detection and
 *   recovery as the scenario expects.
 *
 * Contract: `checkInvariants` reports them in the order of INVARIANTS (the
 * order above); the run is ok when every one holds.
 */
import type * as faults from "../faults/index.ts";
import type { ActionReport, InvariantReport } from "./report.ts";
import type { Scenario, ScenarioAction } from "./scenario.ts";

/** What a finished run observed, as the invariants read it. */
export interface RunObservations {
  scenario: Scenario;
  faultReport: faults.RuleReport[];
  /** Ids of the faulty patches the scenario built, in the order of their first action. */
  faultyPatchIds: string[];
  actions: ActionReport[];
  /** Failed slot audits and patch-list mismatches, each with when it was seen. */
  audits: string[];
  /** The final state equals the reference replay's. */
  knownGood: boolean;
  /** The reference replay is exact (no switch happened mid-request). */
  exactReplay: boolean;
  requests: { generated: number; served: number; failed: number; lost: number };
  restarts: number;
  /** The process's final patch list equals the control plane's. */
  installedMatches: boolean;
  hostErrors: string[];
  maxRequestsToDetect: number;
}

export type Invariant = (observed: RunObservations) => InvariantReport;

export function faultFired(o: RunObservations): InvariantReport {
  const silent = o.faultReport.filter((r) => r.fires === 0);
  const untried = o.faultyPatchIds.filter((id) => !o.actions.some((a) => a.action === "apply" && a.patch === id));
  return {
    name: "fault-fired",
    ok: silent.length === 0 && untried.length === 0 && o.faultReport.length + o.faultyPatchIds.length > 0,
    detail:
      silent.length > 0
        ? `never fired: ${silent.map((r) => `faults[${r.rule}] ${r.point}`).join(", ")}`
        : `${o.faultReport.map((r) => `${r.point} fired ${r.fires}×`).join(", ") || "no fault points"}; faulty patches tried: ${o.faultyPatchIds.join(", ") || "none"}`,
  };
}

export function noPartialPatch(o: RunObservations): InvariantReport {
  return {
    name: "no-partial-patch",
    ok: o.audits.length === 0,
    detail: o.audits.join("; ") || "every slot audit clean; the process always ran the patches the control plane recorded",
  };
}

export function recordsKept(o: RunObservations): InvariantReport {
  return {
    name: "records-kept",
    ok: o.requests.lost === 0 && o.installedMatches,
    detail: `${o.requests.lost} requests lost; installed patches ${o.installedMatches ? "as recorded" : "DIFFER from the records"}`,
  };
}

export function detectedWithinBound(o: RunObservations): InvariantReport {
  const late = o.actions.filter((a) => a.detection && a.detection.by !== "refusal" && a.detection.requests > o.maxRequestsToDetect);
  const missed = o.actions.filter((a) => {
    const want = expected(o.scenario, a)?.detection;
    return want !== undefined && want !== "none" && a.detection === undefined;
  });
  return {
    name: "detected-within-bound",
    ok: late.length === 0 && missed.length === 0,
    detail:
      late.length + missed.length === 0
        ? `every detection within ${o.maxRequestsToDetect} requests`
        : [...late.map((a) => `${a.patch} detected after ${a.detection!.requests} requests`), ...missed.map((a) => `${a.patch} never detected`)].join("; "),
  };
}

export function knownGoodAfterRecovery(o: RunObservations): InvariantReport {
  return {
    name: "known-good-after-recovery",
    ok: o.knownGood,
    detail: o.knownGood
      ? `final state equals a replay of the same requests and restarts with only the good patches${o.exactReplay ? "" : " (inexact replay)"}`
      : "final state DIFFERS from the known-good replay",
  };
}

export function hostSurvives(o: RunObservations): InvariantReport {
  return {
    name: "host-survives",
    ok: o.hostErrors.length === 0,
    detail: o.hostErrors.join("; ") || "no uncaught exception or unhandled rejection in the host",
  };
}

export function documentedBehaviour(o: RunObservations): InvariantReport {
  const mismatches = o.actions.flatMap((a) => behaviourMismatches(a, expected(o.scenario, a)));
  return {
    name: "documented-behaviour",
    ok: mismatches.length === 0,
    detail: mismatches.join("; ") || "every action behaved as the scenario documents",
  };
}

/** In this order: the invariants of every run. */
export const INVARIANTS: readonly Invariant[] = [faultFired, noPartialPatch, recordsKept, detectedWithinBound, knownGoodAfterRecovery, hostSurvives, documentedBehaviour];

export function checkInvariants(observed: RunObservations): InvariantReport[] {
  return INVARIANTS.map((invariant) => invariant(observed));
}

/** How one action differs from what the scenario expects of it (nothing when it expects nothing). */
function behaviourMismatches(a: ActionReport, want: ScenarioAction["expect"]): string[] {
  if (!want) return [];
  const mismatches: string[] = [];
  if (want.outcome && want.outcome !== a.outcome) mismatches.push(`${a.patch}: outcome ${a.outcome}, expected ${want.outcome}`);
  if (want.code && want.code !== a.code) mismatches.push(`${a.patch}: code ${a.code ?? "none"}, expected ${want.code}`);
  if (want.detection && want.detection !== (a.detection?.by ?? "none")) mismatches.push(`${a.patch}: detection ${a.detection?.by ?? "none"}, expected ${want.detection}`);
  if (want.recovery && (want.recovery !== a.recovery?.action || !a.recovery.ok)) {
    mismatches.push(`${a.patch}: recovery ${a.recovery?.action ?? "none"}${a.recovery && !a.recovery.ok ? " (failed)" : ""}, expected ${want.recovery}`);
  }
  if (a.outcome === "failed") mismatches.push(`${a.patch}: ${a.message}`);
  return mismatches;
}

function expected(scenario: Scenario, report: ActionReport): ScenarioAction["expect"] {
  return scenario.actions[report.index]?.expect;
}
