/**
 * Arc-enabled servers install for real (builds and running guests): a
 * hotpatch month goes in live on an Enabled machine and as a cumulative
 * update with a reboot on a Disabled one, and a maintenance configuration
 * patches an Arc machine on its schedule (patch mode AutomaticByPlatform with
 * bypassPlatformSafetyChecksOnUserSchedule), refusing one without the flag.
 */
import { afterAll, describe, expect, it } from "vitest";
import { advanceClock, assignConfiguration, createVm, getVm, installUpdates, putConfiguration, setClock, vmStatus } from "../engine/manage/index.ts";
import { freshSession, removeTempFolders } from "./manage-fixtures.ts";

afterAll(removeTempFolders);

const DATACENTER = "MicrosoftWindowsServer:WindowsServer:2025-datacenter";
const at = (iso: string) => new Date(iso);
const CREATED = "2026-01-20T12:00:00Z";
const FEBRUARY = "2026-02-10T19:00:00Z"; // an hour after February 2026's release (a hotpatch month)

function arcSession(machines: { name: string; hotpatch: boolean; patchMode?: string; bypass?: boolean }[]) {
  const session = freshSession();
  setClock(session.store, at(CREATED));
  for (const m of machines) {
    createVm(
      session.store,
      { name: m.name, image: DATACENTER, host: "arc", vbs: true, hotpatch: m.hotpatch, processes: 1, patchMode: m.patchMode, bypassPlatformSafetyChecksOnUserSchedule: m.bypass },
      at(CREATED),
      session.catalog,
    );
  }
  setClock(session.store, at(FEBRUARY));
  return session;
}

describe("a hotpatch month on Arc-enabled servers", () => {
  it("installs live on an Enabled machine: no reboot, the same processes", async () => {
    const session = arcSession([{ name: "arc1", hotpatch: true }]);
    expect(vmStatus(session, "arc1").hotpatchStatus).toBe("Enabled");
    const runtime = await session.runtime(getVm(session.store, "arc1"));
    const boots = (await runtime.snapshot()).processes.map((p) => p.boot);
    const result = await installUpdates(session, "arc1", {}, at(FEBRUARY));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 1, rebootStatus: "NotNeeded", reboot: null, osBuild: "26100.3544" });
    expect(result.patches.find((p) => p.kb === "KB5260250")).toMatchObject({ kind: "hotpatch", state: "Installed" });
    expect((await runtime.snapshot()).processes.map((p) => p.boot)).toEqual(boots);
  });

  it("installs as a cumulative update with a reboot on a Disabled machine", async () => {
    const session = arcSession([{ name: "arc2", hotpatch: false }]);
    const result = await installUpdates(session, "arc2", {}, at(FEBRUARY));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 1, rebootStatus: "Completed", osBuild: "26100.3544" });
    expect(result.reboot).not.toBeNull();
    expect(result.patches.find((p) => p.kb === "KB5260250")).toMatchObject({ kind: "non-hotpatch", state: "Installed" });
    expect(getVm(session.store, "arc2")).toMatchObject({ imageMonth: "2026-02", osMonth: "2026-02" });
  });
});

describe("a maintenance configuration patches Arc-enabled servers", () => {
  it("patches the machine with the customer-managed schedule flag, and refuses the one without it", async () => {
    const session = arcSession([
      { name: "arc3", hotpatch: true, patchMode: "AutomaticByPlatform", bypass: true },
      { name: "arc4", hotpatch: true, patchMode: "AutomaticByPlatform" },
    ]);
    const configuration = { subscription: "00000000-0000-0000-0000-000000000000", resourceGroup: "hotpatch", name: "arc-nightly" };
    putConfiguration(session, configuration, { maintenanceWindow: { startDateTime: "2026-02-11 02:00", duration: "03:00", timeZone: "UTC", recurEvery: "1Day" }, installPatches: { rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"] } } }, at(FEBRUARY));
    for (const vm of ["arc3", "arc4"]) assignConfiguration(session, { vm, name: `${vm}-nightly`, configuration }, at(FEBRUARY));
    const report = await advanceClock(session, at(FEBRUARY), at("2026-02-11T06:00:00Z"));
    const run = report.events.find((e) => e.type === "MaintenanceRun")?.maintenance;
    expect(run?.machines.map((m) => [m.vm, m.outcome])).toEqual([
      ["arc3", "Succeeded"],
      ["arc4", "PrerequisitesNotMet"],
    ]);
    expect(run?.machines[1].error).toContain("a scheduled VM needs patch mode AutomaticByPlatform with bypassPlatformSafetyChecksOnUserSchedule true");
    const installed = report.events.find((e) => e.type === "Installation" && e.vm === "arc3")?.installation;
    expect(installed).toMatchObject({ trigger: "MaintenanceConfiguration", installedPatchCount: 1, rebootStatus: "NotNeeded", startDateTime: "2026-02-11T02:00:00Z" });
    expect(report.events.some((e) => e.type === "Installation" && e.vm === "arc4")).toBe(false); // AutomaticByPlatform without the flag: nothing automatic on Arc
    expect(vmStatus(session, "arc3").osBuild).toBe("26100.3544");
  });
});
