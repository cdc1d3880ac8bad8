/**
 * Microsoft.Compute virtualMachines ↔ the management plane: the PUT body read
 * and validated (before anything is written), the VM resource and its
 * instance view as ARM shows them.
 *
 * Emulator-only settings travel as ARM tags (kept and shown like any tag):
 * - `hotpatch-timezone`: IANA time zone of the VM's install window (→ timeZone);
 * - `hotpatch-window`: the install window, e.g. "22:00-06:00" (→ window);
 * - `hotpatch-processes`: how many guest processes the VM runs, an integer
 *   string "1".."16" (→ processes).
 *
 * Contracts:
 * - `adminPassword` is accepted and dropped: never stored, never returned.
 * - ARM's cross-field rules are checked on the settings the VM would have
 *   after the PUT (request over current): hotpatch needs patchMode
 *   AutomaticByPlatform; so does bypassPlatformSafetyChecksOnUserSchedule
 *   (the customer-managed schedule flag, kept by the management plane: with
 *   it a VM is patched by its maintenance configurations only, hotpatch or
 *   not). Refusals are 400 InvalidParameter with target.
 * - Image eligibility is the management plane's (E_NOT_ELIGIBLE → 400).
 * - The instance view's osName and osVersion are the VM's generation's
 *   (os-generation.ts: a 2025-… image runs "Windows Server 2025 Datacenter:
 *   Azure Edition", build 26100.N); imageReference.exactVersion is its build.
 * - A summary of the instance view's patch status shows only what is known:
 *   without an assessment (installation) it is `{ status: "Unknown" }`.
 */
import { parseScaleSetRef } from "./scale-sets.ts";
import { ArmError, invalidParameter } from "./arm-error.ts";
import type { VmArmDoc } from "./resources.ts";
import {
  type Json,
  optionalBoolean,
  optionalEnum,
  optionalObject,
  optionalString,
  optionalStringArray,
  optionalTags,
  readObject,
  requiredString,
} from "./routes/validate.ts";
import { type createVm, OS_LINES, osBuildOf, osOfImage, type Session, type Store, type setVm, type VmRecord } from "../manage/index.ts";

type VmCreateRequest = Parameters<typeof createVm>[1];

export const TAG_TIME_ZONE = "hotpatch-timezone";
export const TAG_WINDOW = "hotpatch-window";
export const TAG_PROCESSES = "hotpatch-processes";

export const OS_NAME = "Windows Server 2022 Datacenter: Azure Edition";

/** The OS name a VM of this image shows. */
export function osNameOf(image: string): string {
  return OS_LINES[osOfImage(image)].edition;
}
export const VM_AGENT_VERSION = "2.7.41491.1010";

const PATCH_MODES = ["AutomaticByPlatform", "AutomaticByOS", "Manual"] as const;
const ASSESSMENT_MODES = ["ImageDefault", "AutomaticByPlatform"] as const;
const REBOOT_SETTINGS = ["Unknown", "IfRequired", "Never", "Always"] as const;

const WINDOWS = "properties.osProfile.windowsConfiguration";
const PATCH = `${WINDOWS}.patchSettings`;
const BY_PLATFORM = `${PATCH}.automaticByPlatformSettings`;
const IMAGE = "properties.storageProfile.imageReference";

