/**
 * The runs of maintenance configurations: what happens at each window of a
 * customer-managed schedule, while emulated time passes (auto-patch.ts
 * interleaves these events with assessments and automatic installs).
 *
 * Timeline of one window [start, end):
 *  1. start − PRE_EVENT_LEAD (30 min): the pre-maintenance event (webhooks,
 *     event stream). Sent late (at once) if the clock passed that instant
 *     before the window opened; once it is open the run starts without one.
 *     Not sent for a configuration created after that instant.
 *  2. Until start − CANCELLATION_CUTOFF (10 min) the run may be cancelled
 *     (`cancelRun`); later, it is refused. Editing the configuration within
 *     EDIT_CANCELS_WITHIN (40 min) of a run's start cancels that run
 *     (`cancelRunsForEdit`, for the windows of the old and the new schedule;
 *     creating a configuration is not editing it).
 *  3. start: the machines in scope are chosen (maintenance-scope.ts: its
 *     assignments and dynamic scopes, evaluated now) and each is patched by
 *     the bypass rules below, all starting at `start` on the emulated clock
 *     (in Azure they run in parallel), each within what is left of the window.
 *     A machine still installing for another run starts when that install
 *     ends; if the window has closed by then it fails with the reason. An
 *     install that throws is that machine's Failed outcome (with the error);
 *     the run goes on with the others.
 *  4. When the run completes (its last machine's end, at most `end`): the
 *     post-maintenance event.
 * A cancelled run patches nothing and sends no post-event.
 *
 * The bypass rules, for Azure VMs and Arc-enabled servers alike (patch mode
 * AutomaticByPlatform assumed, as Azure Update Manager needs for both):
 * | bypassPlatformSafetyChecksOnUserSchedule | schedule assigned | what runs |
 * | true  | yes | the schedule's runs, with its install parameters |
 * | true  | no  | nothing (automatic patching leaves the VM alone) |
 * | false | yes | the run fails for the VM: prerequisites not met |
 * | false | no  | automatic patching (auto-patch.ts) |
 * A VM with another patch mode, or on Azure Stack HCI, fails a run with
 * prerequisites not met too. (Without the flag an Arc machine is patched by
 * nothing automatically: auto-patch.ts.) Each machine's outcome is in the run record,
 * the VM's history (installs write their entries; a refused machine gets one
 * Failed entry) and the advance's events.
 */
import { HotpatchError } from "../errors.ts";
import { applicableUpdates, findUpdate } from "./catalog.ts";
import { iso } from "./clock.ts";
import { recordHistory } from "./history.ts";
import { type InstallResult, installUpdates } from "./install.ts";
import { type ConfigurationName, configurationId, type MaintenanceConfiguration } from "./maintenance-config.ts";
import { machinesInScope, type ScopedMachine } from "./maintenance-scope.ts";
import { maintenanceStore as ms, runName } from "./maintenance-store.ts";
import { type Delivery, deliver, type MaintenanceEventType, maintenanceEvent, subscribers } from "./maintenance-webhooks.ts";
import { nextWindow as nextMaintenanceWindow, parseMaintenanceWindow } from "./maintenance-window.ts";
import type { Session } from "./session.ts";
import { getVm, listVms, onUserSchedule, userScheduleProblem, type VmRecord } from "./vm.ts";

const MINUTE = 60_000;
export const PRE_EVENT_LEAD_MILLIS = 30 * MINUTE;
export const CANCELLATION_CUTOFF_MILLIS = 10 * MINUTE;
export const EDIT_CANCELS_WITHIN_MILLIS = 40 * MINUTE;
/** The longest window (03:55) rounded up: a window that opened before this much earlier is closed. */
const LONGEST_WINDOW_MILLIS = 4 * 60 * MINUTE;

export type RunStatus = "Scheduled" | "Cancelled" | "InProgress" | "Succeeded" | "CompletedWithWarnings" | "Failed";

export interface RunMachine {
  vm: string;
  via: string;
  outcome: "Succeeded" | "CompletedWithWarnings" | "Failed" | "PrerequisitesNotMet";
  activityId: string | null;
  installed: number;
  pending: number;
  failed: number;
  rebootStatus: string | null;
  error: string | null;
}

export interface MaintenanceRun {
  /** yyyyMMddHHmmss of the window's start (UTC). */
  name: string;
  configuration: ConfigurationName;
  configurationId: string;
  start: string;
  end: string;
  cancellationCutOff: string;
  status: RunStatus;
  cancelled: { at: string; reason: string } | null;
  preEvent: { at: string; deliveries: Delivery[] } | null;
  postEvent: { at: string; deliveries: Delivery[] } | null;
  startedAt: string | null;
  finishedAt: string | null;
  machines: RunMachine[];
  leftOut: { vm: string; reason: string }[];
}

