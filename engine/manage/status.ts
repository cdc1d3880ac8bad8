/**
 * The VM's Updates view (S10) and the instance view's patch status: hotpatch
 * status, OS build, the latest installed updates, and — from the last
 * assessment, as Azure shows it — the updates pending (Critical and Security,
 * which automatic patching installs) and the compliance list (the other
 * classifications, never installed automatically).
 *
 * The hotpatch status is arc.ts's at the state's clock: on an Arc-enabled
 * server one of Unknown, PendingEvaluation, Disabled, ActionRequired,
 * Enabled with the reasons it is not Enabled; elsewhere Enabled or Disabled.
 */
import { arcHotpatchStatus, type HotpatchStatus } from "./arc.ts";
import { storedClock } from "./clock.ts";
import type { AssessmentResult, AvailablePatch } from "./assess.ts";
import { isAutoInstallable, parseClassification } from "./classification.ts";
import type { InstallResult } from "./install.ts";
import type { Session } from "./session.ts";
import { getVm, osBuildOf, type VmRecord } from "./vm.ts";

export interface VmStatus {
  vm: VmRecord;
  hotpatchStatus: HotpatchStatus;
  /** Why the hotpatch status is not Enabled (empty when it is). */
  hotpatchReasons: string[];
  /** Arc: when the enrolment takes (took) effect; null when not enrolled. */
  hotpatchEnabledAt: string | null;
  osBuild: string;
  baseline: string;
  latestInstalled: { kb: string; kind: string; installedAt: string; state: string }[];
  availablePatchSummary: {
    lastAssessmentTime: string | null;
    criticalAndSecurityPatchCount: number;
    otherPatchCount: number;
    rebootPending: boolean;
  };
  pending: AvailablePatch[];
  compliance: AvailablePatch[];
  lastPatchInstallationSummary: Omit<InstallResult, "patches" | "health" | "reboot"> | null;
}

export function vmStatus(session: Session, vmName: string): VmStatus {
  const vm = getVm(session.store, vmName);
  const installed = session.installedUpdates(vmName).filter((u) => u.active);
  const assessment = session.store.latestActivity<AssessmentResult>(vmName, "Assessment");
  const lastRun = session.store.latestActivity<InstallResult>(vmName, "Installation");
  const available = assessment?.availablePatches ?? [];
  const auto = (p: AvailablePatch) => isAutoInstallable(parseClassification(p.classifications[0]));
  let summary: VmStatus["lastPatchInstallationSummary"] = null;
  if (lastRun) {
    const { patches: _p, health: _h, reboot: _r, ...rest } = lastRun;
    summary = rest;
  }
  const hotpatch = arcHotpatchStatus(vm, storedClock(session.store) ?? new Date(vm.createdAt), session.lineOf(vm));
  const baseline = installed.filter((u) => u.kind === "baseline" || u.imageMonth === vm.imageMonth).at(-1);
  return {
    vm,
    hotpatchStatus: hotpatch.status,
    hotpatchReasons: hotpatch.reasons,
    hotpatchEnabledAt: hotpatch.enabledAt,
    osBuild: osBuildOf(vm, session.catalog),
    baseline: baseline?.kb ?? "",
    latestInstalled: installed
      .slice(-5)
      .reverse()
      .map((u) => ({ kb: u.kb, kind: u.kind, installedAt: u.installedAt, state: u.state })),
    availablePatchSummary: {
      lastAssessmentTime: vm.lastAssessmentAt,
      criticalAndSecurityPatchCount: assessment?.criticalAndSecurityPatchCount ?? 0,
      otherPatchCount: assessment?.otherPatchCount ?? 0,
      rebootPending: vm.rebootPending,
    },
    pending: available.filter(auto),
    compliance: available.filter((p) => !auto(p)),
    lastPatchInstallationSummary: summary,
  };
}
