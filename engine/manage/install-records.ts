/**
 * What an installation run writes, in two transactions (phases 3 and 6 of
 * install.ts):
 * - `commitInProgress`: the run (InProgress) and one InProgress history
 *   entry per selected update, before anything is installed, so a killed
 *   process leaves a run that the next one closes as Failed;
 * - `commitOutcome`: in this order, the new installed-update records, the
 *   records a reboot made effective, the records a new image superseded, the
 *   VM, the run, each history entry, and the state clock (the run's end).
 *   If it fails nothing of it is recorded, and the VM's live processes are
 *   forgotten so that the next command boots them from the records.
 */
import * as faults from "../faults/index.ts";
import type { ApplicableUpdate } from "./catalog.ts";
import { iso, setClock, storedClock } from "./clock.ts";
import { type HistoryEntry, recordHistory } from "./history.ts";
import type { InstallResult } from "./install.ts";
import type { InstallRun } from "./install-run.ts";
import type { Session } from "./session.ts";
import type { VmRecord } from "./vm.ts";

/** Phase 3: the run and its selected updates, recorded InProgress. */
export function commitInProgress(run: InstallRun): void {
  const { store } = run.session;
  const { result, vmName } = run;
  store.tx(() => {
    store.putActivity(result.activityId, vmName, "Installation", result.startDateTime, result);
    for (const u of run.selected) run.historyIds.set(u.kb, recordHistory(store, vmName, historyEntry(result, u, run.now)));
  });
}

/** Phase 6, second half: everything the run changed, in one transaction. */
export function commitOutcome(run: InstallRun): void {
  const { session, vmName, vm, result } = run;
  const { store } = session;
  commitOrReboot(session, vmName, () => {
    faults.hit("install.db-write", { vm: vmName });
    for (const r of run.newRecords) store.addInstalled(vmName, r.kb, r);
    if (run.rebooted) {
      for (const u of session.installedUpdates(vmName)) if (u.state === "PendingReboot") store.updateInstalled(vmName, u.kb, { ...u, state: "Installed", health: result.health?.status ?? null });
    }
    if (run.superseded) supersedeOlder(session, vm);
    store.putVm(vm.name, vm);
    store.putActivity(result.activityId, vmName, "Installation", result.startDateTime, result);
    for (const [kb, id] of run.historyIds) store.updateHistory(id, finishedEntry(run, kb));
    // Runs of one schedule start together on one emulated clock: the clock ends at the latest end.
    setClock(store, laterOf(storedClock(store), run.at()));
  });
}

/** The history entry of a selected update as the run leaves it. */
function finishedEntry(run: InstallRun, kb: string): HistoryEntry {
  const { result } = run;
  const o = run.outcomes.get(kb)!;
  const t = run.timing.get(kb);
  return {
    ...historyEntry(result, run.selected.find((s) => s.kb === kb)!, run.now),
    result: o.state === "Installed" ? "Succeeded" : o.state,
    startedAt: t?.started ?? result.startDateTime,
    finishedAt: t?.finished ?? result.endDateTime,
    durationSeconds: t ? (Date.parse(t.finished) - Date.parse(t.started)) / 1000 : 0,
    errors: o.error === null ? [] : [o.error],
    applyMicros: o.applyMicros ?? null,
    health: o.state === "Installed" ? (result.health?.status ?? null) : null,
  };
}

/**
 * The final write of a run. If it fails nothing of the run is recorded, so the
 * live processes (which may already run its hotpatches) no longer match the
 * records: forget them, and the next command boots them from the records.
 */
function commitOrReboot(session: Session, vmName: string, write: () => void): void {
  try {
    session.store.tx(write);
  } catch (error) {
    session.dropRuntime(vmName);
    throw error;
  }
}

function historyEntry(run: InstallResult, u: ApplicableUpdate, now: Date): HistoryEntry {
  return {
    activityId: run.activityId,
    operation: "Install",
    trigger: run.trigger,
    ...(run.maintenanceConfigurationId === undefined ? {} : { maintenanceConfigurationId: run.maintenanceConfigurationId }),
    kb: u.kb,
    title: u.title,
    kind: u.installKind,
    classification: u.classification,
    result: "InProgress",
    startedAt: iso(now),
    finishedAt: null,
    reboot: u.reboot,
    durationSeconds: 0,
    errors: [],
    applyMicros: null,
    health: null,
  };
}

/** After booting a new image, older hotpatches and images are no longer running. */
function supersedeOlder(session: Session, vm: VmRecord): void {
  for (const u of session.installedUpdates(vm.name)) {
    if (u.line !== "os" || !u.active) continue;
    const stale = u.kind === "hotpatch" ? u.baselineMonth !== vm.imageMonth : u.imageMonth !== null && u.imageMonth < vm.imageMonth;
    if (stale) session.store.updateInstalled(vm.name, u.kb, { ...u, active: false });
  }
}

function laterOf(a: Date | undefined, b: Date): Date {
  return a !== undefined && a.getTime() > b.getTime() ? a : b;
}
