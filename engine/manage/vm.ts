/**
 * Emulated VMs: their configuration, the rules Azure applies to it, and the
 * OS level they run.
 *
 * Contracts:
 * - Hotpatch can be on only for an eligible image (eligibility.ts); it is on
 *   by default when the image is eligible and hotpatch is its default (the
 *   four Azure Edition SKUs). Refusals are E_NOT_ELIGIBLE with every reason.
 * - On Azure a VM has a patch mode: default AutomaticByPlatform when hotpatch
 *   is on (hotpatch requires it), else AutomaticByOS (the Windows default).
 *   Switching between AutomaticByOS and Manual is refused (E_USAGE).
 * - On Azure Stack HCI a VM has no patch mode but a policy source (required).
 * - On an Arc-enabled server (host "arc") a VM has a patch mode, default
 *   AutomaticByOS (hotpatch does not need AutomaticByPlatform there; also
 *   ImageDefault), VBS running or not (`vbs`, default not), and hotpatch
 *   means enrolled: `hotpatch` true with `enrolledAt`, the emulated instant
 *   of the enrolment (arc.ts evaluates it). Enrolling is refused with
 *   E_NOT_ELIGIBLE and every reason when the image is no Arc edition or a
 *   prerequisite (VBS, OS build) does not hold; VBS may be turned off later
 *   (the status becomes ActionRequired). Disenrolling records
 *   `disenrolledAt`. `vbs` on another host is refused (E_USAGE).
 * - A scale set with Uniform orchestration and hotpatch on is refused.
 * - `bypassPlatformSafetyChecksOnUserSchedule` (Azure's customer-managed
 *   schedule flag) can be true only on Azure or an Arc-enabled server with
 *   patch mode AutomaticByPlatform; while it is true automatic patching leaves the VM
 *   alone and only a maintenance configuration patches it (the bypass rules
 *   in maintenance-runs.ts).
 * - A new VM boots the latest baseline released at its creation time; its
 *   OS level (`osMonth`) then moves with installed updates (install.ts).
 * - Validation happens before anything is written: a refused create or set
 *   changes nothing.
 * - A VM's Windows Server generation is its image's (os-generation.ts: a
 *   2025-… SKU is 2025); it boots and is offered its generation's releases,
 *   and its OS build is on its generation's line (26100.N for 2025).
 */
import { HotpatchError } from "../errors.ts";
import { arcPrerequisiteReasons } from "./arc.ts";
import { latestReleaseAt, lineBuildFor, type MonthId, releaseFor } from "./calendar.ts";
import { type CatalogMode, catalogLine, historyMode, osUpdate, unplannedMonths } from "./catalog.ts";
import { iso, storedClock } from "./clock.ts";
import { checkHotpatchEligibility, checkScaleSet, formatImageReference, type Orchestration, parseImageReference } from "./eligibility.ts";
import { type Host, parseHost } from "./host.ts";
import { orchestrationSource, type PatchMode, type PolicySource, parsePatchMode, validatePatchModeChange } from "./patch-mode.ts";
import type { Store } from "./store.ts";
import { validateTimeZone } from "./time-input.ts";
import { formatWindowSpec, parseWindowSpec } from "./window-spec.ts";

/** Our documented default install window: the off-peak hours 22:00-06:00 local. */
export const DEFAULT_WINDOW = "22:00-06:00";
export const DEFAULT_TIME_ZONE = "UTC";
export const DEFAULT_PROCESSES = 2;
export const MAX_PROCESSES = 16;

export interface VmRecord {
  name: string;
  image: string;
  host: Host;
  patchMode: PatchMode | null;
  policySource: PolicySource | null;
  hotpatch: boolean;
  timeZone: string;
  /** Install window, see window-spec.ts. */
  window: string;
  /** Number of kvstore guest processes the VM runs. */
  processes: number;
  scaleSet: Orchestration | null;
  containerBaseImage: boolean;
  customImage: boolean;
  createdAt: string;
  /** The month whose image the processes boot (a baseline, or a cumulative image when hotpatch is off). */
  imageMonth: MonthId;
  /** The newest OS release whose content runs (image or hotpatch). */
  osMonth: MonthId;
  /** Installed with reboot Never: the image to boot at the next reboot. */
  pendingImageMonth: MonthId | null;
  rebootPending: boolean;
  lastAssessmentAt: string | null;
  /** Start of the last install window in which automatic patching ran (auto-patch.ts). */
  lastAutoWindow: string | null;
  /**
   * "fleet": a member of a fleet, patched by the fleet's platform rollouts
   * (engine/fleet/), so a clock advance does not patch it on its own.
   */
  orchestratedBy?: "fleet";
  /** Patched on a customer-managed schedule instead of automatically (absent: false). */
  bypassPlatformSafetyChecksOnUserSchedule?: boolean;
  /** Arc only: virtualization-based security is running (absent: false). */
  vbs?: boolean;
  /** Arc only: when the hotpatch enrolment was requested (null or absent: not enrolled). */
  enrolledAt?: string | null;
  /** Arc only: when the machine last left hotpatch. */
  disenrolledAt?: string | null;
}

