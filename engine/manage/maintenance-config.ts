/**
 * Maintenance configurations: Azure Update Manager's customer-managed
 * schedules (Microsoft.Maintenance/maintenanceConfigurations with
 * maintenanceScope InGuestPatch), as the management plane keeps them.
 *
 * Contracts:
 * - A configuration is known by subscription, resource group and name
 *   (case-insensitive, as ARM names are); the CLI uses DEFAULT_PLACEMENT's
 *   subscription and group. Documents live in the store's `maintenance`
 *   table (maintenance-store.ts).
 * - Only the in-guest patching shape is emulated: maintenanceScope must be
 *   InGuestPatch and extensionProperties.InGuestPatchMode must be User (the
 *   value Azure requires for VM guest patching); visibility is Custom.
 * - maintenanceWindow is validated by maintenance-window.ts (grammar,
 *   Windows time zone, the 03:55 limit, expiration).
 * - installPatches: rebootSetting IfRequired (default) | Never | Always;
 *   windowsParameters.classificationsToInclude default Critical and
 *   Security (what automatic patching installs); kbNumbersToInclude /
 *   kbNumbersToExclude ("KB5270100" or "5270100", kept upper case with the
 *   KB prefix); excludeKbsRequiringReboot (default false) leaves out every
 *   update that needs a reboot.
 * - Validation happens before anything is written; a refusal is E_USAGE
 *   naming the field and the reason.
 */
import { HotpatchError } from "../errors.ts";
import { type Classification, parseClassification } from "./classification.ts";
import { type RebootSetting, parseRebootSetting } from "./install.ts";
import { type MaintenanceWindowInput, parseMaintenanceWindow } from "./maintenance-window.ts";

/** Where the CLI puts what it makes (the API shows CLI-made VMs and configurations there too). */
export const DEFAULT_PLACEMENT = { subscription: "00000000-0000-0000-0000-000000000000", resourceGroup: "hotpatch", location: "eastus" } as const;

export const CONFIGURATION_TYPE = "Microsoft.Maintenance/maintenanceConfigurations";

export interface InstallPatchSettings {
  rebootSetting: RebootSetting;
  classificationsToInclude: Classification[];
  kbNumbersToInclude: string[];
  kbNumbersToExclude: string[];
  excludeKbsRequiringReboot: boolean;
}

export interface MaintenanceConfiguration {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  maintenanceScope: "InGuestPatch";
  extensionProperties: { InGuestPatchMode: "User" };
  visibility: "Custom";
  maintenanceWindow: Required<Omit<MaintenanceWindowInput, "expirationDateTime">> & { expirationDateTime: string | null };
  installPatches: InstallPatchSettings;
  createdAt: string;
  modifiedAt: string;
}

/** What a caller may give (the ARM body's `location`, `tags` and `properties`, flattened). */
export interface MaintenanceConfigurationInput {
  location?: string;
  tags?: Record<string, string>;
  maintenanceScope?: string;
  extensionProperties?: Record<string, string>;
  visibility?: string;
  maintenanceWindow: MaintenanceWindowInput;
  installPatches?: {
    rebootSetting?: string;
    windowsParameters?: {
      classificationsToInclude?: readonly string[];
      kbNumbersToInclude?: readonly string[];
      kbNumbersToExclude?: readonly string[];
      excludeKbsRequiringReboot?: boolean;
    };
  };
}

