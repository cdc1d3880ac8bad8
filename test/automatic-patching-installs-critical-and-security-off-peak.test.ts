import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import type { HistoryEntry } from "../engine/manage/history.ts";
import { advanceClock, createVm, getVm, Session, setClock, Store, vmStatus } from "../engine/manage/index.ts";
import { closeInterrupted, type InstallResult } from "../engine/manage/install.ts";
import { runCliProcess } from "./cli-runner.ts";
import { CORE, freshSession, removeTempFolders, STANDARD, SHARED_ARTIFACTS, tempFolder } from "./manage-fixtures.ts";

afterAll(removeTempFolders);

const at = (iso: string) => new Date(iso);
const installs = (report: Awaited<ReturnType<typeof advanceClock>>, vm: string) =>
  report.events.filter((e) => e.type === "Installation" && e.vm === vm).map((e) => [e.at, e.installation!.status]);

describe("automatic VM guest patching (S7, S11)", () => {
  it("installs each month's hotpatch in the first off-peak window after release, in the VM's zone, and assesses daily", async () => {
    const session = freshSession();
    const start = at("2027-03-01T00:00:00Z");
    session.store.tx(() => {
      createVm(session.store, { name: "ny", image: CORE, timeZone: "America/New_York" }, start, []);
      createVm(session.store, { name: "manual", image: STANDARD, patchMode: "AutomaticByPlatform" }, start, []);
      setClock(session.store, start);
    });
    session.store.tx(() => session.store.putVm("manual", { ...getVm(session.store, "manual"), patchMode: "Manual" }));
    const report = await advanceClock(session, start, at("2027-03-20T00:00:00Z"));
    // Feb hotpatch (available at creation, Feb 28 19:00 EST): 22:00 EST Feb 28 = 03:00Z Mar 1.
    // Mar hotpatch (released Tue Mar 9 18:00Z): 22:00 EST Mar 9 = 03:00Z Mar 10 (DST starts Mar 14).
    expect(installs(report, "ny")).toEqual([
      ["2027-03-01T03:00:00Z", "Succeeded"],
      ["2027-03-10T03:00:00Z", "Succeeded"],
    ]);
    expect(installs(report, "manual")).toEqual([]);
    expect(report.events.filter((e) => e.type === "Assessment" && e.vm === "ny")).toHaveLength(19);
    const status = vmStatus(session, "ny");
    expect(status.osBuild).toBe("20348.4200");
    // .NET (UpdateRollup) is never installed automatically: it stays in the compliance list.
    expect(status.compliance.map((p) => p.kbId)).toEqual(["KB5270310"]);
    expect(status.pending).toEqual([]);
  });

  it("follows the local clock across daylight saving: 22:00 CEST is 20:00Z after Europe's spring change", async () => {
    const session = freshSession();
    const start = at("2027-04-01T12:00:00Z");
    session.store.tx(() => {
      createVm(session.store, { name: "de", image: CORE, timeZone: "Europe/Berlin", window: "22:00-06:00" }, start, []);
      setClock(session.store, start);
    });
    // Berlin moved to CEST on Mar 28. The March hotpatch installs that evening at 22:00 CEST = 20:00Z;
    // the April baseline (Tue Apr 13 18:00Z) at 22:00 CEST on Apr 13, with a reboot.
    const report = await advanceClock(session, start, at("2027-04-15T00:00:00Z"));
    expect(installs(report, "de")).toEqual([
      ["2027-04-01T20:00:00Z", "Succeeded"],
      ["2027-04-13T20:00:00Z", "Succeeded"],
    ]);
    const run = report.events.filter((e) => e.type === "Installation")[1].installation!;
    expect(run).toMatchObject({ trigger: "AutomaticByPlatform", rebootStatus: "Completed", osBuild: "20348.4250" });
  });

  it("retries a failed install in the next window", async () => {
    const session = freshSession();
    const start = at("2027-02-09T19:00:00Z");
    session.store.tx(() => {
      createVm(session.store, { name: "r1", image: CORE, processes: 1 }, start, []);
      setClock(session.store, start);
    });
    // The first slot swap fails after its first write; every later one goes through.
    faults.arm({ seed: 7, rules: [{ point: "swap", mode: "throw", afterSlot: 1 }] });
    let report: Awaited<ReturnType<typeof advanceClock>>;
    try {
      report = await advanceClock(session, start, at("2027-02-12T00:00:00Z"));
      expect(faults.report()[0].fires).toBe(1);
    } finally {
      faults.disarm();
    }
    expect(installs(report, "r1")).toEqual([
      ["2027-02-09T22:00:00Z", "Failed"],
      ["2027-02-10T22:00:00Z", "Succeeded"],
    ]);
    const history = session.store.history<HistoryEntry>("r1").map((h) => `${h.doc.kb} ${h.doc.result}`);
    expect(history).toEqual(["KB5270200 Failed", "KB5270200 Succeeded"]);
  });
});

describe("persistence across a killed process", () => {
  // The shorthand, and the plan it stands for.
  const kills: [string, NodeJS.ProcessEnv][] = [
    ["", { HOTPATCH_FAULT: "kill-during-install" }],
    [" (a HOTPATCH_FAULT_PLAN with mode kill)", { HOTPATCH_FAULT_PLAN: JSON.stringify({ seed: 1, rules: [{ point: "install.apply", mode: "kill" }] }) }],
  ];
  for (const [how, fault] of kills) it(`shows an install interrupted by SIGKILL as InProgress, and closes it as Failed before the next run${how}`, async () => {
    const state = join(tempFolder(), "state.db");
    const store = Store.open(state);
    store.tx(() => {
      createVm(store, { name: "k1", image: CORE }, at("2027-02-10T00:00:00Z"), []);
      setClock(store, at("2027-02-10T00:00:00Z"));
    });
    store.close();
    const run = await runCliProcess(["install", "k1", "--state", state, "--json"], { ...process.env, ...fault });
    expect(run.signal).toBe("SIGKILL");
    const reopened = Store.open(state);
    const session = new Session(reopened, { artifactsDir: SHARED_ARTIFACTS });
    expect(vmStatus(session, "k1").lastPatchInstallationSummary?.status).toBe("InProgress");
    expect(reopened.history<HistoryEntry>("k1").map((h) => h.doc.result)).toEqual(["InProgress"]);
    expect(closeInterrupted(session, "k1", at("2027-02-10T01:00:00Z"))).toBe(1);
    const closed = reopened.latestActivity<InstallResult>("k1", "Installation")!;
    expect(closed.status).toBe("Failed");
    expect(closed.error).toMatch(/interrupted/);
    reopened.close();
  });
});
