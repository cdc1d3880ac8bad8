/**
 * Microsoft.Maintenance ↔ the management plane's customer-managed schedules
 * (engine/manage/maintenance*.ts): PUT bodies read into its inputs, and its
 * records shown as ARM resources (api-version 2023-04-01 shapes).
 *
 * Contracts:
 * - maintenanceConfigurations: `properties.maintenanceScope`,
 *   `extensionProperties`, `maintenanceWindow`, `visibility`,
 *   `installPatches` { rebootSetting, windowsParameters }; linuxParameters
 *   is accepted and ignored (every emulated machine runs Windows).
 * - configurationAssignments on a VM: `properties.maintenanceConfigurationId`
 *   (and `resourceId`, which must be the VM's when given). At subscription
 *   scope they are dynamic scopes: `properties.filter` is required there.
 * - applyUpdates under a configuration are its runs, named by their window's
 *   UTC start (yyyyMMddHHmmss): GET shows one; PUT with
 *   `properties.status: "Cancel"` cancels it (until 10 minutes before it).
 *   Status values: Pending (scheduled), InProgress, Completed, Cancelled;
 *   the emulator's own account of the run is in `properties.run`.
 */
import {
  CONFIGURATION_TYPE,
  configurationId,
  type ConfigurationAssignment,
  type DynamicScope,
  type MaintenanceConfiguration,
  type MaintenanceConfigurationInput,
  type MaintenanceRun,
} from "../manage/index.ts";
import { invalidParameter } from "./arm-error.ts";
import { type Json, optionalBoolean, optionalObject, optionalString, optionalStringArray, optionalTags, readObject, requiredString } from "./routes/validate.ts";

export { CONFIGURATION_TYPE } from "../manage/index.ts";
export const ASSIGNMENT_TYPE = "Microsoft.Maintenance/configurationAssignments";
export const APPLY_UPDATE_TYPE = "Microsoft.Maintenance/applyUpdates";

const WINDOW = "properties.maintenanceWindow";
const PATCHES = "properties.installPatches";
const WINDOWS = `${PATCHES}.windowsParameters`;

/** Reads a configuration's PUT body (shape only; the management plane checks the values). */
export function parseConfigurationPut(body: unknown): MaintenanceConfigurationInput {
  const root = readObject(body, "parameters");
  const properties = optionalObject(root, "properties") ?? {};
  const window = optionalObject(properties, "maintenanceWindow", WINDOW);
  if (window === undefined) throw invalidParameter(`Required parameter '${WINDOW}' is missing (null).`, WINDOW);
  const extension = optionalObject(properties, "extensionProperties", "properties.extensionProperties");
  const patches = optionalObject(properties, "installPatches", PATCHES) ?? {};
  const windows = optionalObject(patches, "windowsParameters", WINDOWS) ?? {};
  const expiration = window.expirationDateTime;
  if (expiration !== undefined && expiration !== null && typeof expiration !== "string") throw invalidParameter(`'${WINDOW}.expirationDateTime' must be a string.`, `${WINDOW}.expirationDateTime`);
  return {
    location: requiredString(root, "location"),
    tags: optionalTags(root),
    maintenanceScope: optionalString(properties, "maintenanceScope", "properties.maintenanceScope"),
    extensionProperties: extension === undefined ? undefined : stringMap(extension, "properties.extensionProperties"),
    visibility: optionalString(properties, "visibility", "properties.visibility"),
    maintenanceWindow: {
      startDateTime: requiredString(window, "startDateTime", `${WINDOW}.startDateTime`),
      duration: optionalString(window, "duration", `${WINDOW}.duration`) ?? "03:55",
      timeZone: requiredString(window, "timeZone", `${WINDOW}.timeZone`),
      expirationDateTime: (expiration as string | null | undefined) ?? null,
      recurEvery: requiredString(window, "recurEvery", `${WINDOW}.recurEvery`),
    },
    installPatches: {
      rebootSetting: optionalString(patches, "rebootSetting", `${PATCHES}.rebootSetting`),
      windowsParameters: {
        classificationsToInclude: optionalStringArray(windows, "classificationsToInclude", `${WINDOWS}.classificationsToInclude`),
        kbNumbersToInclude: optionalStringArray(windows, "kbNumbersToInclude", `${WINDOWS}.kbNumbersToInclude`, 1000),
        kbNumbersToExclude: optionalStringArray(windows, "kbNumbersToExclude", `${WINDOWS}.kbNumbersToExclude`, 1000),
        excludeKbsRequiringReboot: optionalBoolean(windows, "excludeKbsRequiringReboot", `${WINDOWS}.excludeKbsRequiringReboot`),
      },
    },
  };
}