export interface ImageRef {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

/** A validated PUT body; undefined means "not given". */
export interface VmPut {
  location: string;
  zones?: string[];
  /** properties.availabilitySet.id, an availabilitySets resource id. */
  availabilitySet?: string;
  /** properties.virtualMachineScaleSet.id, a Flexible scale set's id, and the fault domain asked for in it (scale-sets.ts). */
  virtualMachineScaleSet?: string;
  platformFaultDomain?: number;
  tags?: Record<string, string>;
  image?: ImageRef;
  vmSize?: string;
  computerName?: string;
  adminUsername?: string;
  provisionVMAgent?: boolean;
  enableAutomaticUpdates?: boolean;
  patchMode?: (typeof PATCH_MODES)[number];
  enableHotpatching?: boolean;
  assessmentMode?: (typeof ASSESSMENT_MODES)[number];
  rebootSetting?: (typeof REBOOT_SETTINGS)[number];
  bypassPlatformSafetyChecksOnUserSchedule?: boolean;
  timeZone?: string;
  window?: string;
  processes?: number;
}

/** Reads and type-checks the PUT body (shape only; see `checkPatchRules` for the cross-field rules). */
export function parseVmPut(body: unknown): VmPut {
  const root = readObject(body, "parameters");
  const location = requiredString(root, "location");
  const zones = optionalStringArray(root, "zones", "zones", 3);
  zones?.forEach((z, i) => {
    if (!["1", "2", "3"].includes(z)) throw invalidParameter(`The zone '${z}' is not valid; zones are "1", "2" or "3".`, `zones[${i}]`);
  });
  const tags = optionalTags(root);
  const properties = optionalObject(root, "properties") ?? {};
  const availabilitySet = parseAvailabilitySet(properties, zones);
  const storage = optionalObject(properties, "storageProfile", "properties.storageProfile") ?? {};
  const imageJson = optionalObject(storage, "imageReference", IMAGE);
  const hardware = optionalObject(properties, "hardwareProfile", "properties.hardwareProfile") ?? {};
  const os = optionalObject(properties, "osProfile", "properties.osProfile") ?? {};
  optionalString(os, "adminPassword", "properties.osProfile.adminPassword"); // type-checked, then dropped
  const windows = optionalObject(os, "windowsConfiguration", WINDOWS) ?? {};
  const patch = optionalObject(windows, "patchSettings", PATCH) ?? {};
  const byPlatform = optionalObject(patch, "automaticByPlatformSettings", BY_PLATFORM) ?? {};
  const put: VmPut = {
    location,
    zones,
    availabilitySet,
    ...parseScaleSetRef(properties, availabilitySet),
    tags,
    image: imageJson === undefined ? undefined : parseImage(imageJson),
    vmSize: optionalString(hardware, "vmSize", "properties.hardwareProfile.vmSize"),
    computerName: optionalString(os, "computerName", "properties.osProfile.computerName"),
    adminUsername: optionalString(os, "adminUsername", "properties.osProfile.adminUsername"),
    provisionVMAgent: optionalBoolean(windows, "provisionVMAgent", `${WINDOWS}.provisionVMAgent`),
    enableAutomaticUpdates: optionalBoolean(windows, "enableAutomaticUpdates", `${WINDOWS}.enableAutomaticUpdates`),
    patchMode: optionalEnum(patch, "patchMode", PATCH_MODES, `${PATCH}.patchMode`),
    enableHotpatching: optionalBoolean(patch, "enableHotpatching", `${PATCH}.enableHotpatching`),
    assessmentMode: optionalEnum(patch, "assessmentMode", ASSESSMENT_MODES, `${PATCH}.assessmentMode`),
    rebootSetting: optionalEnum(byPlatform, "rebootSetting", REBOOT_SETTINGS, `${BY_PLATFORM}.rebootSetting`),
    bypassPlatformSafetyChecksOnUserSchedule: optionalBoolean(
      byPlatform,
      "bypassPlatformSafetyChecksOnUserSchedule",
      `${BY_PLATFORM}.bypassPlatformSafetyChecksOnUserSchedule`,
    ),
    ...emulatorTags(tags),
  };
  return put;
}

const AVAILABILITY_SET_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/availabilitySets\/[^/]+$/i;

/**
 * `properties.availabilitySet: { id }`: the id of an availabilitySets resource (its shape is
 * checked here; that the set exists, in the VM's location, when the VM is created:
 * availability-sets.ts). A VM is in a zone or in a set, never both (ARM refuses both).
 */
function parseAvailabilitySet(properties: Json, zones: string[] | undefined): string | undefined {
  const set = optionalObject(properties, "availabilitySet", "properties.availabilitySet");
  if (set === undefined) return undefined;
  const id = requiredString(set, "id", "properties.availabilitySet.id");
  if (!AVAILABILITY_SET_ID.test(id)) {
    throw invalidParameter(`'${id.slice(0, 200)}' is not an availability set id: /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/availabilitySets/{name}.`, "properties.availabilitySet.id");
  }
  if (zones !== undefined && zones.length > 0) {
    throw invalidParameter(
      "The virtual machine cannot be created because both an availability zone and an availability set were specified; an availability set cannot be deployed in an availability zone.",
      "properties.availabilitySet",
    );
  }
  return id;
}

function parseImage(json: Json): ImageRef {
  return {
    publisher: requiredString(json, "publisher", `${IMAGE}.publisher`),
    offer: requiredString(json, "offer", `${IMAGE}.offer`),
    sku: requiredString(json, "sku", `${IMAGE}.sku`),
    version: optionalString(json, "version", `${IMAGE}.version`) ?? "latest",
  };
}

export function emulatorTags(tags: Record<string, string> | undefined): Pick<VmPut, "timeZone" | "window" | "processes"> {
  if (tags === undefined) return {};
  const out: Pick<VmPut, "timeZone" | "window" | "processes"> = {};
  if (tags[TAG_TIME_ZONE] !== undefined) out.timeZone = tags[TAG_TIME_ZONE];
  if (tags[TAG_WINDOW] !== undefined) out.window = tags[TAG_WINDOW];
  const processes = tags[TAG_PROCESSES];
  if (processes !== undefined) {
    if (!/^\d{1,3}$/.test(processes)) throw invalidParameter(`The tag '${TAG_PROCESSES}' must be a whole number, not '${processes}'.`, `tags.${TAG_PROCESSES}`);
    out.processes = Number(processes);
  }
  return out;
}

/** ARM's cross-field patch rules on the settings after the PUT (`current` for an update). */
export function checkPatchRules(put: VmPut, current?: { vm: VmRecord; doc: VmArmDoc }): void {
  const hotpatch = put.enableHotpatching ?? current?.vm.hotpatch ?? false;
  const patchMode = put.patchMode ?? current?.vm.patchMode ?? undefined;
  const bypass = put.bypassPlatformSafetyChecksOnUserSchedule ?? current?.doc.bypassPlatformSafetyChecksOnUserSchedule ?? false;
  if (hotpatch && patchMode !== undefined && patchMode !== "AutomaticByPlatform") {
    // ARM's own text and target for this refusal.
    throw invalidParameter(
      "EnableHotpatching cannot be set to true. For enableHotpatching, the 'provisionVMAgent' must be set to true and 'patchMode' must be set to 'AutomaticByPlatform'.",
      `${PATCH}.enableHotpatching`,
    );
  }
  if (bypass && patchMode !== undefined && patchMode !== "AutomaticByPlatform") {
    throw invalidParameter(
      `bypassPlatformSafetyChecksOnUserSchedule can be true only with patchMode AutomaticByPlatform, not ${patchMode}.`,
      `${BY_PLATFORM}.bypassPlatformSafetyChecksOnUserSchedule`,
    );
  }
}

/** The management plane's create request for a PUT that creates `name`. */
export function createRequestOf(name: string, put: VmPut): VmCreateRequest {
  if (put.image === undefined) throw invalidParameter(`Required parameter '${IMAGE}' is missing (null).`, IMAGE);
  const { publisher, offer, sku, version } = put.image;
  const image = `${publisher}:${offer}:${sku}${version.toLowerCase() === "latest" ? "" : `:${version}`}`;
  return {
    name,
    image,
    ...(put.patchMode === undefined ? {} : { patchMode: put.patchMode }),
    ...(put.enableHotpatching === undefined ? {} : { hotpatch: put.enableHotpatching }),
    ...(put.timeZone === undefined ? {} : { timeZone: put.timeZone }),
    ...(put.window === undefined ? {} : { window: put.window }),
    ...(put.processes === undefined ? {} : { processes: put.processes }),
    ...(put.virtualMachineScaleSet === undefined ? {} : { scaleSet: "Flexible" }),
    ...(put.bypassPlatformSafetyChecksOnUserSchedule === undefined ? {} : { bypassPlatformSafetyChecksOnUserSchedule: put.bypassPlatformSafetyChecksOnUserSchedule }),
  };
}

export type VmChange = Parameters<typeof setVm>[2];

/** The management plane's change for a PUT over an existing VM (only what differs). */
export function changeOf(put: VmPut, vm: VmRecord): VmChange {
  const change: VmChange = {};
  if (put.patchMode !== undefined && put.patchMode !== vm.patchMode) change.patchMode = put.patchMode;
  if (put.enableHotpatching !== undefined && put.enableHotpatching !== vm.hotpatch) change.hotpatch = put.enableHotpatching;
  if (put.timeZone !== undefined) change.timeZone = put.timeZone;
  if (put.window !== undefined) change.window = put.window;
  if (put.processes !== undefined) change.processes = put.processes;
  const bypass = put.bypassPlatformSafetyChecksOnUserSchedule;
  if (bypass !== undefined && bypass !== (vm.bypassPlatformSafetyChecksOnUserSchedule === true)) change.bypassPlatformSafetyChecksOnUserSchedule = bypass;
  return change;
}

/** Refuses a PUT that names another image than the VM's (ARM: the image cannot change). */
export function checkImageUnchanged(put: VmPut, vm: VmRecord): void {
  if (put.image === undefined) return;
  const current = imageOf(vm);
  const same = (["publisher", "offer", "sku"] as const).every((k) => put.image?.[k].toLowerCase() === current[k].toLowerCase());
  const sameVersion = put.image.version.toLowerCase() === current.version.toLowerCase();
  if (!same || !sameVersion) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'imageReference' is not allowed.", IMAGE);
  }
}

