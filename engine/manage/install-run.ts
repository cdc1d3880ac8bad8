/**
 * One installation run in memory: what was asked (a checked request), what
 * was selected, the outcome of each offered update, and the emulated clock
 * the run spends its maintenance window on. The phases (install.ts) read and
 * change it; the final commit (install-records.ts) writes it.
 *
 * Contracts:
 * - selection (phase 2): exclusions win over inclusions, inclusions over
 *   classifications; an update that is none of these is NotSelected, a
 *   selected one is Pending until a phase decides it;
 * - the time budget (phase 5): `fits` says whether an update (plus the reboot
 *   it needs) still fits in what is left of the window; `spendOn` advances
 *   the clock by an update's emulated time and records its start and end;
 *   `exceed` leaves an update Pending and marks the window as exceeded;
 * - `vm` is a working copy: nothing of the run is stored before the commit.
 */
import { isHotpatchError } from "../errors.ts";
import type { ApplicableUpdate } from "./catalog.ts";
import type { Classification } from "./classification.ts";
import { iso } from "./clock.ts";
import type { InstallResult, PatchOutcome, PatchState, RebootSetting, Trigger } from "./install.ts";
import { REBOOT_MILLIS } from "./install-time.ts";
import type { VmProcesses } from "../vms/index.ts";
import { INSTALLED_BY, type InstalledUpdate, type Session } from "./session.ts";
import { osBuildOf, type VmRecord } from "./vm.ts";

/** A request that passed its checks, with its defaults filled in (install.ts checkRequest). */
export interface CheckedRequest {
  /** A working copy of the VM's record. */
  vm: VmRecord;
  /** KB ids, upper case. */
  include: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  classifications: ReadonlySet<Classification>;
  maxMillis: number;
  trigger: Trigger;
  maintenanceConfigurationId?: string;
  rebootSetting: RebootSetting;
}

/** Emulated start and end of one update. */
export interface UpdateTiming {
  started: string;
  finished: string;
}

export class InstallRun {
  readonly vm: VmRecord;
  /** The selected updates, in the order the catalog offers them. */
  readonly selected: ApplicableUpdate[] = [];
  /** The outcome of every offered update, by KB: the same objects as `result.patches`. */
  readonly outcomes = new Map<string, PatchOutcome>();
  readonly result: InstallResult;
  /** The history entry of each selected update, by KB (written InProgress by phase 3). */
  readonly historyIds = new Map<string, number>();
  readonly timing = new Map<string, UpdateTiming>();
  /** Installed-update records the final commit adds. */
  readonly newRecords: InstalledUpdate[] = [];
  /** The VM's processes, when the run needs them (phase 4). */
  runtime: VmProcesses | undefined;
  /** The image the next reboot boots, and whether one is needed (phase 4). */
  nextImageMonth: VmRecord["pendingImageMonth"];
  needsReboot: boolean;
  /** Whether the run rebooted the VM, and whether into a newer image. */
  rebooted = false;
  superseded = false;
  private elapsedMillis = 0;
  private readonly maxMillis: number;

  /** Phase 2, selection: an outcome for every offered update. */
  constructor(
    readonly session: Session,
    readonly vmName: string,
    request: CheckedRequest,
    offered: readonly ApplicableUpdate[],
    activityId: string,
    readonly now: Date,
  ) {
    this.vm = request.vm;
    this.maxMillis = request.maxMillis;
    this.nextImageMonth = this.vm.pendingImageMonth;
    this.needsReboot = this.vm.rebootPending;
    for (const u of offered) {
      const state = selectionOf(u, request);
      this.outcomes.set(u.kb, { kb: u.kb, title: u.title, classification: u.classification, kind: u.installKind, reboot: u.reboot, state, error: null });
      if (state === "Pending") this.selected.push(u);
    }
    this.result = newResult(this, request, activityId);
  }

  /** The emulated time now: the run's start plus what it spent. */
  at(): Date {
    return new Date(this.now.getTime() + this.elapsedMillis);
  }

  /** A reboot is allowed by the run's reboot setting. */
  get mayReboot(): boolean {
    return this.result.rebootSetting !== "Never";
  }

  /** Whether `millis` more still fit in the maintenance window. */
  fits(millis: number): boolean {
    return this.elapsedMillis + millis <= this.maxMillis;
  }

  /** Spends an update's emulated time and records when it started and finished. */
  spendOn(u: ApplicableUpdate, millis: number): void {
    const started = iso(this.at());
    this.elapsedMillis += millis;
    this.timing.set(u.kb, { started, finished: iso(this.at()) });
  }

  spendReboot(): void {
    this.elapsedMillis += REBOOT_MILLIS;
  }

  outcomeOf(u: ApplicableUpdate): PatchOutcome {
    return this.outcomes.get(u.kb)!;
  }

  /** Leaves an update Pending: what is left of the window is too short for it. */
  exceed(outcome: PatchOutcome): void {
    this.result.maintenanceWindowExceeded = true;
    outcome.error = "not started: the rest of the maintenance window is too short";
  }

  fail(outcome: PatchOutcome, error: unknown): void {
    outcome.state = "Failed";
    outcome.error = isHotpatchError(error) ? error.message : String(error);
  }

  /** Queues the installed-update record of `u`, installed now. */
  record(u: ApplicableUpdate, state: InstalledUpdate["state"]): void {
    this.newRecords.push({
      kb: u.kb,
      month: u.month,
      line: u.line,
      title: u.title,
      classification: u.classification,
      kind: u.installKind,
      baselineMonth: u.baselineMonth,
      imageMonth: u.imageMonth,
      installedAt: iso(this.at()),
      installedBy: INSTALLED_BY,
      state,
      active: true,
      health: null,
    });
  }
}

function selectionOf(u: ApplicableUpdate, request: CheckedRequest): PatchState {
  if (request.exclude.has(u.kb)) return "Excluded";
  return request.include.has(u.kb) || request.classifications.has(u.classification) ? "Pending" : "NotSelected";
}

/** The run's result as phase 3 records it: InProgress, nothing counted yet. */
function newResult(run: InstallRun, request: CheckedRequest, activityId: string): InstallResult {
  return {
    activityId,
    vm: run.vmName,
    trigger: request.trigger,
    ...(request.maintenanceConfigurationId === undefined ? {} : { maintenanceConfigurationId: request.maintenanceConfigurationId }),
    status: "InProgress",
    startDateTime: iso(run.now),
    endDateTime: null,
    maximumDuration: `PT${Math.round(request.maxMillis / 60_000)}M`,
    rebootSetting: request.rebootSetting,
    rebootStatus: "NotNeeded",
    maintenanceWindowExceeded: false,
    installedPatchCount: 0,
    failedPatchCount: 0,
    pendingPatchCount: 0,
    excludedPatchCount: 0,
    notSelectedPatchCount: 0,
    patches: [...run.outcomes.values()],
    reboot: null,
    health: null,
    osBuild: osBuildOf(run.vm, run.session.catalog),
    error: null,
  };
}