function stringMap(json: Json, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== "string") throw invalidParameter(`'${path}.${k}' must be a string.`, `${path}.${k}`);
    out[k] = v;
  }
  return out;
}

export function configurationResource(c: MaintenanceConfiguration): Json {
  const p = c.installPatches;
  return {
    id: configurationId(c),
    name: c.name,
    type: CONFIGURATION_TYPE,
    location: c.location,
    tags: c.tags,
    systemData: { createdAt: c.createdAt, lastModifiedAt: c.modifiedAt },
    properties: {
      maintenanceScope: c.maintenanceScope,
      extensionProperties: c.extensionProperties,
      visibility: c.visibility,
      maintenanceWindow: { ...c.maintenanceWindow, expirationDateTime: c.maintenanceWindow.expirationDateTime ?? undefined },
      installPatches: {
        rebootSetting: p.rebootSetting,
        windowsParameters: {
          classificationsToInclude: p.classificationsToInclude,
          kbNumbersToInclude: p.kbNumbersToInclude,
          kbNumbersToExclude: p.kbNumbersToExclude,
          excludeKbsRequiringReboot: p.excludeKbsRequiringReboot,
        },
      },
    },
  };
}

/** Reads an assignment's PUT body: the configuration's id, the resource id (if given) and, at subscription scope, the filter. */
export function parseAssignmentPut(body: unknown): { maintenanceConfigurationId: string; resourceId?: string; filter?: Json; location?: string } {
  const root = readObject(body, "parameters");
  const properties = optionalObject(root, "properties") ?? {};
  return {
    maintenanceConfigurationId: requiredString(properties, "maintenanceConfigurationId", "properties.maintenanceConfigurationId"),
    resourceId: optionalString(properties, "resourceId", "properties.resourceId"),
    filter: optionalObject(properties, "filter", "properties.filter"),
    location: optionalString(root, "location"),
  };
}

export function assignmentResource(a: ConfigurationAssignment, vmId: string, location: string): Json {
  return {
    id: `${vmId}/providers/${ASSIGNMENT_TYPE}/${a.name}`,
    name: a.name,
    type: ASSIGNMENT_TYPE,
    location,
    properties: { maintenanceConfigurationId: configurationId(a.configuration), resourceId: vmId },
  };
}

export function scopeResource(s: DynamicScope): Json {
  return {
    id: `/subscriptions/${s.subscription}/providers/${ASSIGNMENT_TYPE}/${s.name}`,
    name: s.name,
    type: ASSIGNMENT_TYPE,
    location: "global",
    properties: { maintenanceConfigurationId: configurationId(s.configuration), resourceId: `/subscriptions/${s.subscription}`, filter: s.filter },
  };
}

const APPLY_STATUS: Record<MaintenanceRun["status"], string> = {
  Scheduled: "Pending",
  Cancelled: "Cancelled",
  InProgress: "InProgress",
  Succeeded: "Completed",
  CompletedWithWarnings: "Completed",
  Failed: "Completed",
};

export function applyUpdateResource(run: MaintenanceRun): Json {
  const id = configurationId(run.configuration);
  return {
    id: `${id}/providers/${APPLY_UPDATE_TYPE}/${run.name}`,
    name: run.name,
    type: APPLY_UPDATE_TYPE,
    properties: {
      status: APPLY_STATUS[run.status],
      resourceId: id,
      lastUpdateTime: run.finishedAt ?? run.cancelled?.at ?? run.startedAt ?? run.preEvent?.at ?? run.start,
      run: run as unknown as Json,
    },
  };
}
