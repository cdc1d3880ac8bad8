/**
 * The management plane's assessment and install results as ARM's
 * VirtualMachineAssessPatchesResult and VirtualMachineInstallPatchesResult
 * (the bodies of an assessPatches / installPatches operation's final GET and
 * of its status's `properties.output`).
 *
 * Mapping decisions:
 * - `patchId` is a stable id per KB: a UUID's shape derived from the KB
 *   number (the same KB has the same id on every VM and in every run).
 * - `version` is the OS build the KB brings (the catalog's), e.g.
 *   "20348.4150"; `lastModifiedDateTime` is its published date (the catalog
 *   never revises a release); `activityId` of an available patch is the
 *   assessment's activity id.
 * - Classifications use ARM's spelling: the engine's "UpdateRollup" is
 *   "UpdateRollUp"; the others are the same.
 * - Installation states: Installed, Failed, Excluded, NotSelected and Pending
 *   are the same; the engine's PendingReboot (installed, waiting for the
 *   reboot that `rebootSetting: NeverReboot` skipped) is "Installed" — it is
 *   counted in `installedPatchCount`, as Azure counts it, and the result's
 *   `rebootStatus` says "Required".
 * - `status`, `rebootStatus` and `maintenanceWindowExceeded` are the
 *   engine's own values (they use ARM's enums already).
 * - `error` is null, or, when the run failed or a patch failed, ARM's
 *   ApiError: code "InstallationFailed" (run) / "PatchInstallationFailed"
 *   (patches only), the run's message, and one detail per failed patch
 *   (`{ code: "PatchInstallationFailed", target: <KB>, message }`).
 * - The emulator's extras with no ARM field (a live hotpatch's apply time,
 *   a reboot's measured downtime, the health check) are left out of the
 *   result; the server publishes them as events (routes/patches.ts).
 */
import { createHash } from "node:crypto";
import type { AssessmentResult, InstallResult, PatchOutcome } from "../manage/index.ts";

export const ARM_CLASSIFICATIONS = ["Critical", "Security", "UpdateRollUp", "FeaturePack", "ServicePack", "Definition", "Tools", "Updates"] as const;

export interface ArmApiError {
  code: string;
  message: string;
  target?: string;
  details?: { code: string; target?: string; message: string }[];
}

export interface ArmAvailablePatch {
  patchId: string;
  name: string;
  version: string;
  kbId: string;
  classifications: string[];
  rebootBehavior: "NeverReboots" | "AlwaysRequiresReboot" | "CanRequestReboot" | "Unknown";
  activityId: string;
  publishedDate: string;
  lastModifiedDateTime: string;
  assessmentState: "Available" | "Unknown";
}

export interface ArmAssessPatchesResult {
  status: string;
  assessmentActivityId: string;
  rebootPending: boolean;
  criticalAndSecurityPatchCount: number;
  otherPatchCount: number;
  startDateTime: string;
  availablePatches: ArmAvailablePatch[];
  error: ArmApiError | null;
}

export interface ArmPatchInstallationDetail {
  patchId: string;
  name: string;
  version: string;
  kbId: string;
  classifications: string[];
  installationState: "Installed" | "Failed" | "Excluded" | "NotSelected" | "Pending" | "Unknown";
}

export interface ArmInstallPatchesResult {
  status: string;
  installationActivityId: string;
  rebootStatus: string;
  maintenanceWindowExceeded: boolean;
  excludedPatchCount: number;
  notSelectedPatchCount: number;
  pendingPatchCount: number;
  installedPatchCount: number;
  failedPatchCount: number;
  patches: ArmPatchInstallationDetail[];
  startDateTime: string;
  error: ArmApiError | null;
}

/** A stable id per KB (a UUID's shape). */
export function patchIdOf(kb: string): string {
  const h = createHash("sha256").update(`patch/${kb.toUpperCase()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The engine's classification in ARM's spelling. */
export function armClassification(classification: string): string {
  return ARM_CLASSIFICATIONS.find((c) => c.toLowerCase() === classification.toLowerCase()) ?? classification;
}

/** The ARM result of an assessment; `versionOf` gives a KB's OS build. */
export function assessPatchesResult(result: AssessmentResult, versionOf: (kb: string) => string): ArmAssessPatchesResult {
  return {
    status: result.status,
    assessmentActivityId: result.assessmentActivityId,
    rebootPending: result.rebootPending,
    criticalAndSecurityPatchCount: result.criticalAndSecurityPatchCount,
    otherPatchCount: result.otherPatchCount,
    startDateTime: result.startDateTime,
    availablePatches: result.availablePatches.map((p) => ({
      patchId: patchIdOf(p.kbId),
      name: p.name,
      version: versionOf(p.kbId),
      kbId: p.kbId,
      classifications: p.classifications.map(armClassification),
      rebootBehavior: p.rebootBehavior,
      activityId: result.assessmentActivityId,
      publishedDate: p.publishedDate,
      lastModifiedDateTime: p.publishedDate,
      assessmentState: p.assessmentState,
    })),
    error: null,
  };
}

export function installationState(state: PatchOutcome["state"]): ArmPatchInstallationDetail["installationState"] {
  return state === "PendingReboot" ? "Installed" : state;
}

/** The ARM result of an install run; `versionOf` gives a KB's OS build. */
export function installPatchesResult(result: InstallResult, versionOf: (kb: string) => string): ArmInstallPatchesResult {
  return {
    status: result.status,
    installationActivityId: result.activityId,
    rebootStatus: result.rebootStatus,
    maintenanceWindowExceeded: result.maintenanceWindowExceeded,
    excludedPatchCount: result.excludedPatchCount,
    notSelectedPatchCount: result.notSelectedPatchCount,
    pendingPatchCount: result.pendingPatchCount,
    installedPatchCount: result.installedPatchCount,
    failedPatchCount: result.failedPatchCount,
    patches: result.patches.map((p) => ({
      patchId: patchIdOf(p.kb),
      name: p.title,
      version: versionOf(p.kb),
      kbId: p.kb,
      classifications: [armClassification(p.classification)],
      installationState: installationState(p.state),
    })),
    startDateTime: result.startDateTime,
    error: installError(result),
  };
}

function installError(result: InstallResult): ArmApiError | null {
  const failed = result.patches.filter((p) => p.state === "Failed" || p.error !== null);
  if (result.error === null && failed.length === 0) return null;
  const details = failed.map((p) => ({ code: "PatchInstallationFailed", target: p.kb, message: p.error ?? `${p.kb} failed to install.` }));
  return {
    code: result.error === null ? "PatchInstallationFailed" : "InstallationFailed",
    message: result.error ?? `${failed.length} patch(es) failed to install.`,
    ...(details.length > 0 ? { details } : {}),
  };
}