export interface ConfigurationName {
  subscription: string;
  resourceGroup: string;
  name: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The configuration's ARM id. */
export function configurationId(c: ConfigurationName): string {
  return `/subscriptions/${c.subscription}/resourceGroups/${c.resourceGroup}/providers/${CONFIGURATION_TYPE}/${c.name}`;
}

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Maintenance\/maintenanceConfigurations\/([^/]+)$/i;

/** Reads a configuration's ARM id (E_USAGE naming `field` for anything else). */
export function parseConfigurationId(id: string, field: string): ConfigurationName {
  const m = ID.exec(id.trim());
  if (m === null) {
    throw new HotpatchError("E_USAGE", `${field} "${id}" is not a maintenance configuration id (/subscriptions/{s}/resourceGroups/{g}/providers/${CONFIGURATION_TYPE}/{name})`);
  }
  return { subscription: m[1], resourceGroup: m[2], name: m[3] };
}

/** Validates `input` into the configuration named `at` (created at `createdAt`, changed `now`). */
export function buildConfiguration(at: ConfigurationName, input: MaintenanceConfigurationInput, now: string, createdAt = now): MaintenanceConfiguration {
  if (!NAME.test(at.name)) {
    throw new HotpatchError("E_USAGE", `"${at.name}" is not a maintenance configuration name (a letter or digit, then letters, digits, '_', '.', '-'; at most 128)`);
  }
  // ARM's enum values and property names compare without regard to letter case.
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const scope = input.maintenanceScope ?? "InGuestPatch";
  if (!same(scope, "InGuestPatch")) {
    throw new HotpatchError("E_USAGE", `maintenanceScope "${scope}" is not emulated: the emulator runs in-guest patching schedules (InGuestPatch) only`);
  }
  const modeKey = Object.keys(input.extensionProperties ?? {}).find((k) => same(k, "InGuestPatchMode"));
  const mode = modeKey === undefined ? "User" : (input.extensionProperties as Record<string, string>)[modeKey];
  if (!same(mode, "User")) {
    throw new HotpatchError("E_USAGE", `extensionProperties.InGuestPatchMode "${mode}" is not valid: VM guest patching schedules need "User"`);
  }
  const visibility = input.visibility ?? "Custom";
  if (!same(visibility, "Custom")) throw new HotpatchError("E_USAGE", `visibility "${visibility}" is not valid for an InGuestPatch configuration (Custom)`);
  const window = parseMaintenanceWindow(input.maintenanceWindow);
  return {
    ...at,
    location: input.location ?? DEFAULT_PLACEMENT.location,
    tags: { ...(input.tags ?? {}) },
    maintenanceScope: "InGuestPatch",
    extensionProperties: { InGuestPatchMode: "User" },
    visibility: "Custom",
    maintenanceWindow: {
      startDateTime: window.input.startDateTime,
      duration: window.input.duration,
      timeZone: window.windowsTimeZone,
      expirationDateTime: window.input.expirationDateTime ?? null,
      recurEvery: window.input.recurEvery,
    },
    installPatches: installSettings(input.installPatches),
    createdAt,
    modifiedAt: now,
  };
}

function installSettings(input: MaintenanceConfigurationInput["installPatches"]): InstallPatchSettings {
  const windows = input?.windowsParameters ?? {};
  const classifications = windows.classificationsToInclude ?? ["Critical", "Security"];
  if (classifications.length === 0) {
    throw new HotpatchError("E_USAGE", "installPatches.windowsParameters.classificationsToInclude is empty: name at least one classification");
  }
  return {
    rebootSetting: parseRebootSetting(input?.rebootSetting ?? "IfRequired"),
    classificationsToInclude: [...new Set(classifications.map((c) => parseClassification(c)))],
    kbNumbersToInclude: kbList(windows.kbNumbersToInclude, "kbNumbersToInclude"),
    kbNumbersToExclude: kbList(windows.kbNumbersToExclude, "kbNumbersToExclude"),
    excludeKbsRequiringReboot: windows.excludeKbsRequiringReboot ?? false,
  };
}

function kbList(list: readonly string[] | undefined, field: string): string[] {
  return (list ?? []).map((kb) => {
    const m = /^(?:KB)?(\d{6,7})$/i.exec(kb.trim());
    if (m === null) throw new HotpatchError("E_USAGE", `installPatches.windowsParameters.${field}: "${kb}" is not a KB number (e.g. KB5270100)`);
    return `KB${m[1]}`;
  });
}