/** Refuses a PUT that moves the VM into, out of or between availability sets or zones (ARM: placement is fixed at creation). */
export function checkPlacementUnchanged(put: VmPut, doc: VmArmDoc): void {
  if (put.availabilitySet !== undefined && put.availabilitySet.toLowerCase() !== (doc.availabilitySet ?? "").toLowerCase()) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'availabilitySet.id' is not allowed.", "properties.availabilitySet.id");
  }
  if (put.virtualMachineScaleSet !== undefined && put.virtualMachineScaleSet.toLowerCase() !== (doc.virtualMachineScaleSet ?? "").toLowerCase()) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'virtualMachineScaleSet.id' is not allowed.", "properties.virtualMachineScaleSet.id");
  }
  if (put.platformFaultDomain !== undefined && put.platformFaultDomain !== doc.faultDomain) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'platformFaultDomain' is not allowed.", "properties.platformFaultDomain");
  }
  if (put.zones !== undefined && [...put.zones].sort().join() !== [...doc.zones].sort().join()) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'zones' is not allowed.", "zones");
  }
}

/** The ARM document after a PUT: `existing` (update) or new defaults (create) with what the body names. */
export function applyPut(doc: VmArmDoc, put: VmPut): VmArmDoc {
  return {
    ...doc,
    zones: put.zones ?? doc.zones,
    availabilitySet: put.availabilitySet ?? doc.availabilitySet,
    virtualMachineScaleSet: put.virtualMachineScaleSet ?? doc.virtualMachineScaleSet ?? null,
    tags: put.tags ?? doc.tags,
    vmSize: put.vmSize ?? doc.vmSize,
    computerName: put.computerName ?? doc.computerName,
    ...(put.adminUsername === undefined ? {} : { adminUsername: put.adminUsername }),
    provisionVMAgent: put.provisionVMAgent ?? doc.provisionVMAgent,
    enableAutomaticUpdates: put.enableAutomaticUpdates ?? doc.enableAutomaticUpdates,
    assessmentMode: put.assessmentMode ?? doc.assessmentMode,
    rebootSetting: put.rebootSetting ?? doc.rebootSetting,
    bypassPlatformSafetyChecksOnUserSchedule: put.bypassPlatformSafetyChecksOnUserSchedule ?? doc.bypassPlatformSafetyChecksOnUserSchedule,
  };
}

