/**
 * What the server tells its event stream (events.ts) about a finished
 * change, one vocabulary for the API's operations and the emulator's own
 * endpoints (docs/api.md lists every type):
 * - `assessment`: an assessment's counts and the KBs it found;
 * - `hotpatch.applied` / `hotpatch.reverted`: a live switch with its measured
 *   times (applyMicros: verify + compile + prepare + switch, all between two
 *   of the VM's requests; pauseMicros: the switch alone, the commit's slot
 *   writes; slowest process);
 * - `vm.rebooted`: a reboot's measured downtime and the state it lost;
 * - `health`: the health check after a change;
 * - `installation` / `removal`: the run's outcome.
 * Every event of one change carries the emulated instant the change ended at.
 */
import type { AssessmentResult, InstallResult, RemovalResult } from "../manage/index.ts";
import type { HealthReport, RebootOutcome } from "../vms/index.ts";
import type { ServeContext } from "./context.ts";

export function publishAssessment(context: ServeContext, result: AssessmentResult, trigger: Record<string, unknown>): void {
  context.events.publish(
    "assessment",
    new Date(result.startDateTime), // an assessment takes no emulated time: it starts and ends at once
    {
      ...trigger,
      assessmentActivityId: result.assessmentActivityId,
      status: result.status,
      rebootPending: result.rebootPending,
      criticalAndSecurityPatchCount: result.criticalAndSecurityPatchCount,
      otherPatchCount: result.otherPatchCount,
      availablePatches: result.availablePatches.map((p) => p.kbId),
    },
    result.vm,
  );
}

export function publishInstallation(context: ServeContext, result: InstallResult, trigger: Record<string, unknown>): void {
  const at = new Date(result.endDateTime ?? result.startDateTime);
  const activity = { ...trigger, installationActivityId: result.activityId };
  if (result.reboot !== null) publishReboot(context, at, activity, result.reboot, result.vm);
  for (const p of result.patches) {
    if (p.applyMicros === undefined) continue;
    context.events.publish("hotpatch.applied", at, { ...activity, kbId: p.kb, applyMicros: p.applyMicros, pauseMicros: p.pauseMicros }, result.vm);
  }
  if (result.health !== null) publishHealth(context, at, activity, result.health, result.vm);
  context.events.publish(
    "installation",
    at,
    {
      ...activity,
      status: result.status,
      rebootStatus: result.rebootStatus,
      maintenanceWindowExceeded: result.maintenanceWindowExceeded,
      installedPatchCount: result.installedPatchCount,
      failedPatchCount: result.failedPatchCount,
      pendingPatchCount: result.pendingPatchCount,
      excludedPatchCount: result.excludedPatchCount,
      notSelectedPatchCount: result.notSelectedPatchCount,
      osBuild: result.osBuild,
      ...(result.reboot === null ? {} : { rebootDowntimeMillis: result.reboot.downtimeMillis, emulatedDowntimeSeconds: result.reboot.emulatedDowntimeSeconds }),
    },
    result.vm,
  );
}

export function publishRemoval(context: ServeContext, result: RemovalResult): void {
  const at = new Date(result.endDateTime);
  const activity = { trigger: "OnDemand", activityId: result.activityId, operation: result.operation };
  if (result.reboot !== null) publishReboot(context, at, activity, result.reboot, result.vm);
  if (result.revertPauseMicros !== null) {
    context.events.publish("hotpatch.reverted", at, { ...activity, kbId: result.removed[0], pauseMicros: result.revertPauseMicros }, result.vm);
  }
  publishHealth(context, at, activity, result.health, result.vm);
  context.events.publish("removal", at, { ...activity, removed: result.removed, baseline: result.baseline, live: result.live, osBuild: result.osBuild }, result.vm);
}

function publishReboot(context: ServeContext, at: Date, activity: Record<string, unknown>, reboot: RebootOutcome, vm: string): void {
  context.events.publish("vm.rebooted", at, { ...activity, downtimeMillis: reboot.downtimeMillis, stateLost: reboot.stateLost }, vm);
}

function publishHealth(context: ServeContext, at: Date, activity: Record<string, unknown>, health: HealthReport, vm: string): void {
  context.events.publish("health", at, { ...activity, status: health.status, crashes: health.crashes, latencyP99Micros: health.latencyP99Micros, reasons: health.reasons }, vm);
}