export interface Window {
  start: Date;
  end: Date;
}

/** The record of a window's run (a Scheduled one if nothing happened yet). */
export function runOf(session: Session, c: MaintenanceConfiguration, window: Window): MaintenanceRun {
  return (
    ms.run(session.store, c, window.start) ?? {
      name: runName(window.start),
      configuration: { subscription: c.subscription, resourceGroup: c.resourceGroup, name: c.name },
      configurationId: configurationId(c),
      start: iso(window.start),
      end: iso(window.end),
      cancellationCutOff: iso(new Date(window.start.getTime() - CANCELLATION_CUTOFF_MILLIS)),
      status: "Scheduled",
      cancelled: null,
      preEvent: null,
      postEvent: null,
      startedAt: null,
      finishedAt: null,
      machines: [],
      leftOut: [],
    }
  );
}

/** The window of `c` that starts at `start`, or undefined if none does. */
export function windowStartingAt(c: MaintenanceConfiguration, start: Date): Window | undefined {
  const w = nextMaintenanceWindow(parseMaintenanceWindow(c.maintenanceWindow), start);
  return w !== undefined && w.start.getTime() === start.getTime() ? w : undefined;
}

/** Cancels the run named `name` (yyyyMMddHHmmss) of `c` at `now`, by the cut-off rule; E_UNKNOWN_SCHEDULE for no such run, E_SCHEDULE if it cannot be cancelled. */
export function cancelRun(session: Session, c: MaintenanceConfiguration, name: string, now: Date): MaintenanceRun {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(name);
  const start = m === null ? undefined : new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  const window = start === undefined || Number.isNaN(start.getTime()) ? undefined : windowStartingAt(c, start);
  if (window === undefined) throw new HotpatchError("E_UNKNOWN_SCHEDULE", `maintenance configuration ${c.name} has no run named ${name} (a window start in UTC, yyyyMMddHHmmss)`);
  const run = runOf(session, c, window);
  if (run.status === "Cancelled") return run;
  if (run.status !== "Scheduled") throw new HotpatchError("E_SCHEDULE", `run ${name} of ${c.name} is ${run.status}; only a scheduled run can be cancelled`);
  if (now.getTime() > Date.parse(run.cancellationCutOff)) {
    throw new HotpatchError("E_SCHEDULE", `run ${name} of ${c.name} can no longer be cancelled: the cut-off was ${run.cancellationCutOff}, ${CANCELLATION_CUTOFF_MILLIS / MINUTE} minutes before its start`);
  }
  const cancelled: MaintenanceRun = { ...run, status: "Cancelled", cancelled: { at: iso(now), reason: "cancelled by the user" } };
  session.store.tx(() => ms.putRun(session.store, c, cancelled));
  return cancelled;
}

/** Cancels the runs of `before` and `after` that start within EDIT_CANCELS_WITHIN of `now` (an edit at `now`); returns them. */
export function cancelRunsForEdit(session: Session, before: MaintenanceConfiguration | undefined, after: MaintenanceConfiguration, now: Date): MaintenanceRun[] {
  const out: MaintenanceRun[] = [];
  if (before === undefined) return out;
  for (const c of [before, after]) {
    const w = nextMaintenanceWindow(parseMaintenanceWindow(c.maintenanceWindow), now);
    if (w === undefined || w.start.getTime() - now.getTime() > EDIT_CANCELS_WITHIN_MILLIS) continue;
    const run = runOf(session, after, w);
    if (run.status !== "Scheduled" || out.some((r) => r.name === run.name)) continue;
    out.push({ ...run, status: "Cancelled", cancelled: { at: iso(now), reason: `the schedule was edited within ${EDIT_CANCELS_WITHIN_MILLIS / MINUTE} minutes of this run's start` } });
  }
  for (const run of out) ms.putRun(session.store, after, run);
  return out;
}

export interface MaintenanceDue {
  at: Date;
  kind: MaintenanceEventType | "Run";
  configuration: MaintenanceConfiguration;
  window: Window;
}

/** The earliest maintenance event due in [cursor, to], or null. */
export function nextMaintenanceDue(session: Session, cursor: Date, to: Date): MaintenanceDue | null {
  let best: MaintenanceDue | null = null;
  for (const c of ms.configurations(session.store)) {
    for (const due of duesOf(session, c, cursor)) {
      if (due.at.getTime() <= to.getTime() && (best === null || due.at < best.at)) best = due;
    }
  }
  return best;
}

