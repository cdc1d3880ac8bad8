/**
 * What happens while emulated time passes (`hotpatch clock advance`):
 * periodic assessments and automatic patching (S7, S11).
 *
 * Contracts:
 * - Every VM is assessed every ASSESSMENT_PERIOD (24 h) after its last
 *   assessment (or its creation).
 * - Automatic patching installs only Critical and Security updates, reboot
 *   IfRequired, in the VM's install window, at most one run per window,
 *   and only when such an update is available; the run may last until the
 *   window closes (the maintenance window). Pending or failed updates are
 *   retried in the next window. Who patches, and when:
 *   - AutomaticByPlatform (the only availability-first mode): the VM's own
 *     window (default off-peak 22:00-06:00 local);
 *   - AutomaticByOS, and on Azure Stack HCI the GroupPolicy /
 *     WindowsUpdateClientSettings / SCONFIG policy sources: Windows
 *     Automatic Updates at its default scheduled time, 03:00-05:00 local;
 *   - Manual, and the ThirdParty policy source: never (installs are on demand);
 *   - on an Arc-enabled server: AutomaticByOS as above; AutomaticByPlatform
 *     means customer-managed schedules (Azure Update Manager has no
 *     platform-orchestrated patching for Arc machines), so without the
 *     bypass flag nothing installs automatically; Manual and ImageDefault
 *     never;
 *   - bypassPlatformSafetyChecksOnUserSchedule true: never automatically;
 *     the maintenance configurations assigned to it run (maintenance-runs.ts).
 * - Maintenance configurations' events (pre-event, run, post-event;
 *   maintenance-runs.ts) interleave with these.
 * - Events run in time order (at the same instant: assessments, then
 *   maintenance events, then automatic installs); each commits on its own,
 *   so an interrupted advance keeps what it did. The clock ends at `to` (or
 *   later, if a run ends after it).
 */
import { HotpatchError } from "../errors.ts";
import { assessVm, ASSESSMENT_PERIOD_MILLIS } from "./assess.ts";
import { applicableUpdates } from "./catalog.ts";
import { isAutoInstallable } from "./classification.ts";
import { iso, setClock, storedClock } from "./clock.ts";
import { type InstallResult, installUpdates, type Trigger } from "./install.ts";
import type { Session } from "./session.ts";
import { type MaintenanceDue, type MaintenanceRun, nextMaintenanceDue, runMaintenanceDue } from "./maintenance-runs.ts";
import { listVms, onUserSchedule, type VmRecord } from "./vm.ts";
import { nextWindow, parseWindowSpec, type WindowSpec } from "./window-spec.ts";

/** Windows Automatic Updates' default scheduled install time (local). */
export const AUTOMATIC_UPDATES_WINDOW = "03:00-05:00";

export interface AdvanceEvent {
  at: string;
  /** The VM; "" for an event of a maintenance configuration as a whole. */
  vm: string;
  type: "Assessment" | "Installation" | "PreMaintenanceEvent" | "MaintenanceRun" | "PostMaintenanceEvent";
  summary: string;
  installation?: InstallResult;
  /** The run record, for the three maintenance event types. */
  maintenance?: MaintenanceRun;
}

export interface AdvanceReport {
  from: string;
  to: string;
  events: AdvanceEvent[];
}

/** The automatic patching of a VM: who installs and in which window; null when nothing installs automatically. */
export function autoPatching(vm: VmRecord): { trigger: Trigger; window: WindowSpec } | null {
  if (onUserSchedule(vm)) return null; // a maintenance configuration patches it, or nothing does (maintenance-runs.ts)
  if (vm.host === "arc") return vm.patchMode === "AutomaticByOS" ? { trigger: "AutomaticByOS", window: parseWindowSpec(AUTOMATIC_UPDATES_WINDOW) } : null;
  if (vm.host === "azure") {
    if (vm.patchMode === "AutomaticByPlatform") return { trigger: "AutomaticByPlatform", window: parseWindowSpec(vm.window) };
    if (vm.patchMode === "AutomaticByOS") return { trigger: "AutomaticByOS", window: parseWindowSpec(AUTOMATIC_UPDATES_WINDOW) };
    return null;
  }
  if (vm.policySource === "ThirdParty" || vm.policySource === null) return null;
  return { trigger: "PolicySource", window: parseWindowSpec(AUTOMATIC_UPDATES_WINDOW) };
}

/**
 * The longest one advance may span (ten years). Every day of an advance runs
 * each VM's assessment and window: a longer one would hold the caller (and a
 * server's queue) for minutes; run it again to go further.
 */
export const MAX_ADVANCE_DAYS = 3660;

