/**
 * What an installation run does to the VM's running processes (phases 4 and
 * 6 of install.ts), within the run's time budget (install-run.ts):
 *  1. reboot-requiring updates (baselines, cumulative, .NET) are installed,
 *     effective at the next reboot;
 *  2. at most one reboot, if one is needed or the setting is Always, and the
 *     setting is not Never (then the reboot is Required and stays pending);
 *  3. hotpatches go live on the image that runs after that, each only if it
 *     was built for that image's baseline;
 *  4. the health check, when anything changed; then the run's counts, status
 *     and end.
 * An update that fails is Failed with its error and the run goes on.
 */
import { iso } from "./clock.ts";
import type { InstallResult, PatchState } from "./install.ts";
import type { InstallRun } from "./install-run.ts";
import { installMillis, REBOOT_MILLIS } from "./install-time.ts";
import { revisionOf } from "./release-source.ts";
import { osBuildOf } from "./vm.ts";

/** Phase 4: reboot-requiring updates, then at most one reboot, then hotpatches live. */
export async function applySelected(run: InstallRun): Promise<void> {
  const needsProcesses = run.selected.length > 0 || run.result.rebootSetting === "Always" || run.vm.rebootPending;
  run.runtime = needsProcesses ? await run.session.runtime(run.vm) : undefined;
  await installRebootRequiring(run);
  await rebootOnce(run);
  if (run.result.rebootStatus === "Required" || (run.needsReboot && !run.mayReboot)) leaveRebootPending(run);
  await applyHotpatches(run);
}

/** Installed now, effective at the next reboot. */
async function installRebootRequiring(run: InstallRun): Promise<void> {
  const { session } = run;
  for (const u of run.selected.filter((s) => s.reboot)) {
    const outcome = run.outcomeOf(u);
    try {
      const bytes = u.imageMonth === null ? 0 : (await session.artifacts.image(u.imageMonth, session.lineOf(run.vm))).bytes.length;
      const millis = installMillis(u.installKind, u.imageMonth !== null, bytes);
      if (!run.fits(millis + (run.mayReboot && !run.needsReboot ? REBOOT_MILLIS : 0))) {
        run.exceed(outcome);
        continue;
      }
      run.spendOn(u, millis);
      outcome.state = "PendingReboot";
      if (u.imageMonth !== null) run.nextImageMonth = u.imageMonth;
      run.needsReboot = true;
      run.record(u, "PendingReboot");
    } catch (error) {
      run.fail(outcome, error);
    }
  }
}

/** At most one reboot: into the newest image installed, with the hotpatches of the image that stays. */
async function rebootOnce(run: InstallRun): Promise<void> {
  const { session, vm, result, runtime } = run;
  if (!run.needsReboot && result.rebootSetting !== "Always") return;
  if (!run.mayReboot) {
    result.rebootStatus = "Required";
    return;
  }
  if (runtime === undefined) return;
  const previousImage = vm.imageMonth;
  const imageMonth = run.nextImageMonth;
  if (imageMonth !== null) vm.imageMonth = imageMonth;
  if (imageMonth !== null && imageMonth > vm.osMonth) vm.osMonth = imageMonth;
  const supersedes = vm.imageMonth !== previousImage;
  const hotpatches = supersedes ? [] : await session.hotpatchPackages(vm);
  const image = await session.artifacts.image(vm.imageMonth, session.lineOf(vm));
  const outcome = await runtime.reboot(image, hotpatches);
  run.spendReboot();
  result.reboot = { downtimeMillis: outcome.downtimeMillis, emulatedDowntimeSeconds: REBOOT_MILLIS / 1000, stateLost: outcome.stateLost };
  result.rebootStatus = "Completed";
  vm.pendingImageMonth = null;
  vm.rebootPending = false;
  for (const r of run.newRecords) r.state = "Installed";
  for (const o of result.patches) if (o.state === "PendingReboot") o.state = "Installed";
  run.rebooted = true;
  run.superseded = supersedes;
}

/** No reboot allowed: the VM keeps the reboot it needs pending, with the image it will boot. */
function leaveRebootPending(run: InstallRun): void {
  run.result.rebootStatus = "Required";
  run.vm.rebootPending = true;
  run.vm.pendingImageMonth = run.nextImageMonth;
}

/** Live, on the image that runs now. */
async function applyHotpatches(run: InstallRun): Promise<void> {
  const { session, vm } = run;
  for (const u of run.selected.filter((s) => !s.reboot)) {
    const outcome = run.outcomeOf(u);
    if (u.baselineMonth !== vm.imageMonth) {
      outcome.error = `waits for baseline ${u.dependsOn ?? u.baselineMonth} to run (install it with a reboot first)`;
      continue;
    }
    try {
      const artifact = await session.artifacts.hotpatch(u.kb, u.month, u.baselineMonth, session.lineOf(vm));
      const millis = installMillis("hotpatch", false, artifact.package.length);
      if (!run.fits(millis)) {
        run.exceed(outcome);
        continue;
      }
      const timing = await run.runtime!.applyHotpatch(u.kb, artifact.package);
      outcome.applyMicros = timing.applyMicros;
      outcome.pauseMicros = timing.pauseMicros;
      run.spendOn(u, millis);
      outcome.state = "Installed";
      if (u.month > vm.osMonth) vm.osMonth = u.month;
      run.record(u, "Installed");
    } catch (error) {
      run.fail(outcome, error);
    }
  }
}

/** Phase 6, first half: the health check when anything changed, then the run's counts, status and end. */
export async function checkAndClose(run: InstallRun): Promise<void> {
  const { runtime, result } = run;
  if (runtime !== undefined && (run.newRecords.length > 0 || result.reboot !== null)) {
    result.health = await runtime.checkHealth(revisionOf(run.vm.osMonth, run.session.lineOf(run.vm)), run.session.seed);
    for (const r of run.newRecords) if (r.state === "Installed") r.health = result.health.status;
  }
  finishCounts(result);
  result.endDateTime = iso(run.at());
  result.osBuild = osBuildOf(run.vm, run.session.catalog);
}

function finishCounts(result: InstallResult): void {
  const count = (...states: PatchState[]) => result.patches.filter((p) => states.includes(p.state)).length;
  result.installedPatchCount = count("Installed", "PendingReboot");
  result.failedPatchCount = count("Failed");
  result.pendingPatchCount = count("Pending");
  result.excludedPatchCount = count("Excluded");
  result.notSelectedPatchCount = count("NotSelected");
  const healthy = result.health === null || result.health.status === "Healthy";
  if (result.failedPatchCount > 0 && result.installedPatchCount === 0) result.status = "Failed";
  else if (result.failedPatchCount > 0 || result.pendingPatchCount > 0 || !healthy || result.rebootStatus === "Required") {
    result.status = "CompletedWithWarnings";
  } else result.status = "Succeeded";
}
