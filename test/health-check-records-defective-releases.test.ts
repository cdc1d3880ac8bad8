import { afterAll, describe, expect, it } from "vitest";
import type { HistoryEntry } from "../engine/manage/history.ts";
import { advanceClock, createVm, getVm, installUpdates, rollbackVm, Session, setClock, Store, uninstallUpdate, vmStatus } from "../engine/manage/index.ts";
import { DEFECT_TRAP_EVERY, type ReleaseDefect } from "../engine/manage/release-source.ts";
import { join } from "node:path";
import { CORE, removeTempFolders, tempFolder } from "./manage-fixtures.ts";

afterAll(removeTempFolders);

const at = (iso: string) => new Date(iso);

// Its own artifact cache: run beside the other management tests, builds against the shared cache
// were refused as requires-baseline while the engine was being edited (see the report); here they are not.
const ARTIFACTS = join(tempFolder(), "artifacts");
const sessionWith = (defects: Record<string, ReleaseDefect>) =>
  new Session(Store.open(join(tempFolder(), "state.db")), { artifactsDir: ARTIFACTS, seed: 7, faults: { defectiveReleases: defects } });

// Defects are stamped into the release sources (release-source.ts) and built by the real builder:
// a crash bug in the request handler, and a build that reports the wrong revision. Nothing here is mocked.
describe("the health check after an install (S7, S15)", () => {
  it("records a crashing hotpatch as Unhealthy, does not roll it back, and a live uninstall makes the VM healthy", async () => {
    const session = sessionWith({ "2027-02": "traps" });
    const { store } = session;
    const start = at("2027-02-09T12:00:00Z");
    store.tx(() => {
      createVm(store, { name: "crash1", image: CORE }, start, []);
      setClock(store, start);
    });
    // The February hotpatch goes live automatically at 22:00 UTC on release day; the health check catches the traps.
    const report = await advanceClock(session, start, at("2027-02-12T00:00:00Z"));
    const runs = report.events.filter((e) => e.type === "Installation").map((e) => e.installation!);
    expect(runs).toHaveLength(1); // no automatic rollback, no retry: the update is installed
    const run = runs[0];
    expect(run).toMatchObject({ status: "CompletedWithWarnings", installedPatchCount: 1, rebootStatus: "NotNeeded" });
    expect(run.health).toMatchObject({ status: "Unhealthy", processes: 2, crashes: 2 });
    expect(run.health!.reasons.join("\n")).toMatch(/process 0 crashed: E_GUEST_TRAP/);
    // Recorded: in the history, on the installed update, in the VM's status.
    const history = store.history<HistoryEntry>("crash1").map((h) => h.doc);
    expect(history.map((h) => [h.kb, h.result, h.health])).toEqual([["KB5270200", "Succeeded", "Unhealthy"]]);
    expect(session.installedUpdates("crash1").find((u) => u.kb === "KB5270200")?.health).toBe("Unhealthy");
    expect(vmStatus(session, "crash1").lastPatchInstallationSummary?.status).toBe("CompletedWithWarnings");
    // The processes keep serving (a trap fails one request), every DEFECT_TRAP_EVERY-th request fails.
    const load = await (await session.runtime(getVm(store, "crash1"))).snapshot();
    expect(load.failed).toBeGreaterThan(0);
    expect(load.failed).toBeLessThanOrEqual(Math.ceil(load.served / DEFECT_TRAP_EVERY) + load.processes.length);
    // S15: the operator removes the latest update; the hotpatch is reverted live and the VM is healthy again.
    const removal = await uninstallUpdate(session, "crash1", "KB5270200", at("2027-02-12T01:00:00Z"));
    expect(removal).toMatchObject({ live: true, reboot: null, osBuild: "20348.4100" });
    expect(removal.health).toMatchObject({ status: "Healthy", crashes: 0, runningRevisions: [4100, 4100] });
  });

  it("records a baseline that reports the wrong revision as Unhealthy, and rollback skips it for the last known good one", async () => {
    const session = sessionWith({ "2027-04": "wrong-revision" });
    const { store } = session;
    store.tx(() => createVm(store, { name: "rev1", image: CORE, processes: 1 }, at("2027-03-20T12:00:00Z"), []));
    const march = await installUpdates(session, "rev1", {}, at("2027-03-20T12:00:00Z"));
    expect(march.health?.status).toBe("Healthy");
    const april = await installUpdates(session, "rev1", {}, at("2027-04-14T12:00:00Z"));
    expect(april).toMatchObject({ status: "CompletedWithWarnings", rebootStatus: "Completed", osBuild: "20348.4250" });
    expect(april.health).toMatchObject({ status: "Unhealthy", crashes: 0, expectedRevision: 4250, runningRevisions: [4251] });
    expect(april.health!.reasons).toEqual(["1 process(es) run revision 4251, expected 4250"]);
    expect(session.installedUpdates("rev1").find((u) => u.kb === "KB5270400")?.health).toBe("Unhealthy");
    // The last known good baseline is January's (the April one failed its health check).
    const rollback = await rollbackVm(session, "rev1", at("2027-04-15T12:00:00Z"));
    expect(rollback).toMatchObject({ baseline: "KB5270100", live: false, osBuild: "20348.4100" });
    expect(rollback.removed).toEqual(["KB5270300", "KB5270400"]);
    expect(rollback.health).toMatchObject({ status: "Healthy", runningRevisions: [4100] });
  });
});