/** Runs everything due from the state's clock (`from`) up to `to`; E_USAGE for an end that is no date or lies more than MAX_ADVANCE_DAYS ahead. */
export async function advanceClock(session: Session, from: Date, to: Date, onEvent: (e: AdvanceEvent) => void = () => {}): Promise<AdvanceReport> {
  if (!Number.isFinite(to.getTime())) throw new HotpatchError("E_USAGE", "the clock cannot advance past the last representable date (year 275760)");
  if (to.getTime() - from.getTime() > MAX_ADVANCE_DAYS * 86_400_000) {
    throw new HotpatchError("E_USAGE", `one advance spans at most ${MAX_ADVANCE_DAYS} days (P${MAX_ADVANCE_DAYS}D); advance again to go further`);
  }
  const { store } = session;
  const events: AdvanceEvent[] = [];
  const emit = (e: AdvanceEvent) => {
    events.push(e);
    onEvent(e);
  };
  // Two cursors: VM events (assessments, automatic installs) go on after the last install's
  // end (the clock); maintenance events keep their own times, so a schedule whose window
  // opens while another schedule's machines install still starts at its window's start.
  let cursor = from;
  let maintenanceCursor = from;
  for (;;) {
    const next = nextEvent(session, cursor, to);
    const maintenance = nextMaintenanceDue(session, maintenanceCursor, next === null ? to : next.type === "Assessment" ? new Date(next.at.getTime() - 1) : next.at);
    if (maintenance !== null) {
      maintenanceCursor = maintenance.at;
      const end = await runMaintenance(session, maintenance, emit);
      cursor = new Date(Math.max(cursor.getTime(), end.getTime()));
      continue;
    }
    if (next === null) break;
    cursor = next.at;
    maintenanceCursor = new Date(Math.max(maintenanceCursor.getTime(), next.at.getTime()));
    if (next.type === "Assessment") {
      const result = assessVm(session, next.vm.name, next.at, "Periodic");
      emit({ at: iso(next.at), vm: next.vm.name, type: "Assessment", summary: `${result.criticalAndSecurityPatchCount} critical/security, ${result.otherPatchCount} other` });
      continue;
    }
    const { trigger } = autoPatching(next.vm)!;
    const result = await installUpdates(
      session,
      next.vm.name,
      { classifications: ["Critical", "Security"], reboot: "IfRequired", trigger, maxDurationMillis: next.windowEnd!.getTime() - next.at.getTime() },
      next.at,
    );
    store.tx(() => store.putVm(next.vm.name, { ...store.vm<VmRecord>(next.vm.name)!, lastAutoWindow: iso(next.windowStart!) }));
    emit({
      at: iso(next.at),
      vm: next.vm.name,
      type: "Installation",
      summary: installSummary(result),
      installation: result,
    });
    cursor = new Date(Math.max(cursor.getTime(), Date.parse(result.endDateTime!)));
  }
  store.tx(() => {
    const clock = storedClock(store);
    setClock(store, clock !== undefined && clock > to ? clock : to);
  });
  return { from: iso(from), to: iso(to), events };
}

/** Runs one maintenance event and reports it (the run's installs first); returns when the clock may go on. */
async function runMaintenance(session: Session, due: MaintenanceDue, emit: (e: AdvanceEvent) => void): Promise<Date> {
  const { run, installations } = await runMaintenanceDue(session, due);
  for (const result of installations) {
    emit({ at: result.startDateTime, vm: result.vm, type: "Installation", summary: installSummary(result), installation: result });
  }
  const type = due.kind === "Run" ? "MaintenanceRun" : due.kind;
  const what = due.kind === "Run" ? `${run.status}: ${run.machines.length} machine(s)${run.leftOut.length > 0 ? `, ${run.leftOut.length} left out` : ""}` : `${(type === "PreMaintenanceEvent" ? run.preEvent : run.postEvent)?.deliveries.length ?? 0} webhook(s)`;
  emit({ at: iso(due.at), vm: "", type, summary: `${run.configuration.name} run ${run.name}: ${what}`, maintenance: run });
  return due.kind === "Run" && run.finishedAt !== null ? new Date(run.finishedAt) : due.at;
}

function installSummary(result: InstallResult): string {
  return `${result.status}: ${result.installedPatchCount} installed, ${result.pendingPatchCount} pending, ${result.failedPatchCount} failed, reboot ${result.rebootStatus}`;
}

interface Due {
  at: Date;
  vm: VmRecord;
  type: "Assessment" | "Installation";
  windowStart?: Date;
  windowEnd?: Date;
}

/** The earliest event at or after `cursor` and at or before `to`, or null. */
function nextEvent(session: Session, cursor: Date, to: Date): Due | null {
  let best: Due | null = null;
  const consider = (due: Due) => {
    if (due.at.getTime() > to.getTime()) return;
    if (best === null || due.at < best.at || (due.at.getTime() === best.at.getTime() && due.type === "Assessment" && best.type !== "Assessment")) best = due;
  };
  for (const vm of listVms(session.store)) {
    const last = Date.parse(vm.lastAssessmentAt ?? vm.createdAt);
    const assessment = new Date(Math.max(cursor.getTime(), last + ASSESSMENT_PERIOD_MILLIS));
    consider({ at: assessment, vm, type: "Assessment" });
    // Looking past the VM's next assessment is useless: that event comes first and the search runs again after it.
    const install = nextInstall(session, vm, cursor, assessment < to ? assessment : to);
    if (install !== null) consider(install);
  }
  return best;
}

/** The first moment from `cursor` at which automatic patching would install something on `vm`. */
function nextInstall(session: Session, vm: VmRecord, cursor: Date, to: Date): Due | null {
  if (vm.orchestratedBy === "fleet") return null; // the fleet's rollouts patch it (engine/fleet/rollout.ts)
  const auto = autoPatching(vm);
  if (auto === null) return null;
  let after = cursor;
  while (after.getTime() <= to.getTime()) {
    const window = nextWindow(after, vm.timeZone, auto.window);
    const at = window.start > cursor ? window.start : cursor;
    if (at.getTime() > to.getTime()) return null;
    const used = vm.lastAutoWindow === iso(window.start);
    const wanted = applicableUpdates(vm, session.installedUpdates(vm.name), at, session.lineOf(vm)).some((u) => isAutoInstallable(u.classification));
    if (!used && wanted) return { at, vm, type: "Installation", windowStart: window.start, windowEnd: window.end };
    after = window.end;
  }
  return null;
}
