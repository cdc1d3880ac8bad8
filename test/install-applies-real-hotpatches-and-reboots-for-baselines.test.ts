import { afterAll, describe, expect, it } from "vitest";
import { assessVm, createVm, getHotFix, getVm, historyView, installUpdates, rollbackVm, uninstallUpdate, vmStatus } from "../engine/manage/index.ts";
import { CORE, freshSession, removeTempFolders } from "./manage-fixtures.ts";
import { asyncRefusal } from "./refusal.ts";

afterAll(removeTempFolders);

const at = (iso: string) => new Date(iso);

// One VM lives through Feb–May 2027 (times only move forward, as the clock requires).
describe("a hotpatch VM through a quarter and the next baseline (S1, S5, S6, S10, S12-S15)", () => {
  const session = freshSession();
  const { store } = session;
  createVm(store, { name: "web1", image: CORE, timeZone: "America/New_York" }, at("2027-01-20T12:00:00Z"), []);

  it("assesses the February hotpatch and the .NET update, counted apart", () => {
    const result = assessVm(session, "web1", at("2027-02-10T12:00:00Z"));
    expect(result.criticalAndSecurityPatchCount).toBe(1);
    expect(result.otherPatchCount).toBe(1);
    expect(result.availablePatches.map((p) => [p.kbId, p.kind, p.rebootBehavior])).toEqual([
      ["KB5270210", "non-hotpatch", "AlwaysRequiresReboot"],
      ["KB5270200", "hotpatch", "NeverReboots"],
    ]);
    expect(vmStatus(session, "web1").availablePatchSummary.lastAssessmentTime).toBe("2027-02-10T12:00:00Z");
  });

  it("lets exclusions win over inclusions and classifications", async () => {
    const result = await installUpdates(session, "web1", { include: ["KB5270200"], exclude: ["KB5270200"] }, at("2027-02-10T12:00:00Z"));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 0, excludedPatchCount: 1, notSelectedPatchCount: 1 });
    expect(getVm(store, "web1").osMonth).toBe("2027-01");
  });

  it("refuses an unknown KB in a filter and changes nothing", async () => {
    const before = store.activities("web1", "Installation").length;
    await asyncRefusal(() => installUpdates(session, "web1", { include: ["KB9999999"] }, at("2027-02-10T12:00:00Z")), "E_UNKNOWN_KB");
    expect(store.activities("web1", "Installation").length).toBe(before);
  });

  it("applies the hotpatch live to every process: no restart, state kept, new code running", async () => {
    const runtime = await session.runtime(getVm(store, "web1"));
    const processes = (await runtime.snapshot()).processes.map((p) => [p.index, p.boot, p.buildId]);
    const before = await runtime.totals();
    const result = await installUpdates(session, "web1", {}, at("2027-02-10T12:30:00Z"));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 1, rebootStatus: "NotNeeded", reboot: null, osBuild: "20348.4150" });
    expect(result.patches.find((p) => p.kb === "KB5270200")?.applyMicros).toBeGreaterThan(0);
    expect(result.health).toMatchObject({ status: "Healthy", crashes: 0, runningRevisions: [4150, 4150] });
    expect((await runtime.snapshot()).processes.map((p) => [p.index, p.boot, p.buildId])).toEqual(processes); // the same processes, not rebooted
    const after = await runtime.totals();
    expect(after.keys).toBeGreaterThanOrEqual(before.keys);
    expect(after.requests).toBeGreaterThan(before.requests);
    expect(result.endDateTime).toBe("2027-02-10T12:32:01Z"); // 2 min + 1 s per KiB of package
  });

  it("uninstalls the latest hotpatch live, and refuses a baseline or an unknown KB", async () => {
    await asyncRefusal(() => uninstallUpdate(session, "web1", "KB5270100", at("2027-02-11T00:00:00Z")), "E_UNKNOWN_KB");
    const result = await uninstallUpdate(session, "web1", "KB5270200", at("2027-02-11T00:00:00Z"));
    expect(result).toMatchObject({ removed: ["KB5270200"], live: true, reboot: null, osBuild: "20348.4100" });
    expect(result.health.runningRevisions).toEqual([4100, 4100]);
    const again = await installUpdates(session, "web1", { include: ["KB5270200"] }, at("2027-02-11T01:00:00Z"));
    expect(again.installedPatchCount).toBe(1);
  });

  it("leaves the April baseline pending when the maintenance window is too short", async () => {
    const result = await installUpdates(session, "web1", { maxDurationMillis: 10 * 60_000 }, at("2027-04-14T12:00:00Z"));
    expect(result).toMatchObject({ status: "CompletedWithWarnings", maintenanceWindowExceeded: true, pendingPatchCount: 1, installedPatchCount: 0 });
    expect(getVm(store, "web1").imageMonth).toBe("2027-01");
  });

  it("with reboot Never installs the baseline but keeps the old processes until a reboot", async () => {
    const result = await installUpdates(
      session,
      "web1",
      { classifications: ["Security", "UpdateRollup"], reboot: "Never" },
      at("2027-04-14T13:00:00Z"),
    );
    expect(result).toMatchObject({ rebootStatus: "Required", installedPatchCount: 2, osBuild: "20348.4150" });
    expect(getVm(store, "web1")).toMatchObject({ rebootPending: true, pendingImageMonth: "2027-04", imageMonth: "2027-01" });
    expect(vmStatus(session, "web1").latestInstalled[0].state).toBe("PendingReboot");
  });

  it("reboots into the new baseline: real restart, downtime measured, state lost", async () => {
    const runtime = await session.runtime(getVm(store, "web1"));
    const old = (await runtime.snapshot()).processes[0];
    const result = await installUpdates(session, "web1", {}, at("2027-04-14T14:00:00Z"));
    expect(result).toMatchObject({ rebootStatus: "Completed", osBuild: "20348.4250" });
    expect(result.reboot!.stateLost.keys).toBeGreaterThan(0);
    expect(result.reboot!.downtimeMillis).toBeGreaterThan(0);
    const rebooted = (await runtime.snapshot()).processes[0];
    expect(rebooted.boot).toBe(old.boot + 1);
    expect(rebooted.buildId).not.toBe(old.buildId);
    expect(result.health?.runningRevisions).toEqual([4250, 4250]);
    expect(getVm(store, "web1")).toMatchObject({ rebootPending: false, imageMonth: "2027-04", osMonth: "2027-04" });
  });

  it("lists installed updates like Get-HotFix", () => {
    expect(getHotFix(session, "web1").map((r) => [r.HotFixID, r.Description, r.InstalledOn])).toEqual([
      ["KB5270100", "Security Update", "1/20/2027"],
      ["KB5270200", "Security Update", "2/10/2027"],
      ["KB5270400", "Security Update", "4/14/2027"],
      ["KB5270410", "Update", "4/14/2027"],
    ]);
    expect(getHotFix(session, "web1")[0]).toMatchObject({ Source: "WEB1", InstalledBy: "NT AUTHORITY\\SYSTEM" });
  });

  it("keeps 30 days of history with UTC and local times", () => {
    const view = historyView(store, "web1", at("2027-04-20T00:00:00Z"));
    expect(view.entries.map((e) => `${e.operation} ${e.kb} ${e.result}`)).toEqual([
      "Install KB5270400 Pending",
      "Install KB5270400 PendingReboot",
      "Install KB5270410 PendingReboot",
    ]);
    expect(view.entries[1].startedAtLocal).toBe("2027-04-14 09:00:00 EDT");
    expect(historyView(store, "web1", at("2027-04-20T00:00:00Z"), 90).entries.length).toBeGreaterThan(3);
  });

  it("rolls back to the last known good baseline with a reboot, naming what it removed", async () => {
    await installUpdates(session, "web1", {}, at("2027-05-12T12:00:00Z"));
    expect(getVm(store, "web1").osMonth).toBe("2027-05");
    await asyncRefusal(() => uninstallUpdate(session, "web1", "KB5270410", at("2027-05-12T13:00:00Z")), "E_NOT_LATEST");
    const result = await rollbackVm(session, "web1", at("2027-05-12T13:00:00Z"));
    expect(result).toMatchObject({ baseline: "KB5270400", removed: ["KB5270410", "KB5270500"], live: false, osBuild: "20348.4250" });
    expect(result.health.runningRevisions).toEqual([4250, 4250]);
    expect(result.reboot!.stateLost.requests).toBeGreaterThan(0);
    expect(getHotFix(session, "web1").map((r) => r.HotFixID)).toEqual(["KB5270100", "KB5270200", "KB5270400"]);
  });
});

describe("the builder decides what cannot be a hotpatch (S5)", () => {
  it("refuses a month with a zero-day fix as a hotpatch: it adds a mutable global", async () => {
    const session = freshSession();
    const error = await asyncRefusal(() => session.artifacts.hotpatch("KB5270500", "2027-05", "2027-04", ["2027-05"]), "E_REQUIRES_BASELINE");
    expect(error.message).toMatch(/adds the mutable global zeroDay2027x05/);
  });
});
