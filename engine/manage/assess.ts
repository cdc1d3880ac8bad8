/**
 * Assessment (S11): which updates a VM is offered, on demand (`hotpatch
 * assess`) or periodically (every ASSESSMENT_PERIOD of emulated time, run by
 * auto-patch.ts). The result has the fields of Azure's assess-patches API.
 * An assessment reads the catalog and the VM's records only; it changes the
 * VM's last assessment time and nothing else.
 */
import { applicableUpdates } from "./catalog.ts";
import { isAutoInstallable } from "./classification.ts";
import { iso, setClock } from "./clock.ts";
import { activityId } from "./install.ts";
import type { Session } from "./session.ts";
import { getVm } from "./vm.ts";

export const ASSESSMENT_PERIOD_MILLIS = 24 * 3_600_000;

export interface AvailablePatch {
  name: string;
  kbId: string;
  classifications: string[];
  kind: string;
  rebootBehavior: "NeverReboots" | "AlwaysRequiresReboot";
  publishedDate: string;
  assessmentState: "Available";
  dependsOn: string | null;
}

export interface AssessmentResult {
  assessmentActivityId: string;
  vm: string;
  trigger: "OnDemand" | "Periodic";
  status: "Succeeded";
  startDateTime: string;
  rebootPending: boolean;
  criticalAndSecurityPatchCount: number;
  otherPatchCount: number;
  availablePatches: AvailablePatch[];
  error: null;
}

export function assessVm(session: Session, vmName: string, now: Date, trigger: AssessmentResult["trigger"] = "OnDemand"): AssessmentResult {
  const { store } = session;
  const vm = getVm(store, vmName);
  const offered = applicableUpdates(vm, session.installedUpdates(vmName), now, session.lineOf(vm));
  const availablePatches: AvailablePatch[] = offered.map((u) => ({
    name: u.title,
    kbId: u.kb,
    classifications: [u.classification],
    kind: u.installKind,
    rebootBehavior: u.reboot ? "AlwaysRequiresReboot" : "NeverReboots",
    publishedDate: u.releaseDate,
    assessmentState: "Available",
    dependsOn: u.dependsOn,
  }));
  const critical = offered.filter((u) => isAutoInstallable(u.classification)).length;
  const result: AssessmentResult = {
    assessmentActivityId: activityId(session, vmName, "Assessment", now),
    vm: vmName,
    trigger,
    status: "Succeeded",
    startDateTime: iso(now),
    rebootPending: vm.rebootPending,
    criticalAndSecurityPatchCount: critical,
    otherPatchCount: offered.length - critical,
    availablePatches,
    error: null,
  };
  store.tx(() => {
    store.putActivity(result.assessmentActivityId, vmName, "Assessment", result.startDateTime, result);
    store.putVm(vm.name, { ...vm, lastAssessmentAt: result.startDateTime });
    setClock(store, now);
  });
  return result;
}
