/**
 * The reports a worker process posts (worker-main.ts), built off the pause:
 * a transition's report (complete, reversed, failed or refused) and the
 * process report of a snapshot or of the stop answer.
 *
 * Contract: building a report only reads; recording the pause in its
 * histogram and updating the shared metrics stay with the caller. A switch
 * leaves a `Switched` record (filled in during the pause, allocated by the
 * prepare step); its report is built later from that record, with the
 * patches installed when the report step runs (right after the switch,
 * since steps run first in, first out). Histograms are in microseconds and
 * travel encoded (hdr-histogram-js, compressed base64).
 *
 * Worker contract: imports nothing that reaches binaryen.
 */
import * as hdr from "hdr-histogram-js";
import type { HotpatchError } from "../errors.ts";
import type { InstalledPatch, PatchLoader, TransitionRequest, TransitionResult } from "../loader/index.ts";
import type { GuestProcess } from "../process/index.ts";
import { probeHealth } from "./health-probe.ts";
import { serializeError, type TransitionReport, type WorkerReport } from "./worker-protocol.ts";

export const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

/** What a switch leaves for its report step: captured at the switch, formatted later. */
export interface Switched {
  id: number;
  result?: TransitionResult;
  prepareMicros: number;
  pauseMicros: number;
  atIndex: number;
  midRequest: boolean;
}

/**
 * The report of a switch (or of a reversed or failed transition), where and
 * when the switch happened as captured in `s`.
 */
export function switchReport(s: Switched, installed: readonly InstalledPatch[]): TransitionReport {
  const result = s.result!;
  const report = {
    ...blankReport(result.kind, result.patch, installed, s.atIndex, s.midRequest),
    state: result.state,
    prepareMicros: s.prepareMicros,
  };
  if (result.state === "complete") {
    Object.assign(report, {
      forced: result.forced,
      activeAtSwitch: result.activeAtSwitch,
      blockedBy: result.blockedBy,
      blockedChecks: result.blockedChecks,
      pauseMicros: s.pauseMicros,
    });
  } else {
    report.error = serializeError(result.error);
  }
  return report;
}

/** The report of a transition refused before it started; `atIndex`, `midRequest`: where the loop is now. */
export function refusedReport(
  kind: TransitionRequest["kind"],
  patch: string,
  installed: readonly InstalledPatch[],
  error: HotpatchError,
  atIndex: number,
  midRequest: boolean,
): TransitionReport {
  return { ...blankReport(kind, patch, installed, atIndex, midRequest), state: "refused" as const, error: serializeError(error) };
}

function blankReport(kind: TransitionRequest["kind"], patch: string, installed: readonly InstalledPatch[], atIndex: number, midRequest: boolean) {
  return {
    kind,
    patch,
    forced: false,
    activeAtSwitch: [] as string[],
    blockedChecks: 0,
    atIndex,
    midRequest,
    pauseMicros: 0,
    prepareMicros: 0,
    installed: installed.map((p) => p.id),
    error: undefined as ReturnType<typeof serializeError> | undefined,
  };
}

/** The stop answer's report: both histograms, the installed patches, the guest's state and its health. */
export function stopReport(latency: hdr.Histogram, pauses: hdr.Histogram, process: GuestProcess, loader: PatchLoader): WorkerReport {
  return {
    latency: hdr.encodeIntoCompressedBase64(latency),
    pauses: hdr.encodeIntoCompressedBase64(pauses),
    installed: installedIds(loader),
    backlog: 0,
    state: process.state(),
    health: probeHealth(process, loader),
  };
}

/** A snapshot's report: as the stop answer's, without the guest's state, with the requests waiting (`backlog`). */
export function snapshotReport(latency: hdr.Histogram, pauses: hdr.Histogram, process: GuestProcess, loader: PatchLoader, backlog: number): WorkerReport {
  return {
    latency: hdr.encodeIntoCompressedBase64(latency),
    pauses: hdr.encodeIntoCompressedBase64(pauses),
    installed: installedIds(loader),
    backlog,
    state: undefined,
    health: probeHealth(process, loader),
  };
}

/** Ids of the installed patches, oldest first. */
export function installedIds(loader: PatchLoader): string[] {
  return loader.installed().map((p) => p.id);
}
