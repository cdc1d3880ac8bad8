/**
 * Installing updates on a VM: on demand (`hotpatch install`) or by automatic
 * patching (auto-patch.ts), through one path a fleet orchestrator can drive.
 *
 * Order of a run (each step recorded before the next starts):
 *  1. earlier runs left InProgress by a killed process are closed as Failed;
 *  2. selection: exclusions win over inclusions, inclusions over
 *     classifications; the rest is NotSelected;
 *  3. the run and its selected updates are committed as InProgress;
 *  4. reboot-requiring updates (baselines, cumulative, .NET) install first,
 *     then at most one reboot (per the reboot setting), then hotpatches go
 *     live on the running processes;
 *  5. an update starts only if its emulated time (install-time.ts), plus the
 *     reboot it needs, fits in what is left of `maxDuration`; the others stay
 *     Pending and the window counts as exceeded;
 *  6. the health check (health.ts) runs when anything changed; the run, the
 *     VM, its installed updates and its history are committed together.
 * The state clock ends at the run's end (start + emulated time).
 */
import { createHash } from "node:crypto";
import { HotpatchError, isHotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import { type ApplicableUpdate, applicableUpdates, findUpdate } from "./catalog.ts";
import { AUTO_INSTALL_CLASSIFICATIONS, type Classification } from "./classification.ts";
import { iso, setClock } from "./clock.ts";
import { checkHealth, type HealthReport } from "./health.ts";
import { type HistoryEntry, recordHistory } from "./history.ts";
import { installMillis, REBOOT_MILLIS } from "./install-time.ts";
import { revisionOf } from "./release-source.ts";
import { INSTALLED_BY, type InstalledUpdate, type Session } from "./session.ts";
import { getVm, osBuildOf, type VmRecord } from "./vm.ts";

export const REBOOT_SETTINGS = ["IfRequired", "Never", "Always"] as const;
export type RebootSetting = (typeof REBOOT_SETTINGS)[number];
export type Trigger = "OnDemand" | "AutomaticByPlatform" | "AutomaticByOS" | "PolicySource";
export const DEFAULT_MAX_DURATION_MILLIS = 4 * 3_600_000;

export interface InstallRequest {
  /** Default: Critical and Security. */
  classifications?: readonly Classification[];
  include?: readonly string[];
  exclude?: readonly string[];
  maxDurationMillis?: number;
  reboot?: RebootSetting;
  trigger?: Trigger;
}

export type PatchState = "Installed" | "PendingReboot" | "Failed" | "Pending" | "Excluded" | "NotSelected";

export interface PatchOutcome {
  kb: string;
  title: string;
  classification: string;
  kind: string;
  reboot: boolean;
  state: PatchState;
  error: string | null;
  applyMicros?: number;
}

export interface InstallResult {
  activityId: string;
  vm: string;
  trigger: Trigger;
  status: "InProgress" | "Succeeded" | "Failed" | "CompletedWithWarnings";
  startDateTime: string;
  endDateTime: string | null;
  maximumDuration: string;
  rebootSetting: RebootSetting;
  rebootStatus: "NotNeeded" | "Required" | "Completed" | "Failed";
  maintenanceWindowExceeded: boolean;
  installedPatchCount: number;
  failedPatchCount: number;
  pendingPatchCount: number;
  excludedPatchCount: number;
  notSelectedPatchCount: number;
  patches: PatchOutcome[];
  reboot: { downtimeMillis: number; emulatedDowntimeSeconds: number; stateLost: { keys: number; requests: number } } | null;
  health: HealthReport | null;
  osBuild: string;
  error: string | null;
}

/** Parses a reboot setting; the API's spellings NeverReboot / AlwaysReboot are accepted too. */
export function parseRebootSetting(text: string): RebootSetting {
  const wanted = text.trim().toLowerCase().replace(/reboot$/, "");
  const found = REBOOT_SETTINGS.find((s) => s.toLowerCase() === wanted);
  if (found === undefined) throw new HotpatchError("E_USAGE", `unknown reboot setting "${text}" (expected IfRequired, Never or Always)`);
  return found;
}

/** A stable id for an activity of a VM. */
export function activityId(session: Session, vm: string, type: string, at: Date): string {
  const n = session.store.activities(vm, type).length;
  const h = createHash("sha256").update(`${vm}/${type}/${iso(at)}/${n}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Closes runs that a killed process left InProgress (their history entries too). */
export function closeInterrupted(session: Session, vm: string, now: Date): number {
  const { store } = session;
  let closed = 0;
  store.tx(() => {
    for (const run of store.activities<InstallResult>(vm, "Installation")) {
      if (run.status !== "InProgress") continue;
      store.putActivity(run.activityId, vm, "Installation", run.startDateTime, {
        ...run,
        status: "Failed",
        endDateTime: iso(now),
        error: "interrupted: the process installing updates stopped before the run completed",
      });
      closed += 1;
    }
    for (const { id, doc } of store.history<HistoryEntry>(vm)) {
      if (doc.result === "InProgress") store.updateHistory(id, { ...doc, result: "Failed", finishedAt: iso(now), errors: [...doc.errors, "interrupted"] });
    }
  });
  return closed;
}

/** Runs one installation on `vmName` starting at `now`. */
export async function installUpdates(session: Session, vmName: string, request: InstallRequest, now: Date): Promise<InstallResult> {
  const { store } = session;
  const vm: VmRecord = { ...getVm(store, vmName) };
  for (const kb of [...(request.include ?? []), ...(request.exclude ?? [])]) findUpdate(kb, now, session.unplanned);
  const include = new Set((request.include ?? []).map((k) => k.toUpperCase()));
  const exclude = new Set((request.exclude ?? []).map((k) => k.toUpperCase()));
  const classifications = new Set(request.classifications ?? AUTO_INSTALL_CLASSIFICATIONS);
  const maxMillis = request.maxDurationMillis ?? DEFAULT_MAX_DURATION_MILLIS;
  if (!(maxMillis > 0)) throw new HotpatchError("E_USAGE", "the maximum duration must be longer than zero");
  closeInterrupted(session, vmName, now);

  const installed = session.installedUpdates(vmName);
  const offered = applicableUpdates(vm, installed, now, session.unplanned);
  const selected: ApplicableUpdate[] = [];
  const patches = new Map<string, PatchOutcome>();
  for (const u of offered) {
    const state: PatchState = exclude.has(u.kb) ? "Excluded" : include.has(u.kb) || classifications.has(u.classification) ? "Pending" : "NotSelected";
    patches.set(u.kb, { kb: u.kb, title: u.title, classification: u.classification, kind: u.installKind, reboot: u.reboot, state, error: null });
    if (state === "Pending") selected.push(u);
  }
  const result: InstallResult = {
    activityId: activityId(session, vmName, "Installation", now),
    vm: vmName,
    trigger: request.trigger ?? "OnDemand",
    status: "InProgress",
    startDateTime: iso(now),
    endDateTime: null,
    maximumDuration: `PT${Math.round(maxMillis / 60_000)}M`,
    rebootSetting: request.reboot ?? "IfRequired",
    rebootStatus: "NotNeeded",
    maintenanceWindowExceeded: false,
    installedPatchCount: 0,
    failedPatchCount: 0,
    pendingPatchCount: 0,
    excludedPatchCount: 0,
    notSelectedPatchCount: 0,
    patches: [...patches.values()],
    reboot: null,
    health: null,
    osBuild: osBuildOf(vm),
    error: null,
  };
  const historyIds = new Map<string, number>();
  store.tx(() => {
    store.putActivity(result.activityId, vmName, "Installation", result.startDateTime, result);
    for (const u of selected) historyIds.set(u.kb, recordHistory(store, vmName, historyEntry(result, u, now)));
  });
  if (session.faults.killDuringInstall) process.kill(process.pid, "SIGKILL");

  let elapsed = 0;
  const at = () => new Date(now.getTime() + elapsed);
  const timing = new Map<string, { started: string; finished: string }>();
  const runtime = selected.length > 0 || result.rebootSetting === "Always" || vm.rebootPending ? await session.runtime(vm) : undefined;
  let rebooted = false;
  let superseded = false;
  const newRecords: InstalledUpdate[] = [];
  const record = (u: ApplicableUpdate, state: InstalledUpdate["state"]) =>
    newRecords.push({
      kb: u.kb,
      month: u.month,
      line: u.line,
      title: u.title,
      classification: u.classification,
      kind: u.installKind,
      baselineMonth: u.baselineMonth,
      imageMonth: u.imageMonth,
      installedAt: iso(at()),
      installedBy: INSTALLED_BY,
      state,
      active: true,
      health: null,
    });
  const fits = (millis: number) => elapsed + millis <= maxMillis;
  const exceed = (o: PatchOutcome) => {
    result.maintenanceWindowExceeded = true;
    o.error = "not started: the rest of the maintenance window is too short";
  };

  // Reboot-requiring updates: installed now, effective at the next reboot.
  let imageMonth = vm.pendingImageMonth;
  let needsReboot = vm.rebootPending;
  const mayReboot = result.rebootSetting !== "Never";
  for (const u of selected.filter((s) => s.reboot)) {
    const outcome = patches.get(u.kb)!;
    try {
      const bytes = u.imageMonth === null ? 0 : (await session.artifacts.image(u.imageMonth, session.unplanned)).bytes.length;
      const millis = installMillis(u.installKind, u.imageMonth !== null, bytes);
      if (!fits(millis + (mayReboot && !needsReboot ? REBOOT_MILLIS : 0))) {
        exceed(outcome);
        continue;
      }
      const started = iso(at());
      elapsed += millis;
      timing.set(u.kb, { started, finished: iso(at()) });
      outcome.state = "PendingReboot";
      if (u.imageMonth !== null) imageMonth = u.imageMonth;
      needsReboot = true;
      record(u, "PendingReboot");
    } catch (error) {
      outcome.state = "Failed";
      outcome.error = isHotpatchError(error) ? error.message : String(error);
    }
  }

  // At most one reboot.
  if (needsReboot || result.rebootSetting === "Always") {
    if (!mayReboot) result.rebootStatus = "Required";
    else if (runtime !== undefined) {
      const previousImage = vm.imageMonth;
      if (imageMonth !== null) vm.imageMonth = imageMonth;
      if (imageMonth !== null && imageMonth > vm.osMonth) vm.osMonth = imageMonth;
      const supersedes = vm.imageMonth !== previousImage;
      const hotpatches = supersedes ? [] : await session.hotpatchPackages(vm);
      const image = await session.artifacts.image(vm.imageMonth, session.unplanned);
      const outcome = runtime.reboot(image, hotpatches);
      elapsed += REBOOT_MILLIS;
      result.reboot = { downtimeMillis: outcome.downtimeMillis, emulatedDowntimeSeconds: REBOOT_MILLIS / 1000, stateLost: outcome.stateLost };
      result.rebootStatus = "Completed";
      vm.pendingImageMonth = null;
      vm.rebootPending = false;
      for (const r of newRecords) r.state = "Installed";
      for (const o of result.patches) if (o.state === "PendingReboot") o.state = "Installed";
      rebooted = true;
      superseded = supersedes;
    }
  }
  if (result.rebootStatus === "Required" || (needsReboot && !mayReboot)) {
    result.rebootStatus = "Required";
    vm.rebootPending = true;
    vm.pendingImageMonth = imageMonth;
  }

  // Hotpatches: live, on the image that runs now.
  for (const u of selected.filter((s) => !s.reboot)) {
    const outcome = patches.get(u.kb)!;
    if (u.baselineMonth !== vm.imageMonth) {
      outcome.error = `waits for baseline ${u.dependsOn ?? u.baselineMonth} to run (install it with a reboot first)`;
      continue;
    }
    try {
      const artifact = await session.artifacts.hotpatch(u.kb, u.month, u.baselineMonth, session.unplanned);
      const millis = installMillis("hotpatch", false, artifact.package.length);
      if (!fits(millis)) {
        exceed(outcome);
        continue;
      }
      outcome.applyMicros = runtime!.applyHotpatch(u.kb, artifact.package);
      const started = iso(at());
      elapsed += millis;
      timing.set(u.kb, { started, finished: iso(at()) });
      outcome.state = "Installed";
      if (u.month > vm.osMonth) vm.osMonth = u.month;
      record(u, "Installed");
    } catch (error) {
      outcome.state = "Failed";
      outcome.error = isHotpatchError(error) ? error.message : String(error);
    }
  }

  if (runtime !== undefined && (newRecords.length > 0 || result.reboot !== null)) {
    result.health = checkHealth(runtime, revisionOf(vm.osMonth), session.seed);
    for (const r of newRecords) if (r.state === "Installed") r.health = result.health.status;
  }
  finishCounts(result);
  result.endDateTime = iso(at());
  result.osBuild = osBuildOf(vm);
  commitOrReboot(session, vmName, () => {
    faults.hit("install.db-write", { vm: vmName });
    for (const r of newRecords) store.addInstalled(vmName, r.kb, r);
    if (rebooted) {
      for (const u of session.installedUpdates(vmName)) if (u.state === "PendingReboot") store.updateInstalled(vmName, u.kb, { ...u, state: "Installed", health: result.health?.status ?? null });
    }
    if (superseded) supersedeOlder(session, vm);
    store.putVm(vm.name, vm);
    store.putActivity(result.activityId, vmName, "Installation", result.startDateTime, result);
    for (const [kb, id] of historyIds) {
      const o = patches.get(kb)!;
      const t = timing.get(kb);
      store.updateHistory(id, {
        ...historyEntry(result, selected.find((s) => s.kb === kb)!, now),
        result: o.state === "Installed" ? "Succeeded" : o.state,
        startedAt: t?.started ?? result.startDateTime,
        finishedAt: t?.finished ?? result.endDateTime,
        durationSeconds: t ? (Date.parse(t.finished) - Date.parse(t.started)) / 1000 : 0,
        errors: o.error === null ? [] : [o.error],
        applyMicros: o.applyMicros ?? null,
        health: o.state === "Installed" ? (result.health?.status ?? null) : null,
      } satisfies HistoryEntry);
    }
    setClock(store, at());
  });
  return result;
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

function finishCounts(result: InstallResult): void {
  const count = (...states: PatchState[]) => result.patches.filter((p) => states.includes(p.state)).length;
  result.installedPatchCount = count("Installed", "PendingReboot");
  result.failedPatchCount = count("Failed");
  result.pendingPatchCount = count("Pending");
  result.excludedPatchCount = count("Excluded");
  result.notSelectedPatchCount = count("NotSelected");
  const healthy = result.health === null || result.health.status === "Healthy";
  if (result.failedPatchCount > 0 && result.installedPatchCount === 0) result.status = "Failed";
  else if (result.failedPatchCount > 0 || result.pendingPatchCount > 0 || !healthy || result.rebootStatus === "Required") {
    result.status = "CompletedWithWarnings";
  } else result.status = "Succeeded";
}