export interface VmCreateRequest {
  name: string;
  image: string;
  host?: string;
  patchMode?: string;
  policySource?: string;
  hotpatch?: boolean;
  timeZone?: string;
  window?: string;
  processes?: number;
  scaleSet?: string;
  containerBaseImage?: boolean;
  customImage?: boolean;
  bypassPlatformSafetyChecksOnUserSchedule?: boolean;
  /** Arc only: VBS running. */
  vbs?: boolean;
}

export type VmChange = Partial<
  Pick<VmCreateRequest, "patchMode" | "policySource" | "hotpatch" | "timeZone" | "window" | "processes" | "bypassPlatformSafetyChecksOnUserSchedule" | "vbs">
>;

const NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;

export function getVm(store: Store, name: string): VmRecord {
  const vm = store.vm<VmRecord>(name);
  if (vm === undefined) throw new HotpatchError("E_UNKNOWN_VM", `no VM named "${name}" in ${store.path}`);
  return vm;
}

/** Deletes a VM and every record of it (E_UNKNOWN_VM when there is none). */
export function deleteVm(store: Store, name: string): void {
  getVm(store, name);
  store.deleteVm(name);
}

export function listVms(store: Store): VmRecord[] {
  return store.vms<VmRecord>();
}

/** The VM's OS build, on its generation's line; `catalog` (default: no unplanned months, no history) as the session's. */
export function osBuildOf(vm: VmRecord, catalog: readonly MonthId[] | CatalogMode = []): string {
  return lineBuildFor(vm.osMonth, catalogLine(vm.image, catalog));
}

/** Creates a VM at `now`; `catalog` is the catalog's unplanned baselines, or its mode (session.catalog). */
export function createVm(store: Store, request: VmCreateRequest, now: Date, catalog: readonly MonthId[] | CatalogMode): VmRecord {
  if (!NAME.test(request.name)) {
    throw new HotpatchError("E_USAGE", `"${request.name}" is not a VM name (a letter, then letters, digits or '-', at most 63)`);
  }
  if (store.vm(request.name) !== undefined) throw new HotpatchError("E_VM_EXISTS", `a VM named "${request.name}" already exists`);
  const image = parseImageReference(request.image);
  const host = parseHost(request.host ?? "azure");
  const eligibility = checkHotpatchEligibility(image, {
    host,
    containerBaseImage: request.containerBaseImage,
    customImage: request.customImage,
  });
  // An explicit patch mode other than AutomaticByPlatform turns the default off (hotpatch requires it on Azure).
  const modeAllows = host !== "azure" || request.patchMode === undefined || parsePatchMode(request.patchMode) === "AutomaticByPlatform";
  const hotpatch = request.hotpatch ?? (eligibility.hotpatchDefault && modeAllows);
  if (hotpatch && !eligibility.eligible && host !== "arc") refuse(request.name, eligibility.reasons); // arc: enrol() lists every reason
  refuseVbsOffArc(host, request.vbs);
  const line = catalogLine(request.image, catalog);
  const release = latestReleaseAt(now, line);
  if (release === undefined) throw new HotpatchError("E_USAGE", `no release exists yet at ${iso(now)}`);
  const vm: VmRecord = {
    name: request.name,
    image: formatImageReference(image),
    host,
    patchMode: null,
    policySource: null,
    hotpatch,
    timeZone: validateTimeZone(request.timeZone ?? DEFAULT_TIME_ZONE),
    window: formatWindowSpec(parseWindowSpec(request.window ?? DEFAULT_WINDOW)),
    processes: checkProcesses(request.processes ?? DEFAULT_PROCESSES),
    scaleSet: null,
    containerBaseImage: request.containerBaseImage === true,
    customImage: request.customImage === true,
    createdAt: iso(now),
    imageMonth: release.baselineMonth,
    osMonth: release.baselineMonth,
    pendingImageMonth: null,
    rebootPending: false,
    lastAssessmentAt: null,
    lastAutoWindow: null,
  };
  if (host === "arc") {
    vm.vbs = request.vbs === true;
    vm.hotpatch = false;
    if (hotpatch) enrol(vm, catalog, now);
  }
  orchestrateNew(vm, request.patchMode, request.policySource);
  if (request.bypassPlatformSafetyChecksOnUserSchedule === true) vm.bypassPlatformSafetyChecksOnUserSchedule = true;
  checkUserSchedule(vm);
  if (request.scaleSet !== undefined) {
    const verdict = checkScaleSet({ orchestration: request.scaleSet as Orchestration, image, hotpatch });
    if (!verdict.allowed) refuse(request.name, verdict.reasons);
    vm.scaleSet = request.scaleSet as Orchestration;
  }
  store.tx(() => {
    store.putVm(vm.name, vm);
    const baseline = osUpdate(releaseFor(vm.imageMonth, line));
    store.addInstalled(vm.name, baseline.kb, {
      ...baseline,
      kind: "baseline",
      imageMonth: baseline.month,
      installedAt: vm.createdAt,
      installedBy: "NT AUTHORITY\\SYSTEM",
      state: "Installed",
      active: true,
      health: "Healthy",
      preinstalled: true,
    });
  });
  return vm;
}

