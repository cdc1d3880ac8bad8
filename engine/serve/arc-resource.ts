/**
 * Microsoft.HybridCompute machines (Arc-enabled servers) and their license
 * profile ↔ the management plane: the bodies read and validated (before
 * anything is written), and the resources as ARM shows them. An Arc machine
 * is a management-plane VM with host "arc" (engine/manage/arc.ts) and the
 * same ARM document as a Compute VM (resources.ts), so placement, tags,
 * dynamic scopes and maintenance configurations treat both alike.
 *
 * Shapes followed, from azure-rest-api-specs
 * `specification/hybridcompute/resource-manager/Microsoft.HybridCompute/stable/2025-01-13`
 * (the latest stable license profile; examples LicenseProfile_CreateOrUpdate
 * and LicenseProfile_Update, Machines_Get), which is why 2025-01-13 is among
 * the registered api-versions:
 * - license profile PUT/PATCH body: `properties.productProfile` {
 *   `productType` "WindowsServer", `subscriptionStatus`?, `productFeatures`
 *   [{ `name` "Hotpatch", `subscriptionStatus` }] }; the spec's create
 *   example sends "Enabled", its update example "Enable": both are taken
 *   (and "Disable" / "Disabled"). `softwareAssurance.softwareAssuranceCustomer`
 *   is kept and shown. Another product type or feature name is 400.
 * - license profile answer: `productProfile.subscriptionStatus` and the
 *   Hotpatch feature's are "Enabling" while the enrolment is evaluated (10
 *   emulated minutes), then "Enabled"; "Disabled" after disenrolment; with
 *   `enrollmentDate`, `billingStartDate` (when in effect: Hotpatch on Arc is
 *   a paid subscription feature billed through Azure) and `disenrollmentDate`.
 *   provisioningState is Succeeded at once, so an SDK poller ends.
 * - machine: `properties.status` "Connected", `osName` "windows", `osType`
 *   "windows", `osVersion` "10.0.<build>", `osSku` the edition,
 *   `osProfile.windowsConfiguration.patchSettings` { assessmentMode,
 *   patchMode, enableHotpatching, status.hotpatchEnablementStatus (with
 *   `error.details` naming the reasons when not Enabled) } and
 *   `licenseProfile.productProfile` (the instance view).
 *
 * Emulator-only settings travel as tags, like the Compute ones
 * (`hotpatch-timezone`, `hotpatch-window`, `hotpatch-processes`):
 * - `hotpatch-image`: the image reference the server stands for (default
 *   DEFAULT_ARC_IMAGE), fixed at creation;
 * - `hotpatch-vbs`: "running" or "off" (default off): virtualization-based security.
 *
 * Contracts:
 * - `enableHotpatching` on the machine mirrors the enrolment: true while not
 *   enrolled is refused with E_NOT_ELIGIBLE (not enrolled: enrol through
 *   licenseProfiles/default), false while enrolled with 400 (disenrol there).
 * - bypassPlatformSafetyChecksOnUserSchedule (automaticByPlatformSettings,
 *   as on Compute) is accepted: Azure Update Manager's customer-managed
 *   schedules patch Arc machines by the same rule (vm.ts, maintenance-runs.ts).
 */
import { ArmError, invalidParameter } from "./arm-error.ts";
import type { VmArmDoc } from "./resources.ts";
import { emulatorTags, osNameOf } from "./vm-resource.ts";
import { type Json, optionalArray, optionalBoolean, optionalEnum, optionalObject, optionalString, optionalTags, readObject, requiredString } from "./routes/validate.ts";
import { HotpatchError } from "../errors.ts";
import { arcEdition, osBuildOf, type Session, type VmRecord, type vmStatus } from "../manage/index.ts";

export const TAG_IMAGE = "hotpatch-image";
export const TAG_VBS = "hotpatch-vbs";
export const DEFAULT_ARC_IMAGE = "MicrosoftWindowsServer:WindowsServer:2025-datacenter";
export const AGENT_VERSION = "1.50.03002.2177";

const PATCH_MODES = ["AutomaticByPlatform", "AutomaticByOS", "Manual", "ImageDefault"] as const;
const ASSESSMENT_MODES = ["ImageDefault", "AutomaticByPlatform"] as const;
const REBOOT_SETTINGS = ["Unknown", "IfRequired", "Never", "Always"] as const;
const FEATURE_STATUSES = ["Enable", "Enabled", "Disable", "Disabled"] as const;
const PATCH = "properties.osProfile.windowsConfiguration.patchSettings";
const BY_PLATFORM = `${PATCH}.automaticByPlatformSettings`;
const PRODUCT = "properties.productProfile";

/** A validated machine PUT; undefined means "not given". */
export interface ArcPut {
  location: string;
  tags?: Record<string, string>;
  image?: string;
  vbs?: boolean;
  patchMode?: (typeof PATCH_MODES)[number];
  assessmentMode?: (typeof ASSESSMENT_MODES)[number];
  enableHotpatching?: boolean;
  rebootSetting?: (typeof REBOOT_SETTINGS)[number];
  bypassPlatformSafetyChecksOnUserSchedule?: boolean;
  timeZone?: string;
  window?: string;
  processes?: number;
}