export function imageOf(vm: VmRecord): ImageRef {
  const [publisher = "", offer = "", sku = "", version = "latest"] = vm.image.split(":");
  return { publisher, offer, sku, version };
}

export function vmResourceId(doc: VmArmDoc): string {
  return `/subscriptions/${doc.subscription}/resourceGroups/${doc.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${doc.vm}`;
}

/** The VM resource as GET/PUT answer it. */
export function vmResource(vm: VmRecord, doc: VmArmDoc, instanceView?: Json, catalog?: Session["catalog"]): Json {
  return {
    id: vmResourceId(doc),
    name: doc.vm,
    type: "Microsoft.Compute/virtualMachines",
    location: doc.location,
    ...(doc.zones.length > 0 ? { zones: doc.zones } : {}),
    tags: doc.tags,
    properties: {
      vmId: doc.vmId,
      timeCreated: doc.timeCreated,
      provisioningState: "Succeeded",
      ...(doc.availabilitySet === null ? {} : { availabilitySet: { id: doc.availabilitySet } }),
      ...(doc.virtualMachineScaleSet ? { virtualMachineScaleSet: { id: doc.virtualMachineScaleSet }, ...(doc.faultDomain == null ? {} : { platformFaultDomain: doc.faultDomain }) } : {}),
      hardwareProfile: { vmSize: doc.vmSize },
      storageProfile: {
        imageReference: { ...imageOf(vm), exactVersion: osBuildOf(vm, catalog) },
        osDisk: { osType: "Windows" },
      },
      osProfile: {
        computerName: doc.computerName,
        ...(doc.adminUsername === undefined ? {} : { adminUsername: doc.adminUsername }),
        windowsConfiguration: {
          provisionVMAgent: doc.provisionVMAgent,
          enableAutomaticUpdates: doc.enableAutomaticUpdates,
          patchSettings: {
            ...(vm.patchMode === null ? {} : { patchMode: vm.patchMode }),
            enableHotpatching: vm.hotpatch,
            assessmentMode: doc.assessmentMode,
            automaticByPlatformSettings: {
              rebootSetting: doc.rebootSetting,
              bypassPlatformSafetyChecksOnUserSchedule: vm.bypassPlatformSafetyChecksOnUserSchedule ?? doc.bypassPlatformSafetyChecksOnUserSchedule,
            },
          },
        },
      },
      ...(instanceView === undefined ? {} : { instanceView }),
    },
  };
}