/** Changes a VM's settings at `now` (default: the state's clock); the result must satisfy the same rules as a new VM. */
export function setVm(store: Store, name: string, change: VmChange, now: Date = storedClock(store) ?? new Date(0)): VmRecord {
  const vm = { ...getVm(store, name) };
  if (change.timeZone !== undefined) vm.timeZone = validateTimeZone(change.timeZone);
  if (change.window !== undefined) vm.window = formatWindowSpec(parseWindowSpec(change.window));
  if (change.processes !== undefined) vm.processes = checkProcesses(change.processes);
  refuseVbsOffArc(vm.host, change.vbs);
  if (vm.host === "arc") setArc(store, vm, change, now);
  else if (change.hotpatch !== undefined) vm.hotpatch = change.hotpatch;
  orchestrateChange(vm, change.patchMode, change.policySource);
  if (change.bypassPlatformSafetyChecksOnUserSchedule !== undefined) vm.bypassPlatformSafetyChecksOnUserSchedule = change.bypassPlatformSafetyChecksOnUserSchedule;
  checkUserSchedule(vm);
  if (vm.hotpatch) {
    const eligibility = checkHotpatchEligibility(vm.image, {
      host: vm.host,
      containerBaseImage: vm.containerBaseImage,
      customImage: vm.customImage,
      patchMode: vm.patchMode ?? undefined,
    });
    if (!eligibility.eligible) refuse(name, eligibility.reasons);
    if (vm.scaleSet === "Uniform") refuse(name, checkScaleSet({ orchestration: "Uniform", image: vm.image, hotpatch: true }).reasons);
  }
  store.putVm(vm.name, vm);
  return vm;
}

/** Arc: VBS first, then enrolment (refused unless eligible now) or disenrolment. */
function setArc(store: Store, vm: VmRecord, change: VmChange, now: Date): void {
  if (change.vbs !== undefined) vm.vbs = change.vbs;
  if (change.hotpatch === true && !vm.hotpatch) enrol(vm, { unplanned: unplannedMonths(store), history: historyMode(store) }, now);
  if (change.hotpatch === false && vm.hotpatch) {
    vm.hotpatch = false;
    vm.enrolledAt = null;
    vm.disenrolledAt = iso(now);
  }
}

/** Enrols an Arc machine in hotpatch at `now`: E_NOT_ELIGIBLE with every reason (image, VBS, OS build) unless it can run it. */
function enrol(vm: VmRecord, catalog: readonly MonthId[] | CatalogMode, now: Date): void {
  const reasons = [
    ...checkHotpatchEligibility(vm.image, { host: "arc", containerBaseImage: vm.containerBaseImage, customImage: vm.customImage }).reasons,
    ...arcPrerequisiteReasons(vm, catalogLine(vm.image, catalog)),
  ];
  if (reasons.length > 0) refuse(vm.name, reasons);
  vm.hotpatch = true;
  vm.enrolledAt = iso(now);
}