/** Reads and type-checks a machine PUT body. */
export function parseArcPut(body: unknown): ArcPut {
  const root = readObject(body, "parameters");
  const tags = optionalTags(root);
  const properties = optionalObject(root, "properties") ?? {};
  const os = optionalObject(properties, "osProfile", "properties.osProfile") ?? {};
  const windows = optionalObject(os, "windowsConfiguration", "properties.osProfile.windowsConfiguration") ?? {};
  const patch = optionalObject(windows, "patchSettings", PATCH) ?? {};
  const byPlatform = optionalObject(patch, "automaticByPlatformSettings", BY_PLATFORM) ?? {};
  const vbs = tags?.[TAG_VBS];
  if (vbs !== undefined && vbs !== "running" && vbs !== "off") throw invalidParameter(`The tag '${TAG_VBS}' must be 'running' or 'off', not '${vbs}'.`, `tags.${TAG_VBS}`);
  return {
    location: requiredString(root, "location"),
    tags,
    ...(tags?.[TAG_IMAGE] === undefined ? {} : { image: tags[TAG_IMAGE] }),
    ...(vbs === undefined ? {} : { vbs: vbs === "running" }),
    patchMode: optionalEnum(patch, "patchMode", PATCH_MODES, `${PATCH}.patchMode`),
    assessmentMode: optionalEnum(patch, "assessmentMode", ASSESSMENT_MODES, `${PATCH}.assessmentMode`),
    enableHotpatching: optionalBoolean(patch, "enableHotpatching", `${PATCH}.enableHotpatching`),
    rebootSetting: optionalEnum(byPlatform, "rebootSetting", REBOOT_SETTINGS, `${BY_PLATFORM}.rebootSetting`),
    bypassPlatformSafetyChecksOnUserSchedule: optionalBoolean(byPlatform, "bypassPlatformSafetyChecksOnUserSchedule", `${BY_PLATFORM}.bypassPlatformSafetyChecksOnUserSchedule`),
    ...emulatorTags(tags),
  };
}

/** Refuses an `enableHotpatching` that disagrees with the enrolment (see the contract). */
export function checkHotpatchIntent(name: string, put: ArcPut, enrolled: boolean): void {
  if (put.enableHotpatching === true && !enrolled) {
    throw new HotpatchError("E_NOT_ELIGIBLE", `VM ${name} cannot run hotpatch: the machine is not enrolled in hotpatch; enrol through its license profile (licenseProfiles/default, productFeatures Hotpatch)`);
  }
  if (put.enableHotpatching === false && enrolled) {
    throw invalidParameter(`The machine '${name}' is enrolled in hotpatch; disenrol through its license profile (productFeatures Hotpatch 'Disable').`, `${PATCH}.enableHotpatching`);
  }
}

/** Refuses a PUT whose `hotpatch-image` tag names another image than the machine's. */
export function checkArcImageUnchanged(put: ArcPut, vm: VmRecord): void {
  if (put.image === undefined) return;
  const norm = (urn: string) => (urn.split(":").length === 3 ? `${urn}:latest` : urn).toLowerCase();
  if (norm(put.image) !== norm(vm.image)) throw new ArmError(409, "PropertyChangeNotAllowed", `Changing the tag '${TAG_IMAGE}' (the server's image) is not allowed.`, `tags.${TAG_IMAGE}`);
}

export function arcResourceId(doc: VmArmDoc): string {
  return `/subscriptions/${doc.subscription}/resourceGroups/${doc.resourceGroup}/providers/Microsoft.HybridCompute/machines/${doc.vm}`;
}

/** A machine's license profile document (the enrolment itself is the VM's: vm.ts). */
export interface ArcLicenseDoc {
  vm: string;
  location: string;
  softwareAssuranceCustomer: boolean | null;
  createdAt: string;
}

