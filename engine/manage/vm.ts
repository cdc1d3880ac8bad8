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
 * - A scale set with Uniform orchestration and hotpatch on is refused.
 * - `bypassPlatformSafetyChecksOnUserSchedule` (Azure's customer-managed
 *   schedule flag) can be true only on Azure with patch mode
 *   AutomaticByPlatform; while it is true automatic patching leaves the VM
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
import { latestReleaseAt, lineBuildFor, type MonthId, releaseFor } from "./calendar.ts";
import { type CatalogMode, catalogLine, osUpdate } from "./catalog.ts";
import { iso } from "./clock.ts";
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
}

export type VmChange = Partial<
  Pick<VmCreateRequest, "patchMode" | "policySource" | "hotpatch" | "timeZone" | "window" | "processes" | "bypassPlatformSafetyChecksOnUserSchedule">
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
  if (hotpatch && !eligibility.eligible) refuse(request.name, eligibility.reasons);
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

/** Changes a VM's settings; the result must satisfy the same rules as a new VM. */
export function setVm(store: Store, name: string, change: VmChange): VmRecord {
  const vm = { ...getVm(store, name) };
  if (change.timeZone !== undefined) vm.timeZone = validateTimeZone(change.timeZone);
  if (change.window !== undefined) vm.window = formatWindowSpec(parseWindowSpec(change.window));
  if (change.processes !== undefined) vm.processes = checkProcesses(change.processes);
  if (change.hotpatch !== undefined) vm.hotpatch = change.hotpatch;
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

/** Sets patch mode / policy source per host; `creating` allows the defaults. */
/** A new VM's orchestration: the patch mode or policy source the request names, else the defaults. */
function orchestrateNew(vm: VmRecord, patchMode: string | undefined, policySource: string | undefined): void {
  if (vm.host === "azure-stack-hci") {
    refuseHciPatchMode(patchMode);
    vm.policySource = orchestrationSource(vm.host, policySource).source as PolicySource;
    return;
  }
  orchestrationSource(vm.host, policySource); // refuses a policy source on Azure
  if (patchMode === undefined) vm.patchMode = vm.hotpatch ? "AutomaticByPlatform" : "AutomaticByOS";
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
  validatePatchModeChange(vm.patchMode ?? mode, mode);
  if (vm.hotpatch && mode !== "AutomaticByPlatform") {
    refuse(vm.name, [`the patch mode is ${mode}, but hotpatch on Azure requires AutomaticByPlatform`]);
  }
  vm.patchMode = mode;
}

/** Whether the VM is patched on a customer-managed schedule (the flag; see maintenance-runs.ts for what runs). */
export function onUserSchedule(vm: VmRecord): boolean {
  return vm.bypassPlatformSafetyChecksOnUserSchedule === true;
}

function checkUserSchedule(vm: VmRecord): void {
  if (onUserSchedule(vm) && (vm.host !== "azure" || vm.patchMode !== "AutomaticByPlatform")) {
    const mode = vm.host === "azure" ? `patch mode ${vm.patchMode}` : `host ${vm.host}`;
    throw new HotpatchError(
      "E_USAGE",
      `VM ${vm.name}: bypassPlatformSafetyChecksOnUserSchedule applies only to Azure VMs with patch mode AutomaticByPlatform, not with ${mode}`,
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
