/**
 * Uninstall and rollback (S15). Nothing here runs automatically.
 *
 * Contracts:
 * - `uninstallUpdate` removes the most recently installed update only
 *   (E_NOT_LATEST otherwise): a hotpatch is reverted live on every process
 *   (no restart); a .NET-style update is removed with a reboot. Baselines
 *   and cumulative images are not uninstalled (E_NOT_UNINSTALLABLE): that
 *   is `rollbackVm`.
 * - `rollbackVm` returns to the last known good baseline — the newest
 *   installed baseline (or image the VM was created with) whose health check
 *   passed — with a reboot, removes every update installed after it and
 *   lists them.
 * - Both record history (InProgress first), run the health check, and
 *   commit the VM, its installed updates and the clock together.
 */
import { HotpatchError } from "../errors.ts";
import { iso, setClock } from "./clock.ts";
import type { HealthReport, RebootOutcome } from "../vms/index.ts";
import { type HistoryEntry, recordHistory } from "./history.ts";
import { activityId } from "./install.ts";
import { HOTPATCH_BASE_MINUTES, IMAGE_BASE_MINUTES, REBOOT_MILLIS } from "./install-time.ts";
import { revisionOf } from "./release-source.ts";
import type { InstalledUpdate, Session } from "./session.ts";
import { getVm, osBuildOf, type VmRecord } from "./vm.ts";

export interface RemovalResult {
  activityId: string;
  vm: string;
  operation: "Uninstall" | "Rollback";
  removed: string[];
  /** Rollback: the baseline the VM runs now. */
  baseline: string | null;
  live: boolean;
  /** Uninstall of a hotpatch: the live revert's switch time, slowest process (µs); else null. */
  revertPauseMicros: number | null;
  reboot: RebootOutcome | null;
  health: HealthReport;
  osBuild: string;
  startDateTime: string;
  endDateTime: string;
}

export async function uninstallUpdate(session: Session, vmName: string, kb: string, now: Date): Promise<RemovalResult> {
  const vm: VmRecord = { ...getVm(session.store, vmName) };
  const wanted = kb.trim().toUpperCase();
  const installed = session.installedUpdates(vmName).filter((u) => u.active && !u.preinstalled);
  const target = installed.find((u) => u.kb === wanted);
  if (target === undefined) throw new HotpatchError("E_UNKNOWN_KB", `${kb} is not installed on ${vmName} (or came with its image)`);
  const latest = installed.at(-1)!;
  if (latest.kb !== wanted) throw new HotpatchError("E_NOT_LATEST", `${kb} is not the latest update on ${vmName}; uninstall ${latest.kb} first`);
  if (target.imageMonth !== null) {
    throw new HotpatchError("E_NOT_UNINSTALLABLE", `${kb} is a ${target.kind} that replaced the VM's image; use \`hotpatch rollback ${vmName}\``);
  }
  if (target.state !== "Installed") throw new HotpatchError("E_NOT_UNINSTALLABLE", `${kb} waits for a reboot; it cannot be uninstalled before it runs`);
  const runtime = await session.runtime(vm);
  const historyId = startHistory(session, vmName, "Uninstall", target, now);
  let reboot: RebootOutcome | null = null;
  let revertPauseMicros: number | null = null;
  let elapsed = HOTPATCH_BASE_MINUTES * 60_000;
  if (target.kind === "hotpatch") {
    revertPauseMicros = (await runtime.revertHotpatch(target.kb)).pauseMicros;
    const remaining = session.activeHotpatches(vm).filter((u) => u.kb !== target.kb);
    vm.osMonth = remaining.map((u) => u.month).sort().at(-1) ?? vm.imageMonth;
  } else {
    const image = await session.artifacts.image(vm.imageMonth, session.lineOf(vm));
    reboot = await runtime.reboot(image, await session.hotpatchPackages(vm));
    elapsed += REBOOT_MILLIS;
  }
  const health = await runtime.checkHealth(revisionOf(vm.osMonth, session.lineOf(vm)), session.seed);
  return finish(session, vm, { operation: "Uninstall", removed: [target.kb], baseline: null, live: reboot === null, revertPauseMicros, reboot, health }, now, elapsed, [historyId]);
}

