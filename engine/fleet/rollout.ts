/**
 * A release's rollout across a fleet, run through the real management plane:
 * each VM's install is `installUpdates` (real packages applied live to its
 * real processes, a reboot for a baseline) at a time inside the VM's own
 * off-peak window in its own time zone, on the emulated clock.
 *
 * Order (plan.ts gives the phases and batches): phase after phase; inside a
 * phase its regions advance together, one batch per region per round; a
 * round's VMs install in the order their windows open. The emulator runs a
 * round's installs one after another on its single clock (each inside its own
 * window; Azure runs them side by side), so a round ends when its last
 * install ended, and the next round starts then.
 *
 * A VM deleted from the state after the rollout started is skipped (it stays
 * NotStarted); a resumed run plans over the VMs of the report it resumes.
 *
 * Health gating: after a round, a VM whose health check was Unhealthy halts
 * the rollout: no new batch starts anywhere, the halt and its reason are in
 * the report, patched VMs stay as they are (no automatic rollback, S15).
 * Everything happens within 30 days of the release: a VM whose next window
 * opens later is NotStarted.
 */
import { type InstallResult, installUpdates, iso, nextWindow, parseWindowSpec, type ReleaseMonth, type Session, storedClock } from "../manage/index.ts";
import type { Phase } from "./plan.ts";
import type { FleetVm } from "./topology.ts";

export const ROLLOUT_DAYS = 30;

export type VmOutcome = "Succeeded" | "Unhealthy" | "NotStarted";

export interface RolledVm extends FleetVm {
  patchedFrom: string | null;
  patchedTo: string | null;
  outcome: VmOutcome;
  /** The install rebooted the VM (a baseline, or any update without hotpatch): its emulated downtime, else 0. */
  downtimeSeconds: number;
}

export interface BatchReport {
  region: string;
  unit: string;
  vms: string[];
  startedAt: string | null;
  endedAt: string | null;
  outcome: VmOutcome;
}

export interface PhaseReport {
  phase: number;
  regions: string[];
  batches: BatchReport[];
}

export interface RolloutReport {
  release: string;
  releasedAt: string;
  halted: boolean;
  haltReason: string | null;
  /** The end of the 30 days; VMs whose window opens later are NotStarted. */
  deadline: string;
  phases: PhaseReport[];
  vms: RolledVm[];
}

/** What a caller hears while a rollout runs (a server publishes both as events and stores the report). */
export interface RolloutHooks {
  /** After each VM's install, with its result. */
  onInstall?(result: InstallResult): void;
  /** After each round, with the report so far and the round's batches (copies: the caller may keep them). */
  onRound?(report: RolloutReport, round: BatchReport[]): void;
  /**
   * Asked before each round: a reason makes the rollout halt there with that reason (a server
   * that is stopping), resumable like any halt.
   */
  haltBefore?(): string | undefined;
}

/**
 * Runs the rollout; with `resume` (the report of a halted run of the same
 * plan) it keeps what that run did and starts at the first round it did not
 * start (the halted round's VMs stay as they ended).
 */
export async function runRollout(
  session: Session,
  fleet: readonly FleetVm[],
  phases: readonly Phase[],
  release: ReleaseMonth,
  windowText: string,
  resume?: RolloutReport,
  hooks: RolloutHooks = {},
): Promise<RolloutReport> {
  const releasedAt = new Date(release.releaseDate);
  const deadline = new Date(releasedAt.getTime() + ROLLOUT_DAYS * 86_400_000);
  const window = parseWindowSpec(windowText);
  const report = resume === undefined ? plannedRollout(fleet, phases, release) : { ...structuredClone(resume), halted: false, haltReason: null };
  const vms = new Map(report.vms.map((v) => [v.name, v]));
  const clock = storedClock(session.store);
  let cursor = clock !== undefined && clock > releasedAt ? clock : releasedAt;
  for (const [index, phase] of phases.entries()) {
    for (const round of roundsOf(phase, report.phases[index])) {
      if (report.halted || round.some((b) => b.outcome !== "NotStarted")) continue; // halted, or run before a resume
      const stop = hooks.haltBefore?.();
      if (stop !== undefined) {
        report.halted = true;
        report.haltReason = stop;
        continue;
      }
      cursor = await runRound(session, round, vms, window, cursor, deadline, hooks);
      const unhealthy = round.flatMap((b) => b.vms).find((name) => vms.get(name)!.outcome === "Unhealthy");
      if (unhealthy !== undefined) {
        report.halted = true;
        report.haltReason = `${unhealthy} ended unhealthy after installing ${release.kb}: ${haltDetail(session, unhealthy)}`;
      }
      hooks.onRound?.(structuredClone(report), structuredClone(round));
    }
  }
  return report;
}

