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
 *  6. the health check (engine/vms/health.ts) runs when anything changed; the run, the
 *     VM, its installed updates and its history are committed together.
 * The state clock ends at the run's end (start + emulated time), or stays where
 * it is if it is later already (the machines of one schedule's run start
 * together, maintenance-runs.ts).
 *
 * This file holds the request, the result and the order of the phases; the
 * run in memory, its selection and its time budget are in install-run.ts,
 * phase 4 and the health check in install-apply.ts, the writes of phases 3
 * and 6 in install-records.ts. Between phases 3 and 4 is the fault point
 * `install.apply` (engine/faults), where a plan can kill the process mid-run.
 */
import { createHash } from "node:crypto";
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import { applicableUpdates, findUpdate } from "./catalog.ts";
import { AUTO_INSTALL_CLASSIFICATIONS, type Classification } from "./classification.ts";
import { iso } from "./clock.ts";
import type { HealthReport } from "../vms/index.ts";
import type { HistoryEntry } from "./history.ts";
import { applySelected, checkAndClose } from "./install-apply.ts";
import { commitInProgress, commitOutcome } from "./install-records.ts";
import { type CheckedRequest, InstallRun } from "./install-run.ts";
import type { Session } from "./session.ts";
import { getVm, type VmRecord } from "./vm.ts";

export const REBOOT_SETTINGS = ["IfRequired", "Never", "Always"] as const;
export type RebootSetting = (typeof REBOOT_SETTINGS)[number];
/** Who started a run; MaintenanceConfiguration: a customer-managed schedule (maintenance-runs.ts). */
export type Trigger = "OnDemand" | "AutomaticByPlatform" | "AutomaticByOS" | "PolicySource" | "MaintenanceConfiguration";
export const DEFAULT_MAX_DURATION_MILLIS = 4 * 3_600_000;

export interface InstallRequest {
  /** Default: Critical and Security. */
  classifications?: readonly Classification[];
  include?: readonly string[];
  exclude?: readonly string[];
  maxDurationMillis?: number;
  reboot?: RebootSetting;
  trigger?: Trigger;
  /** The maintenance configuration whose run this is (trigger MaintenanceConfiguration); kept in the result and history. */
  maintenanceConfigurationId?: string;
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
  /** A hotpatch applied live: the whole apply (verify, compile, switch) and the switch alone, slowest process (µs). */
  applyMicros?: number;
  pauseMicros?: number;
}

export interface InstallResult {
  activityId: string;
  vm: string;
  trigger: Trigger;
  /** Set when a maintenance configuration's run started it. */
  maintenanceConfigurationId?: string;
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

/**
 * Runs one installation on `vmName` starting at `now`: the request is checked
 * before anything is written, then the phases run in the order above.
 */
export async function installUpdates(session: Session, vmName: string, request: InstallRequest, now: Date): Promise<InstallResult> {
  const checked = checkRequest(session, vmName, request, now);
  closeInterrupted(session, vmName, now); // 1
  const offered = applicableUpdates(checked.vm, session.installedUpdates(vmName), now, session.lineOf(checked.vm));
  const run = new InstallRun(session, vmName, checked, offered, activityId(session, vmName, "Installation", now), now); // 2
  commitInProgress(run); // 3
  faults.hit("install.apply", { vm: vmName });
  await applySelected(run); // 4, each update within the time budget (5)
  await checkAndClose(run); // 6
  commitOutcome(run);
  return run.result;
}

/** The VM and every KB the filters name must exist, and the window must be longer than zero. */
function checkRequest(session: Session, vmName: string, request: InstallRequest, now: Date): CheckedRequest {
  const vm: VmRecord = { ...getVm(session.store, vmName) };
  for (const kb of [...(request.include ?? []), ...(request.exclude ?? [])]) findUpdate(kb, now, session.catalog);
  const maxMillis = request.maxDurationMillis ?? DEFAULT_MAX_DURATION_MILLIS;
  if (!(maxMillis > 0)) throw new HotpatchError("E_USAGE", "the maximum duration must be longer than zero");
  return {
    vm,
    include: new Set((request.include ?? []).map((k) => k.toUpperCase())),
    exclude: new Set((request.exclude ?? []).map((k) => k.toUpperCase())),
    classifications: new Set(request.classifications ?? AUTO_INSTALL_CLASSIFICATIONS),
    maxMillis,
    trigger: request.trigger ?? "OnDemand",
    maintenanceConfigurationId: request.maintenanceConfigurationId,
    rebootSetting: request.reboot ?? "IfRequired",
  };
}
