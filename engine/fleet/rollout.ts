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
 * Health gating: after a round, a VM whose health check was Unhealthy halts
 * the rollout: no new batch starts anywhere, the halt and its reason are in
 * the report, patched VMs stay as they are (no automatic rollback, S15).
 * Everything happens within 30 days of the release: a VM whose next window
 * opens later is NotStarted.
 */
import { createVm, installUpdates, iso, nextWindow, parseWindowSpec, type ReleaseMonth, type Session, setClock, storedClock } from "../manage/index.ts";
import type { Phase } from "./plan.ts";
import type { FleetVm } from "./topology.ts";

export const ROLLOUT_DAYS = 30;

export type VmOutcome = "Succeeded" | "Unhealthy" | "NotStarted";

export interface RolledVm extends FleetVm {
  patchedFrom: string | null;
  patchedTo: string | null;
  outcome: VmOutcome;
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

export async function runRollout(session: Session, fleet: readonly FleetVm[], phases: readonly Phase[], release: ReleaseMonth, windowText: string): Promise<RolloutReport> {
  const releasedAt = new Date(release.releaseDate);
  const deadline = new Date(releasedAt.getTime() + ROLLOUT_DAYS * 86_400_000);
  const window = parseWindowSpec(windowText);
  const vms = new Map<string, RolledVm>(fleet.map((v) => [v.name, { ...v, patchedFrom: null, patchedTo: null, outcome: "NotStarted" }]));
  const report: RolloutReport = { release: release.month, releasedAt: iso(releasedAt), halted: false, haltReason: null, deadline: iso(deadline), phases: [], vms: [...vms.values()] };
  let cursor = releasedAt;
  for (const [index, phase] of phases.entries()) {
    const phaseReport: PhaseReport = { phase: index + 1, regions: phase.regions, batches: [] };
    report.phases.push(phaseReport);
    const queues = phase.regions.map((r) => [...phase.batches[r]]);
    while (queues.some((q) => q.length > 0)) {
      const round = queues.flatMap((q) => (q.length > 0 ? [q.shift()!] : []));
      const batches = round.map((b) => ({ ...b, startedAt: null, endedAt: null, outcome: "NotStarted" as VmOutcome }));
      phaseReport.batches.push(...batches);
      if (report.halted) continue;
      cursor = await runRound(session, batches, vms, window, cursor, deadline);
      const unhealthy = batches.flatMap((b) => b.vms).find((name) => vms.get(name)!.outcome === "Unhealthy");
      if (unhealthy !== undefined) {
        report.halted = true;
        report.haltReason = `${unhealthy} ended unhealthy after installing ${release.kb}: ${haltDetail(session, unhealthy)}`;
      }
    }
  }
  return report;
}

/** One round: every VM of its batches in the order their windows open; returns when the last install ended. */
async function runRound(
  session: Session,
  batches: BatchReport[],
  vms: Map<string, RolledVm>,
  window: ReturnType<typeof parseWindowSpec>,
  from: Date,
  deadline: Date,
): Promise<Date> {
  const queue = batches.flatMap((b) => b.vms.map((name) => ({ batch: b, vm: vms.get(name)!, opens: nextWindow(from, vms.get(name)!.timezone, window) })));
  queue.sort((a, b) => a.opens.start.getTime() - b.opens.start.getTime() || a.vm.name.localeCompare(b.vm.name));
  let end = from;
  for (const { batch, vm } of queue) {
    const clock = storedClock(session.store) ?? from;
    const after = new Date(Math.max(from.getTime(), clock.getTime()));
    const open = nextWindow(after, vm.timezone, window);
    const at = new Date(Math.max(open.start.getTime(), after.getTime()));
    if (at.getTime() > deadline.getTime()) continue; // NotStarted: its window opens after the 30 days
    const result = await installUpdates(session, vm.name, { classifications: ["Critical", "Security"], reboot: "IfRequired", trigger: "AutomaticByPlatform", maxDurationMillis: open.end.getTime() - at.getTime() }, at);
    vm.patchedFrom = iso(at);
    vm.patchedTo = result.endDateTime ?? iso(at);
    vm.outcome = result.health?.status === "Unhealthy" || result.status === "Failed" ? "Unhealthy" : "Succeeded";
    batch.startedAt ??= vm.patchedFrom;
    batch.endedAt = batch.endedAt === null || vm.patchedTo > batch.endedAt ? vm.patchedTo : batch.endedAt;
    if (batch.outcome !== "Unhealthy") batch.outcome = vm.outcome;
    if (new Date(vm.patchedTo).getTime() > end.getTime()) end = new Date(vm.patchedTo);
  }
  return end;
}

/** Why the VM's last install judged it unhealthy (its health check's reasons). */
function haltDetail(session: Session, vm: string): string {
  const run = session.store.latestActivity<{ health: { reasons: string[] } | null; status: string }>(vm, "Installation");
  return run?.health?.reasons.join("; ") || `the installation ended ${run?.status ?? "unknown"}`;
}

/** Creates the fleet's VMs in the session's state at `at`: AutomaticByPlatform with hotpatch, each in its group's time zone. */
export function createFleet(session: Session, vms: readonly FleetVm[], options: { image: string; processes: number; window: string }, at: Date): void {
  session.store.tx(() => {
    for (const vm of vms) {
      createVm(session.store, { name: vm.name, image: options.image, patchMode: "AutomaticByPlatform", timeZone: vm.timezone, window: options.window, processes: options.processes }, at, session.unplanned);
    }
    setClock(session.store, at);
  });
}