/** The report before anything ran: every batch of the plan, in round order, NotStarted (a fresh run's start). */
export function plannedRollout(fleet: readonly FleetVm[], phases: readonly Phase[], release: ReleaseMonth): RolloutReport {
  const releasedAt = new Date(release.releaseDate);
  const deadline = new Date(releasedAt.getTime() + ROLLOUT_DAYS * 86_400_000);
  return {
    release: release.month,
    releasedAt: iso(releasedAt),
    halted: false,
    haltReason: null,
    deadline: iso(deadline),
    phases: phases.map((phase, index) => {
      const queues = phase.regions.map((r) => [...phase.batches[r]]);
      const batches: BatchReport[] = [];
      while (queues.some((q) => q.length > 0)) for (const q of queues) if (q.length > 0) batches.push({ ...q.shift()!, startedAt: null, endedAt: null, outcome: "NotStarted" });
      return { phase: index + 1, regions: phase.regions, batches };
    }),
    vms: fleet.map((v) => ({ ...v, patchedFrom: null, patchedTo: null, outcome: "NotStarted", downtimeSeconds: 0 })),
  };
}

/** A phase's rounds (one batch per region that has one left), as the report's batch objects. */
function roundsOf(phase: Phase, report: PhaseReport): BatchReport[][] {
  const rounds: BatchReport[][] = [];
  const left = new Map(phase.regions.map((r) => [r, phase.batches[r].length]));
  let next = 0;
  while ([...left.values()].some((n) => n > 0)) {
    const width = [...left.values()].filter((n) => n > 0).length;
    rounds.push(report.batches.slice(next, next + width));
    next += width;
    for (const [r, n] of left) if (n > 0) left.set(r, n - 1);
  }
  return rounds;
}

/** One round: every VM of its batches in the order their windows open; returns when the last install ended. */
async function runRound(
  session: Session,
  batches: readonly BatchReport[],
  vms: Map<string, RolledVm>,
  window: ReturnType<typeof parseWindowSpec>,
  from: Date,
  deadline: Date,
  hooks: RolloutHooks,
): Promise<Date> {
  const queue = batches.flatMap((b) => b.vms.map((name) => ({ batch: b, vm: vms.get(name)!, opens: nextWindow(from, vms.get(name)!.timezone, window) })));
  queue.sort((a, b) => a.opens.start.getTime() - b.opens.start.getTime() || a.vm.name.localeCompare(b.vm.name));
  let end = from;
  for (const { batch, vm } of queue) {
    if (session.store.vm(vm.name) === undefined) continue; // deleted since the rollout started: stays NotStarted
    const result = await installInWindows(session, vm, window, from, deadline, hooks);
    if (result === undefined) continue; // NotStarted: no window of the VM opens within the 30 days
    vm.patchedFrom = result.at;
    vm.patchedTo = result.end;
    vm.outcome = result.outcome;
    vm.downtimeSeconds = result.downtimeSeconds;
    batch.startedAt ??= vm.patchedFrom;
    batch.endedAt = batch.endedAt === null || vm.patchedTo > batch.endedAt ? vm.patchedTo : batch.endedAt;
    if (batch.outcome !== "Unhealthy") batch.outcome = vm.outcome;
    if (new Date(vm.patchedTo).getTime() > end.getTime()) end = new Date(vm.patchedTo);
  }
  return end;
}

/**
 * Installs on `vm` in its next window at or after `from` (and after the clock); an install that
 * ran out of window before installing anything is tried again in the next window. Undefined when
 * no window opens before `deadline`.
 */
async function installInWindows(
  session: Session,
  vm: RolledVm,
  window: ReturnType<typeof parseWindowSpec>,
  from: Date,
  deadline: Date,
  hooks: RolloutHooks,
): Promise<{ at: string; end: string; outcome: VmOutcome; downtimeSeconds: number } | undefined> {
  let after = from;
  for (;;) {
    const clock = storedClock(session.store) ?? from;
    const start = new Date(Math.max(after.getTime(), clock.getTime()));
    const open = nextWindow(start, vm.timezone, window);
    const at = new Date(Math.max(open.start.getTime(), start.getTime()));
    if (at.getTime() > deadline.getTime()) return undefined;
    const result = await installUpdates(session, vm.name, { classifications: ["Critical", "Security"], reboot: "IfRequired", trigger: "AutomaticByPlatform", maxDurationMillis: open.end.getTime() - at.getTime() }, at);
    hooks.onInstall?.(result);
    const end = result.endDateTime ?? iso(at);
    if (result.maintenanceWindowExceeded && result.installedPatchCount === 0) {
      after = open.end; // nothing went in: the next window
      continue;
    }
    const outcome = result.health?.status === "Unhealthy" || result.status === "Failed" ? "Unhealthy" : "Succeeded";
    return { at: iso(at), end, outcome, downtimeSeconds: result.reboot?.emulatedDowntimeSeconds ?? 0 };
  }
}

/** Why the VM's last install judged it unhealthy (its health check's reasons). */
function haltDetail(session: Session, vm: string): string {
  const run = session.store.latestActivity<{ health: { reasons: string[] } | null; status: string }>(vm, "Installation");
  return run?.health?.reasons.join("; ") || `the installation ended ${run?.status ?? "unknown"}`;
}