export async function rollbackVm(session: Session, vmName: string, now: Date): Promise<RemovalResult> {
  const vm: VmRecord = { ...getVm(session.store, vmName) };
  const installed = session.installedUpdates(vmName);
  const images = installed.filter((u) => u.line === "os" && u.imageMonth !== null && u.state === "Installed" && u.health === "Healthy");
  const good = images.at(-1);
  if (good === undefined) throw new HotpatchError("E_NOT_UNINSTALLABLE", `${vmName} has no baseline that passed its health check`);
  const after = installed.slice(installed.indexOf(good) + 1);
  if (after.length === 0) throw new HotpatchError("E_USAGE", `${vmName} already runs its last known good baseline ${good.kb} with nothing installed after it`);
  const runtime = await session.runtime(vm);
  const historyIds = after.map((u) => startHistory(session, vmName, "Rollback", u, now));
  vm.imageMonth = good.imageMonth!;
  vm.osMonth = good.imageMonth!;
  vm.pendingImageMonth = null;
  vm.rebootPending = false;
  const reboot = await runtime.reboot(await session.artifacts.image(vm.imageMonth, session.lineOf(vm)), []);
  const health = await runtime.checkHealth(revisionOf(vm.osMonth, session.lineOf(vm)), session.seed);
  const elapsed = IMAGE_BASE_MINUTES * 60_000 + REBOOT_MILLIS;
  return finish(session, vm, { operation: "Rollback", removed: after.map((u) => u.kb), baseline: good.kb, live: false, revertPauseMicros: null, reboot, health }, now, elapsed, historyIds, good);
}

function startHistory(session: Session, vm: string, operation: HistoryEntry["operation"], u: InstalledUpdate, now: Date): number {
  return session.store.tx(() =>
    recordHistory(session.store, vm, {
      activityId: "",
      operation,
      trigger: "OnDemand",
      kb: u.kb,
      title: u.title,
      kind: u.kind,
      classification: u.classification,
      result: "InProgress",
      startedAt: iso(now),
      finishedAt: null,
      reboot: u.kind !== "hotpatch",
      durationSeconds: 0,
      errors: [],
      applyMicros: null,
      health: null,
    }),
  );
}

function finish(
  session: Session,
  vm: VmRecord,
  partial: Pick<RemovalResult, "operation" | "removed" | "baseline" | "live" | "revertPauseMicros" | "reboot" | "health">,
  now: Date,
  elapsed: number,
  historyIds: number[],
  reactivate?: InstalledUpdate,
): RemovalResult {
  const { store } = session;
  const end = new Date(now.getTime() + elapsed);
  const result: RemovalResult = {
    activityId: activityId(session, vm.name, partial.operation, now),
    vm: vm.name,
    ...partial,
    osBuild: osBuildOf(vm, session.catalog),
    startDateTime: iso(now),
    endDateTime: iso(end),
  };
  store.tx(() => {
    for (const kb of result.removed) store.removeInstalled(vm.name, kb);
    if (reactivate) store.updateInstalled(vm.name, reactivate.kb, { ...reactivate, active: true });
    store.putVm(vm.name, vm);
    store.putActivity(result.activityId, vm.name, partial.operation, result.startDateTime, result);
    for (const { id, doc } of store.history<HistoryEntry>(vm.name)) {
      if (!historyIds.includes(id)) continue;
      store.updateHistory(id, {
        ...doc,
        activityId: result.activityId,
        result: "Succeeded",
        finishedAt: result.endDateTime,
        durationSeconds: elapsed / 1000,
        reboot: !partial.live,
        health: partial.health.status,
      });
    }
    setClock(store, end);
  });
  return result;
}
