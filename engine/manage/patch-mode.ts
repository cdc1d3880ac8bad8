/**
 * Patch orchestration: a VM's patch mode (on Azure) or the policy source its
 * settings come from (on Azure Stack HCI).
 *
 * Patch modes:
 * - AutomaticByPlatform: Azure orchestrates patching (off-peak, availability
 *   first). The only availability-first mode; required for hotpatch on Azure.
 * - AutomaticByOS: Windows Update installs on its own (Windows default).
 * - Manual: automatic updates off (Windows only).
 * - ImageDefault: the image's own configuration (Linux default; Linux only).
 * Switching directly between AutomaticByOS and Manual is not supported.
 *
 * `validate*` functions throw E_USAGE when refusing and return nothing.
 */
import { HotpatchError } from "../errors.ts";
import { type Host, parseHost } from "./host.ts";

export const PATCH_MODES = ["AutomaticByPlatform", "AutomaticByOS", "Manual", "ImageDefault"] as const;

export type PatchMode = (typeof PATCH_MODES)[number];

export type GuestOs = "windows" | "linux";

const MODES_BY_OS: Record<GuestOs, readonly PatchMode[]> = {
  windows: ["AutomaticByPlatform", "AutomaticByOS", "Manual"],
  linux: ["AutomaticByPlatform", "ImageDefault"],
};

/** Where hotpatch orchestration settings come from on Azure Stack HCI. */
export const POLICY_SOURCES = ["GroupPolicy", "WindowsUpdateClientSettings", "SCONFIG", "ThirdParty"] as const;

export type PolicySource = (typeof POLICY_SOURCES)[number];

/** The answer of `orchestrationSource`. */
export interface OrchestrationSource {
  host: Host;
  /** "AzurePlatform" on Azure; "AzureUpdateManager" on an Arc-enabled server; the policy source on Azure Stack HCI. */
  source: "AzurePlatform" | "AzureUpdateManager" | PolicySource;
  /** One plain sentence for people. */
  description: string;
}

const POLICY_DESCRIPTIONS: Record<PolicySource, string> = {
  GroupPolicy: "Group Policy (Windows Update policies) configures hotpatch orchestration",
  WindowsUpdateClientSettings: "the Windows Update client settings on the machine configure hotpatch orchestration",
  SCONFIG: "SCONFIG on Server Core configures hotpatch orchestration",
  ThirdParty: "a third-party patch manager configures hotpatch orchestration",
};

/** Parses a patch mode, case-insensitively ("automaticbyplatform" -> "AutomaticByPlatform"). */
export function parsePatchMode(text: string): PatchMode {
  return parseName(text, PATCH_MODES, "patch mode");
}

/** Parses a policy source, case-insensitively ("sconfig" -> "SCONFIG"). */
export function parsePolicySource(text: string): PolicySource {
  return parseName(text, POLICY_SOURCES, "policy source");
}

/** The patch mode a new VM gets: AutomaticByOS on Windows, ImageDefault on Linux. */
export function defaultPatchMode(os: GuestOs = "windows"): PatchMode {
  return os === "windows" ? "AutomaticByOS" : "ImageDefault";
}

/** The patch modes an OS accepts. */
export function patchModesFor(os: GuestOs = "windows"): readonly PatchMode[] {
  return MODES_BY_OS[os];
}

/** True only for AutomaticByPlatform. */
export function isAvailabilityFirst(mode: PatchMode): boolean {
  return mode === "AutomaticByPlatform";
}

/**
 * Refuses a patch-mode change that Azure does not allow: a mode the OS does
 * not accept, or a direct switch between AutomaticByOS and Manual (change to
 * AutomaticByPlatform first). A change to the same mode is allowed.
 */
export function validatePatchModeChange(from: PatchMode, to: PatchMode, os: GuestOs = "windows"): void {
  for (const mode of [from, to]) {
    if (!MODES_BY_OS[os].includes(mode)) {
      throw new HotpatchError(
        "E_USAGE",
        `patch mode ${mode} is not available on ${os} (expected one of ${MODES_BY_OS[os].join(", ")})`,
      );
    }
  }
  const pair = new Set([from, to]);
  if (pair.has("AutomaticByOS") && pair.has("Manual")) {
    throw new HotpatchError(
      "E_USAGE",
      `switching the patch mode directly from ${from} to ${to} is not supported; change to AutomaticByPlatform first`,
    );
  }
}

/**
 * Refuses hotpatch on Azure unless the patch mode is AutomaticByPlatform.
 * On Azure Stack HCI patch modes do not apply (see orchestrationSource) and
 * nothing is refused.
 */
export function validateHotpatchPatchMode(host: Host, mode: PatchMode): void {
  if (parseHost(host) === "azure" && mode !== "AutomaticByPlatform") {
    throw new HotpatchError(
      "E_USAGE",
      `hotpatch on Azure requires the patch mode AutomaticByPlatform, not ${mode}`,
    );
  }
}

/**
 * Where a VM's hotpatch orchestration settings come from. On Azure: the Azure
 * platform (the VM's patch mode); a policy source is refused. On an
 * Arc-enabled server: Azure Update Manager by the machine's patch mode
 * (AutomaticByPlatform = customer-managed schedules, AutomaticByOS =
 * Windows Automatic Updates, Manual / ImageDefault = none); a policy
 * source is refused. On Azure Stack
 * HCI: the policy source, which is required. The policy source may be given
 * in any letter case.
 */
export function orchestrationSource(host: Host, policySource?: PolicySource | string): OrchestrationSource {
  const where = parseHost(host);
  if (where === "azure" || where === "arc") {
    if (policySource !== undefined) {
      const place = where === "azure" ? "on Azure the patch mode of the VM" : "on an Arc-enabled server the patch mode of the machine";
      throw new HotpatchError("E_USAGE", `a policy source (${policySource}) applies only to Azure Stack HCI; ${place} orchestrates hotpatch`);
    }
    if (where === "arc") {
      return { host: where, source: "AzureUpdateManager", description: "Azure Update Manager orchestrates patching according to the machine's patch mode" };
    }
    return {
      host: where,
      source: "AzurePlatform",
      description: "the Azure platform orchestrates hotpatch according to the VM's patch mode",
    };
  }
  if (policySource === undefined) {
    throw new HotpatchError(
      "E_USAGE",
      `Azure Stack HCI needs a policy source for hotpatch orchestration (one of ${POLICY_SOURCES.join(", ")})`,
    );
  }
  const source = parsePolicySource(policySource);
  return { host: where, source, description: POLICY_DESCRIPTIONS[source] };
}

function parseName<T extends string>(text: string, names: readonly T[], what: string): T {
  const wanted = text.trim().toLowerCase();
  const found = names.find((n) => n.toLowerCase() === wanted);
  if (found === undefined) {
    throw new HotpatchError("E_USAGE", `unknown ${what} "${text}" (expected one of ${names.join(", ")})`);
  }
  return found;
}