/** The next events of one configuration: of the window open at `cursor` (or the next one), and the pre-event of the one after. */
function duesOf(session: Session, c: MaintenanceConfiguration, cursor: Date): MaintenanceDue[] {
  const parsed = parseMaintenanceWindow(c.maintenanceWindow);
  let first = nextMaintenanceWindow(parsed, new Date(cursor.getTime() - LONGEST_WINDOW_MILLIS));
  while (first !== undefined && first.end.getTime() <= cursor.getTime() && runOf(session, c, first).status !== "InProgress" && postDone(session, c, first)) {
    first = nextMaintenanceWindow(parsed, new Date(first.start.getTime() + 1));
  }
  if (first === undefined) return [];
  const out: MaintenanceDue[] = [];
  const later = (t: number) => new Date(Math.max(t, cursor.getTime()));
  const add = (window: Window) => {
    const run = runOf(session, c, window);
    const preAt = window.start.getTime() - PRE_EVENT_LEAD_MILLIS;
    if (run.status === "Cancelled") return;
    if (run.status === "Scheduled") {
      if (run.preEvent === null && preAt >= Date.parse(c.createdAt) && cursor.getTime() < window.start.getTime()) {
        out.push({ at: later(preAt), kind: "PreMaintenanceEvent", configuration: c, window });
      } else if (cursor.getTime() < window.end.getTime()) out.push({ at: later(window.start.getTime()), kind: "Run", configuration: c, window });
    } else if (run.status !== "InProgress" && run.postEvent === null && run.finishedAt !== null) {
      out.push({ at: later(Date.parse(run.finishedAt)), kind: "PostMaintenanceEvent", configuration: c, window });
    }
  };
  add(first);
  const second = nextMaintenanceWindow(parsed, new Date(first.start.getTime() + 1));
  if (second !== undefined) add(second);
  // A post-event still owed by a run the clock has long passed (the window search above looks back 4 hours only).
  for (const pending of ms.pendingPosts(session.store, c)) {
    const window = windowStartingAt(c, new Date(pending.start));
    if (window === undefined || out.some((d) => d.kind === "PostMaintenanceEvent" && d.window.start.getTime() === window.start.getTime())) continue;
    const run = runOf(session, c, window);
    if (run.postEvent === null && run.finishedAt !== null) out.push({ at: later(Date.parse(run.finishedAt)), kind: "PostMaintenanceEvent", configuration: c, window });
  }
  return out;
}

function postDone(session: Session, c: MaintenanceConfiguration, w: Window): boolean {
  const run = runOf(session, c, w);
  return run.status === "Scheduled" || run.status === "Cancelled" || run.postEvent !== null;
}

/** What one maintenance event did, for the advance's report. */
export interface MaintenanceOutcome {
  run: MaintenanceRun;
  installations: InstallResult[];
}

/** Carries out a due event: sends a pre/post event or runs the window; each commits on its own. */
export async function runMaintenanceDue(session: Session, due: MaintenanceDue): Promise<MaintenanceOutcome> {
  const { store } = session;
  const c = due.configuration;
  const run = runOf(session, c, due.window);
  if (due.kind === "Run") return startRun(session, due, run);
  const deliveries = await deliver(maintenanceEvent(due.kind, c, run, iso(due.at)), subscribers(ms.webhooks(store), c, due.kind));
  const sent: MaintenanceRun = { ...run, [due.kind === "PreMaintenanceEvent" ? "preEvent" : "postEvent"]: { at: iso(due.at), deliveries } };
  store.tx(() => {
    ms.putRun(store, c, sent);
    if (due.kind === "PostMaintenanceEvent") ms.deletePendingPost(store, c, due.window.start);
  });
  return { run: sent, installations: [] };
}

async function startRun(session: Session, due: MaintenanceDue, scheduled: MaintenanceRun): Promise<MaintenanceOutcome> {
  const { store } = session;
  const c = due.configuration;
  const scope = machinesInScope(c, listVms(store), ms.assignments(store), ms.scopes(store), (vm) => session.placementOf(vm));
  let run: MaintenanceRun = { ...scheduled, status: "InProgress", startedAt: iso(due.at), leftOut: scope.leftOut };
  store.tx(() => ms.putRun(store, c, run));
  const installations: InstallResult[] = [];
  const machines: RunMachine[] = [];
  let finished = due.at.getTime();
  for (const m of scope.machines) {
    const vm = getVm(store, m.vm);
    const refusal = prerequisites(vm);
    if (refusal !== null) {
      machines.push(refused(session, m, c, due.at, refusal));
      continue;
    }
    const busyUntil = Date.parse(store.latestActivity<InstallResult>(vm.name, "Installation")?.endDateTime ?? iso(due.at));
    const at = new Date(Math.max(due.at.getTime(), busyUntil));
    if (at.getTime() >= due.window.end.getTime()) {
      machines.push(busy(m, iso(at)));
      continue;
    }
    let result: InstallResult;
    try {
      result = await installUpdates(session, vm.name, installRequest(session, vm, c, { ...due, at }), at);
    } catch (error) {
      // One machine's refusal or failure is its outcome; the run goes on with the others and completes.
      machines.push(notPatched(m, "Failed", (error as Error).message));
      continue;
    }
    installations.push(result);
    machines.push(machineOf(m, result));
    finished = Math.max(finished, Date.parse(result.endDateTime ?? iso(due.at)));
  }
  run = { ...run, status: runStatus(machines), finishedAt: iso(new Date(Math.min(finished, due.window.end.getTime()))), machines };
  store.tx(() => {
    ms.putRun(store, c, run);
    ms.putPendingPost(store, c, due.window.start);
  });
  return { run, installations };
}