function refuseVbsOffArc(host: Host, vbs: boolean | undefined): void {
  if (vbs !== undefined && host !== "arc") throw new HotpatchError("E_USAGE", `--vbs applies to Arc-enabled servers (host arc), not to host ${host}`);
}

/** A new VM's orchestration: the patch mode or policy source the request names, else the defaults. */
function orchestrateNew(vm: VmRecord, patchMode: string | undefined, policySource: string | undefined): void {
  if (vm.host === "azure-stack-hci") {
    refuseHciPatchMode(patchMode);
    vm.policySource = orchestrationSource(vm.host, policySource).source as PolicySource;
    return;
  }
  orchestrationSource(vm.host, policySource); // refuses a policy source on Azure and Arc
  if (patchMode === undefined) vm.patchMode = vm.hotpatch && vm.host === "azure" ? "AutomaticByPlatform" : "AutomaticByOS";
  else setPatchMode(vm, patchMode);
}

/** A changed VM's orchestration: only what the change names. */
function orchestrateChange(vm: VmRecord, patchMode: string | undefined, policySource: string | undefined): void {
  if (vm.host === "azure-stack-hci") {
    refuseHciPatchMode(patchMode);
    if (policySource !== undefined) vm.policySource = orchestrationSource(vm.host, policySource).source as PolicySource;
    return;
  }
  orchestrationSource(vm.host, policySource); // refuses a policy source on Azure
  if (patchMode !== undefined) setPatchMode(vm, patchMode);
}

function refuseHciPatchMode(patchMode: string | undefined): void {
  if (patchMode !== undefined) {
    throw new HotpatchError("E_USAGE", "patch modes apply to Azure VMs; on Azure Stack HCI orchestration comes from --policy-source");
  }
}

function setPatchMode(vm: VmRecord, patchMode: string): void {
  const mode = parsePatchMode(patchMode);
  // Arc machines also take ImageDefault (HybridCompute's patch modes); the AutomaticByOS <-> Manual rule holds everywhere.
  const arcImageDefault = vm.host === "arc" && (mode === "ImageDefault" || vm.patchMode === "ImageDefault");
  if (!arcImageDefault) validatePatchModeChange(vm.patchMode ?? mode, mode);
  if (vm.hotpatch && vm.host === "azure" && mode !== "AutomaticByPlatform") {
    refuse(vm.name, [`the patch mode is ${mode}, but hotpatch on Azure requires AutomaticByPlatform`]);
  }
  vm.patchMode = mode;
}

/** Whether the VM is patched on a customer-managed schedule (the flag; see maintenance-runs.ts for what runs). */
export function onUserSchedule(vm: VmRecord): boolean {
  return vm.bypassPlatformSafetyChecksOnUserSchedule === true;
}

/**
 * Why the VM's settings cannot go with a customer-managed schedule (null when
 * they can): only Azure VMs and Arc-enabled servers with patch mode
 * AutomaticByPlatform. The one rule behind the flag's refusal here and the
 * "prerequisites not met" of a run (maintenance-runs.ts).
 */
export function userScheduleProblem(vm: VmRecord): string | null {
  if (vm.host !== "azure" && vm.host !== "arc") return `host ${vm.host}`;
  return vm.patchMode === "AutomaticByPlatform" ? null : `patch mode ${vm.patchMode}`;
}

function checkUserSchedule(vm: VmRecord): void {
  const mode = userScheduleProblem(vm);
  if (onUserSchedule(vm) && mode !== null) {
    throw new HotpatchError(
      "E_USAGE",
      `VM ${vm.name}: bypassPlatformSafetyChecksOnUserSchedule applies only to Azure VMs and Arc-enabled servers with patch mode AutomaticByPlatform, not with ${mode}`,
    );
  }
}

function checkProcesses(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PROCESSES) {
    throw new HotpatchError("E_USAGE", `--processes must be a whole number from 1 to ${MAX_PROCESSES}, not ${n}`);
  }
  return n;
}

function refuse(name: string, reasons: string[]): never {
  throw new HotpatchError("E_NOT_ELIGIBLE", `VM ${name} cannot run hotpatch: ${reasons.join("; ")}`);
}