/** Reads a license profile PUT/PATCH body: the Hotpatch feature's wish (undefined: not named) and software assurance. */
export function parseLicensePut(body: unknown, patch: boolean): { location?: string; hotpatch?: boolean; softwareAssuranceCustomer?: boolean } {
  const root = readObject(body, "parameters");
  const location = patch ? optionalString(root, "location") : requiredString(root, "location");
  const properties = optionalObject(root, "properties") ?? {};
  const assurance = optionalObject(properties, "softwareAssurance", "properties.softwareAssurance") ?? {};
  const product = optionalObject(properties, "productProfile", PRODUCT) ?? {};
  const type = optionalString(product, "productType", `${PRODUCT}.productType`);
  if (type !== undefined && type.toLowerCase() !== "windowsserver") throw invalidParameter(`'${PRODUCT}.productType' is '${type}'; the emulator knows WindowsServer only.`, `${PRODUCT}.productType`);
  let hotpatch: boolean | undefined;
  (optionalArray(product, "productFeatures", `${PRODUCT}.productFeatures`) ?? []).forEach((item, i) => {
    const path = `${PRODUCT}.productFeatures[${i}]`;
    const feature = readFeature(item, path);
    const status = optionalEnum(feature, "subscriptionStatus", FEATURE_STATUSES, `${path}.subscriptionStatus`);
    if (status !== undefined) hotpatch = status.startsWith("Enable");
  });
  const softwareAssuranceCustomer = optionalBoolean(assurance, "softwareAssuranceCustomer", "properties.softwareAssurance.softwareAssuranceCustomer");
  return { ...(location === undefined ? {} : { location }), ...(hotpatch === undefined ? {} : { hotpatch }), ...(softwareAssuranceCustomer === undefined ? {} : { softwareAssuranceCustomer }) };
}

function readFeature(item: unknown, path: string): Json {
  if (typeof item !== "object" || item === null || Array.isArray(item)) throw invalidParameter(`'${path}' must be an object.`, path);
  const feature = item as Json;
  const name = requiredString(feature, "name", `${path}.name`);
  if (name.toLowerCase() !== "hotpatch") throw invalidParameter(`'${path}.name' is '${name}'; the emulator knows the product feature Hotpatch only.`, `${path}.name`);
  return feature;
}

type Status = ReturnType<typeof vmStatus>;

/** `productProfile` as the license profile and the machine's instance view show it. */
export function productProfileOf(vm: VmRecord, status: Status): Json {
  const pending = status.hotpatchStatus === "PendingEvaluation";
  const subscriptionStatus = !vm.hotpatch ? "Disabled" : pending ? "Enabling" : "Enabled";
  const dates = {
    ...(vm.enrolledAt == null ? {} : { enrollmentDate: vm.enrolledAt }),
    ...(vm.hotpatch && !pending && status.hotpatchEnabledAt !== null ? { billingStartDate: status.hotpatchEnabledAt } : {}),
    ...(vm.disenrolledAt == null ? {} : { disenrollmentDate: vm.disenrolledAt, billingEndDate: vm.disenrolledAt }),
  };
  const known = vm.hotpatch || vm.disenrolledAt != null;
  return {
    subscriptionStatus,
    productType: "WindowsServer",
    ...dates,
    productFeatures: known ? [{ name: "Hotpatch", subscriptionStatus, ...dates }] : [],
  };
}

export function licenseProfileResource(vm: VmRecord, doc: VmArmDoc, license: ArcLicenseDoc, status: Status): Json {
  return {
    id: `${arcResourceId(doc)}/licenseProfiles/default`,
    name: "default",
    type: "Microsoft.HybridCompute/machines/licenseProfiles",
    location: license.location,
    properties: {
      provisioningState: "Succeeded",
      ...(license.softwareAssuranceCustomer === null ? {} : { softwareAssurance: { softwareAssuranceCustomer: license.softwareAssuranceCustomer } }),
      productProfile: productProfileOf(vm, status),
    },
  };
}

/** The machine resource as GET/PUT answer it. */
export function arcResource(vm: VmRecord, doc: VmArmDoc, status: Status, catalog: Session["catalog"]): Json {
  const enabled = status.hotpatchStatus === "Enabled";
  return {
    id: arcResourceId(doc),
    name: doc.vm,
    type: "Microsoft.HybridCompute/machines",
    location: doc.location,
    tags: doc.tags,
    properties: {
      provisioningState: "Succeeded",
      status: "Connected",
      lastStatusChange: doc.timeCreated,
      agentVersion: AGENT_VERSION,
      vmId: doc.vmId,
      displayName: doc.vm,
      machineFqdn: doc.computerName,
      osName: "windows",
      osType: "windows",
      osVersion: `10.0.${osBuildOf(vm, catalog)}`,
      osSku: arcEdition(vm.image) ?? osNameOf(vm.image),
      osProfile: {
        computerName: doc.computerName,
        windowsConfiguration: {
          patchSettings: {
            assessmentMode: doc.assessmentMode,
            ...(vm.patchMode === null ? {} : { patchMode: vm.patchMode }),
            enableHotpatching: vm.hotpatch,
            automaticByPlatformSettings: { rebootSetting: doc.rebootSetting, bypassPlatformSafetyChecksOnUserSchedule: vm.bypassPlatformSafetyChecksOnUserSchedule === true },
            status: {
              hotpatchEnablementStatus: status.hotpatchStatus,
              ...(enabled ? {} : { error: { code: `Hotpatch${status.hotpatchStatus}`, message: status.hotpatchReasons.join("; "), details: status.hotpatchReasons.map((message) => ({ code: "HotpatchPrerequisite", message })) } }),
            },
          },
        },
      },
      licenseProfile: { productProfile: productProfileOf(vm, status) },
    },
  };
}
