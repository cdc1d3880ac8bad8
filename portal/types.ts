/**
 * The shapes the portal reads (docs/api.md has them all): the server's own
 * types where it has them (type-only imports: nothing of engine/ reaches the
 * bundle), the ARM shapes as the portal uses them.
 */
import type { HistoryView } from "../engine/manage/history.ts";
import type { RolloutReport } from "../engine/fleet/rollout.ts";
import type { FleetVm } from "../engine/fleet/topology.ts";
import type { ProcessView } from "../engine/vms/vm-processes.ts";

export type { ProcessView };
export interface ArmVm {
  id: string;
  name: string;
  location: string;
  zones?: string[];
  properties: {
    storageProfile: { imageReference: { publisher: string; offer: string; sku: string; version: string; exactVersion: string } };
    osProfile: { windowsConfiguration: { patchSettings: { patchMode?: string; enableHotpatching: boolean } } };
    availabilitySet?: { id: string };
  };
}

export interface InstanceView {
  osVersion?: string;
  patchStatus?: {
    availablePatchSummary?: { status: string; lastModifiedTime?: string; criticalAndSecurityPatchCount?: number; otherPatchCount?: number };
    lastPatchInstallationSummary?: { status: string; lastModifiedTime?: string; installedPatchCount?: number; failedPatchCount?: number };
  };
}

export interface AvailablePatch {
  kbId: string;
  name: string;
  classifications: string[];
  rebootBehavior: string;
  publishedDate: string;
}

export interface VmUpdates {
  hotpatchStatus: "Enabled" | "Disabled" | "Unknown" | "PendingEvaluation" | "ActionRequired";
  hotpatchDisabledBecause: string[];
  osBuild: string;
  baseline: string;
  availablePatchSummary: { lastAssessmentTime: string | null; criticalAndSecurityPatchCount: number; otherPatchCount: number; rebootPending: boolean };
  pending: AvailablePatch[];
  compliance: AvailablePatch[];
  installedSinceAssessment: string[];
  lastPatchInstallationSummary: { status: string; installedPatchCount: number; failedPatchCount: number; startDateTime: string; rebootStatus: string } | null;
  vm: { patchMode: string | null; timeZone: string; window: string; processes: number };
}

/** A history entry as `GET /hotpatch/vms/{vm}/history` answers it. */
export type HistoryEntry = HistoryView["entries"][number];


export interface ProcessesView {
  vm: string;
  running: boolean;
  error?: string;
  load: { intervalMillis: number; requestsPerRound: number; served: number; failed: number };
  processes: ProcessView[];
}

export interface ImageChoice {
  image: string;
  sku: string;
  hotpatch: { eligible: boolean; defaultBy: string | null; reasons: string[] };
}

/** GET /hotpatch/fleet */
export interface FleetView {
  image: string;
  processes: number;
  window: string;
  regions: Record<string, number>;
  sets: { region: string; name: string; updateDomains: number; faultDomains: number }[];
  vms: (FleetVm & { osBuild: string | null; osMonth: string | null; running: boolean; bootError: string | null })[];
  rollouts: { release: string; status: string; haltReason: string | null; succeeded: number; unhealthy: number; notStarted: number }[];
}

/** GET /hotpatch/fleet/rollouts/{month} */
export type RolloutView = RolloutReport & { status: "Running" | "Completed" | "Halted" | "Stopped" };

/** One machine of a maintenance run (engine/manage/maintenance-runs.ts). */
export interface RunMachine {
  vm: string;
  via: string;
  outcome: "Succeeded" | "CompletedWithWarnings" | "Failed" | "PrerequisitesNotMet";
  installed: number;
  pending: number;
  failed: number;
  error: string | null;
}

export interface MaintenanceRun {
  name: string;
  start: string;
  end: string;
  cancellationCutOff: string;
  status: "Scheduled" | "Cancelled" | "InProgress" | "Succeeded" | "CompletedWithWarnings" | "Failed";
  cancelled: { at: string; reason: string } | null;
  preEvent: { at: string } | null;
  postEvent: { at: string } | null;
  machines: RunMachine[];
  leftOut: { vm: string; reason: string }[];
}

/** GET /hotpatch/maintenance */
export interface MaintenanceView {
  configurations: {
    id: string;
    name: string;
    resourceGroup: string;
    summary: string;
    installPatches: { rebootSetting: string; classificationsToInclude: string[]; kbNumbersToInclude: string[]; kbNumbersToExclude: string[] };
    machines: { machines: { vm: string; via: string }[]; leftOut: { vm: string; reason: string }[] };
    runs: { past: MaintenanceRun[]; upcoming: MaintenanceRun[] };
  }[];
}