/** What the instance view is built from: vmStatus and the latest activities. */
export interface InstanceViewInputs {
  status: {
    /** The VM (its image names its OS); without it the OS is 2022's. */
    vm?: { image: string };
    osBuild: string;
    availablePatchSummary: { rebootPending: boolean };
  };
  assessment?: {
    assessmentActivityId: string;
    startDateTime: string;
    rebootPending: boolean;
    criticalAndSecurityPatchCount: number;
    otherPatchCount: number;
  };
  installation?: {
    activityId: string;
    status: string;
    startDateTime: string;
    endDateTime: string | null;
    maintenanceWindowExceeded: boolean;
    notSelectedPatchCount: number;
    excludedPatchCount: number;
    pendingPatchCount: number;
    installedPatchCount: number;
    failedPatchCount: number;
  };
}

/** The latest assessment and installation of a VM, from the store. */
export function latestActivities(store: Store, vm: string): Pick<InstanceViewInputs, "assessment" | "installation"> {
  return {
    assessment: store.latestActivity<NonNullable<InstanceViewInputs["assessment"]>>(vm, "Assessment"),
    installation: store.latestActivity<NonNullable<InstanceViewInputs["installation"]>>(vm, "Installation"),
  };
}

export function instanceViewOf(doc: VmArmDoc, inputs: InstanceViewInputs): Json {
  const { status, assessment, installation } = inputs;
  const availablePatchSummary = assessment
    ? {
        status: "Succeeded",
        assessmentActivityId: assessment.assessmentActivityId,
        rebootPending: status.availablePatchSummary.rebootPending,
        criticalAndSecurityPatchCount: assessment.criticalAndSecurityPatchCount,
        otherPatchCount: assessment.otherPatchCount,
        startTime: assessment.startDateTime,
        lastModifiedTime: assessment.startDateTime,
      }
    : { status: "Unknown", rebootPending: status.availablePatchSummary.rebootPending };
  const lastPatchInstallationSummary = installation
    ? {
        status: installation.status,
        installationActivityId: installation.activityId,
        maintenanceWindowExceeded: installation.maintenanceWindowExceeded,
        notSelectedPatchCount: installation.notSelectedPatchCount,
        excludedPatchCount: installation.excludedPatchCount,
        pendingPatchCount: installation.pendingPatchCount,
        installedPatchCount: installation.installedPatchCount,
        failedPatchCount: installation.failedPatchCount,
        startTime: installation.startDateTime,
        lastModifiedTime: installation.endDateTime ?? installation.startDateTime,
      }
    : { status: "Unknown" };
  return {
    ...(doc.updateDomain === null || doc.updateDomain === undefined ? {} : { platformUpdateDomain: doc.updateDomain }),
    ...(doc.faultDomain === null || doc.faultDomain === undefined ? {} : { platformFaultDomain: doc.faultDomain }),
    computerName: doc.computerName,
    osName: status.vm === undefined ? OS_NAME : osNameOf(status.vm.image),
    osVersion: status.osBuild,
    vmAgent: {
      vmAgentVersion: VM_AGENT_VERSION,
      statuses: [{ code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Ready", message: "GuestAgent is running and processing the extensions." }],
    },
    statuses: [
      { code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Provisioning succeeded", time: doc.timeCreated },
      { code: "PowerState/running", level: "Info", displayStatus: "VM running" },
    ],
    patchStatus: {
      availablePatchSummary,
      lastPatchInstallationSummary,
      configurationStatuses: [{ code: "PatchModeConfigurationState/Ready", level: "Info", displayStatus: "Provisioning succeeded" }],
    },
  };
}