/** Why a VM cannot be patched by a schedule (null: it can), by the bypass rules. */
function prerequisites(vm: VmRecord): string | null {
  if (vm.orchestratedBy === "fleet") return "prerequisites not met: the VM is a fleet member, patched by its fleet's rollouts";
  const problem = userScheduleProblem(vm);
  if (problem === null && onUserSchedule(vm)) return null;
  const now = problem?.startsWith("host ") ? `it runs on ${vm.host}` : `its patch mode is ${vm.patchMode} and the flag is ${onUserSchedule(vm)}`;
  return `prerequisites not met: a scheduled VM needs patch mode AutomaticByPlatform with bypassPlatformSafetyChecksOnUserSchedule true (${now})`;
}

function installRequest(session: Session, vm: VmRecord, c: MaintenanceConfiguration, due: MaintenanceDue) {
  const p = c.installPatches;
  const known = (kb: string) => {
    try {
      findUpdate(kb, due.at, session.catalog);
      return true;
    } catch {
      return false; // a KB the catalog does not have (yet) selects nothing
    }
  };
  const exclude = p.kbNumbersToExclude.filter(known);
  if (p.excludeKbsRequiringReboot) {
    for (const u of applicableUpdates(vm, session.installedUpdates(vm.name), due.at, session.lineOf(vm))) if (u.reboot) exclude.push(u.kb);
  }
  return {
    classifications: p.classificationsToInclude,
    include: p.kbNumbersToInclude.filter(known),
    exclude,
    reboot: p.rebootSetting,
    trigger: "MaintenanceConfiguration" as const,
    maintenanceConfigurationId: configurationId(c),
    maxDurationMillis: due.window.end.getTime() - due.at.getTime(),
  };
}

function machineOf(m: ScopedMachine, r: InstallResult): RunMachine {
  const outcome = r.status === "Succeeded" ? "Succeeded" : r.status === "CompletedWithWarnings" ? "CompletedWithWarnings" : "Failed";
  return {
    ...m,
    outcome,
    activityId: r.activityId,
    installed: r.installedPatchCount,
    pending: r.pendingPatchCount,
    failed: r.failedPatchCount,
    rebootStatus: r.rebootStatus,
    error: r.error,
  };
}

/** A machine the bypass rules refuse: recorded in the run and as one Failed entry of the VM's history. */
function refused(session: Session, m: ScopedMachine, c: MaintenanceConfiguration, at: Date, reason: string): RunMachine {
  session.store.tx(() =>
    recordHistory(session.store, m.vm, {
      activityId: `${runName(at)}-${c.name}`,
      operation: "Install",
      trigger: "MaintenanceConfiguration",
      maintenanceConfigurationId: configurationId(c),
      kb: "",
      title: `Maintenance configuration ${c.name}: run ${runName(at)}`,
      kind: "schedule",
      classification: "",
      result: "Failed",
      startedAt: iso(at),
      finishedAt: iso(at),
      reboot: false,
      durationSeconds: 0,
      errors: [reason],
      applyMicros: null,
      health: null,
    }),
  );
  return notPatched(m, "PrerequisitesNotMet", reason);
}

function busy(m: ScopedMachine, until: string): RunMachine {
  return notPatched(m, "Failed", `the window closed while another run was installing on the VM (until ${until})`);
}

/** A machine the run did not install anything on, and why. */
function notPatched(m: ScopedMachine, outcome: "Failed" | "PrerequisitesNotMet", error: string): RunMachine {
  return { ...m, outcome, activityId: null, installed: 0, pending: 0, failed: 0, rebootStatus: null, error };
}

function runStatus(machines: readonly RunMachine[]): RunStatus {
  const good = machines.filter((m) => m.outcome === "Succeeded").length;
  if (good === machines.length) return "Succeeded";
  return good === 0 && machines.every((m) => m.outcome !== "CompletedWithWarnings") ? "Failed" : "CompletedWithWarnings";
}
