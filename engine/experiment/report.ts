/**
 * The report of an experiment: what was injected (fault points, faulty
 * patches), each action's outcome with what detected it, how fast, and the
 * recovery it took, the request counts, the invariants and the process's
 * transcript.
 *
 * Contract: `ExperimentReport` is the JSON of `hotpatch experiment run
 * --json`, its fields in this order; `renderReport` is the same report as
 * Markdown (`--report`): the question, the verdict, then Injected, Actions
 * (one table row per action, in scenario order), Invariants, Transcript.
 */
import type * as faults from "../faults/index.ts";
import { type Detection, FAULTY_KINDS, type FaultyKindName, type Recovery } from "./faulty-patches.ts";

export interface DetectionReport {
  by: Detection;
  /** Requests generated from the apply (or the fault) to the detection. */
  requests: number;
  ms: number;
  detail: string;
}

export interface RecoveryReport {
  action: Recovery | "restart" | "refusal";
  ms: number;
  ok: boolean;
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
  recovery?: RecoveryReport;
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
    ...r.actions.map(actionRow),
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

function actionRow(a: ActionReport): string {
  const recovery = a.recovery ? `${a.recovery.action}${a.recovery.ok ? "" : " (FAILED)"}` : "";
  return `| ${a.action} | ${a.patch} | ${a.kind} | ${a.outcome} | ${a.code ?? ""} | ${a.detection?.by ?? ""} | ${a.detection?.requests ?? ""} | ${a.detection?.ms ?? ""} | ${recovery} | ${a.recovery?.ms ?? ""} |`;
}
