/**
 * Fault points (engine/faults/points.ts) fire exactly as a seeded plan says,
 * cost nothing unarmed, and every fault on the apply path of an in-thread
 * process is a refusal with a stable code that leaves the slot table and the
 * memory exactly as they were — the same patch applies on the next try. The
 * database write of an install fails without losing what was recorded, and
 * a retry installs. (after-swap, transition.wait and restart run in worker
 * processes: see the experiments test; install.apply's kill mode ends the
 * OS process: see the killed-process test of automatic patching.)
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { faultPlanFromEnvironment } from "../engine/cli/fault-environment.ts";
import { HotpatchError } from "../engine/errors.ts";
import * as faults from "../engine/faults/index.ts";
import { FAULT_POINT_NAMES, FAULT_POINTS } from "../engine/faults/points.ts";
import { kvstoreVersion } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { createVm, getVm, installUpdates, Session, Store } from "../engine/manage/index.ts";
import { runCli } from "./cli-runner.ts";
import { changedSlots, hotpatch, kvImage, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";
import { CORE, removeTempFolders, tempFolder } from "./manage-fixtures.ts";
import { refusal } from "./refusal.ts";

const keys = signingKeys();
let v1: Image;
let twoSlots: Uint8Array;

beforeAll(async () => {
  v1 = await kvImage("v1");
  twoSlots = (await hotpatch(v1, kvstoreVersion("v3"), "KB5036701", keys.privateKey)).package;
});
afterEach(() => faults.disarm());
afterAll(removeTempFolders);

/** What a call did: "none", the code of the HotpatchError it threw, or "uncoded: " and the message of another error. */
function outcome(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof HotpatchError ? error.code : `uncoded: ${(error as Error).message}`;
  }
  return "none";
}

describe("a fault plan", () => {
  it("catalogues every point with the place of its single hook", () => {
    expect(FAULT_POINT_NAMES).toEqual([
      "package.read",
      "signature.verify",
      "compile",
      "instantiate",
      "swap",
      "after-swap",
      "before-report",
      "transition.wait",
      "vm-pool.load",
      "install.apply",
      "install.db-write",
      "restart",
    ]);
    for (const name of FAULT_POINT_NAMES) expect(FAULT_POINTS[name].where).toMatch(/^engine\//);
  });

  it("does nothing when unarmed", () => {
    expect(faults.isArmed()).toBe(false);
    for (const name of FAULT_POINT_NAMES) expect(() => faults.hit(name)).not.toThrow();
    expect(faults.report()).toEqual([]);
  });

  it("fires on the nth matching hit, `times` times, and counts every hit", () => {
    faults.arm({ seed: 1, rules: [{ point: "compile", mode: "throw", nth: 3, times: 2 }] });
    const outcomes = Array.from({ length: 6 }, () => outcome(() => faults.hit("compile")));
    expect(outcomes).toEqual(["none", "none", "E_FAULT_INJECTED", "E_FAULT_INJECTED", "none", "none"]);
    expect(faults.report()[0]).toMatchObject({ point: "compile", hits: 6, fires: 2 });
  });

  it("fires with a seeded probability: the same seed gives the same hits", () => {
    const pattern = (seed: number) => {
      faults.arm({ seed, rules: [{ point: "instantiate", mode: "throw", probability: 0.3, times: 0 }] });
      return Array.from({ length: 200 }, () => outcome(() => faults.hit("instantiate")) === "E_FAULT_INJECTED");
    };
    const a = pattern(42);
    expect(pattern(42)).toEqual(a);
    expect(pattern(43)).not.toEqual(a);
    const fired = a.filter(Boolean).length;
    expect(fired).toBeGreaterThan(30);
    expect(fired).toBeLessThan(90);
  });

  it("matches the swap point only after the given number of slots, and crashes the control thread with an uncoded error", () => {
    faults.arm({ seed: 1, rules: [{ point: "swap", mode: "crash", afterSlot: 2 }] });
    expect(outcome(() => faults.hit("swap", { written: 1, total: 2 }))).toBe("none");
    expect(outcome(() => faults.hit("swap", { written: 2, total: 2 }))).toBe("uncoded: injected crash at swap after 2 of 2 slots");
  });

  it("refuses bad plans with E_USAGE", () => {
    refusal(() => faults.arm({ seed: 1, rules: [{ point: "nowhere" as never, mode: "throw" }] }), "E_USAGE");
    refusal(() => faults.arm({ seed: 1, rules: [{ point: "compile", mode: "throw", afterSlot: 1 }] }), "E_USAGE");
    refusal(() => faults.arm({ seed: 1, rules: [{ point: "compile", mode: "explode" as never }] }), "E_USAGE");
    refusal(() => faults.arm({ seed: 1, rules: "all" as never }), "E_USAGE");
    refusal(() => faults.arm({ seed: 1, rules: [null as never] }), "E_USAGE");
    expect(faults.isArmed()).toBe(false);
  });

  it("accepts kill as a mode (a SIGKILL of the OS process: see the killed-process test of automatic patching)", () => {
    expect(faults.checkPlan({ seed: 1, rules: [{ point: "install.apply", mode: "kill" }] }).rules).toHaveLength(1);
  });
});

describe("faults on the apply path of a running process", () => {
  const cases: [faults.FaultRule, string][] = [
    [{ point: "package.read", mode: "throw" }, "E_FAULT_INJECTED"],
    [{ point: "signature.verify", mode: "throw" }, "E_FAULT_INJECTED"],
    [{ point: "compile", mode: "throw" }, "E_FAULT_INJECTED"],
    [{ point: "instantiate", mode: "throw" }, "E_INSTANTIATE"],
    [{ point: "swap", mode: "throw", afterSlot: 1 }, "E_FAULT_INJECTED"],
    [{ point: "swap", mode: "throw", afterSlot: 2 }, "E_FAULT_INJECTED"],
    [{ point: "swap", mode: "crash", afterSlot: 1 }, "uncoded: injected crash at swap after 1 of 2 slots"],
  ];
  for (const [rule, expected] of cases) {
    it(`${rule.point}${rule.afterSlot ? ` after ${rule.afterSlot} of 2 slots` : ""} (${rule.mode}): refused with ${expected.split(":")[0]}, nothing changed, applies next time`, () => {
      const { process, loader } = startProcess(v1);
      faults.arm({ seed: 5, rules: [rule] });
      const before = snapshot(process);
      expect(outcome(() => loader.apply(twoSlots, keys.trust))).toBe(expected);
      expect(faults.report()[0].fires).toBe(1);
      const after = snapshot(process);
      expect(changedSlots(before.entries, after.entries)).toEqual([]);
      expect(after.state).toEqual(before.state);
      expect(loader.installed()).toEqual([]);
      loader.apply(twoSlots, keys.trust);
      expect(loader.installed().map((p) => p.id)).toEqual(["KB5036701"]);
    });
  }

  it("delays without failing", () => {
    const { loader } = startProcess(v1);
    faults.arm({ seed: 5, rules: [{ point: "compile", mode: "delay", delayMs: 5 }] });
    loader.apply(twoSlots, keys.trust);
    expect(faults.report()[0]).toMatchObject({ fires: 1 });
    expect(faults.report()[0].firstFiredAt).toBeGreaterThan(0);
  });
});

describe("a fault between recording an install and applying it", () => {
  it("leaves the run and its history InProgress with nothing installed, and the next run closes it as Failed", async () => {
    const session = new Session(Store.open(join(tempFolder(), "state.db")), { artifactsDir: join(tempFolder(), "artifacts"), seed: 7 });
    const { store } = session;
    createVm(store, { name: "ap1", image: CORE }, new Date("2027-01-20T12:00:00Z"), []);
    const installedBefore = session.installedUpdates("ap1");
    faults.arm({ seed: 1, rules: [{ point: "install.apply", mode: "throw" }] });
    await expect(installUpdates(session, "ap1", {}, new Date("2027-02-10T12:30:00Z"))).rejects.toMatchObject({ code: "E_FAULT_INJECTED" });
    expect(faults.report()[0]).toMatchObject({ hits: 1, fires: 1 });
    faults.disarm();
    expect(store.activities<{ status: string }>("ap1", "Installation").map((a) => a.status)).toEqual(["InProgress"]);
    expect(store.history<{ result: string }>("ap1").map((h) => h.doc.result)).toEqual(["InProgress"]);
    expect(session.installedUpdates("ap1")).toEqual(installedBefore);
    expect(getVm(store, "ap1").osMonth).toBe("2027-01");
    const result = await installUpdates(session, "ap1", {}, new Date("2027-02-10T12:40:00Z"));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });
    expect(store.activities<{ status: string }>("ap1", "Installation").map((a) => a.status)).toEqual(["Failed", "Succeeded"]);
  });
});

describe("a fault plan from the environment of a management command", () => {
  it("reads HOTPATCH_FAULT_PLAN, and HOTPATCH_FAULT=kill-during-install as the rule it stands for", () => {
    const plan = '{"seed": 3, "rules": [{"point": "install.db-write", "mode": "throw"}]}';
    const kill = { point: "install.apply", mode: "kill" };
    expect(faultPlanFromEnvironment({})).toBeUndefined();
    expect(faultPlanFromEnvironment({ HOTPATCH_FAULT: "something-else", HOTPATCH_FAULT_PLAN: " " })).toBeUndefined();
    expect(faultPlanFromEnvironment({ HOTPATCH_FAULT: "kill-during-install" })).toEqual({ seed: 0, rules: [kill] });
    expect(faultPlanFromEnvironment({ HOTPATCH_FAULT_PLAN: plan })).toEqual({ seed: 3, rules: [{ point: "install.db-write", mode: "throw" }] });
    expect(faultPlanFromEnvironment({ HOTPATCH_FAULT_PLAN: plan, HOTPATCH_FAULT: "kill-during-install" })?.rules).toEqual([{ point: "install.db-write", mode: "throw" }, kill]);
    refusal(() => faultPlanFromEnvironment({ HOTPATCH_FAULT_PLAN: '{"seed": 1.5, "rules": []}' }), "E_USAGE");
  });

  it("arms the plan for the command only", async () => {
    const state = join(tempFolder(), "state.db");
    expect((await runCli(["vm", "create", "env1", "--image", CORE, "--state", state, "--now", "2027-02-10T12:00:00Z", "--json"])).status).toBe(0);
    process.env.HOTPATCH_FAULT_PLAN = JSON.stringify({ seed: 1, rules: [{ point: "install.apply", mode: "throw" }] });
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      run = await runCli(["install", "env1", "--state", state, "--json"]);
    } finally {
      delete process.env.HOTPATCH_FAULT_PLAN;
    }
    expect(JSON.parse(run.stdout).error.code).toBe("E_FAULT_INJECTED");
    expect(faults.isArmed()).toBe(false);
    const store = Store.open(state);
    expect(store.activities<{ status: string }>("env1", "Installation").map((a) => a.status)).toEqual(["InProgress"]);
    store.close();
  });
});

describe("a fault in the database write of an install", () => {
  it("keeps the run recorded InProgress, reboots the processes from the records, and the next install succeeds", async () => {
    const session = new Session(Store.open(join(tempFolder(), "state.db")), { artifactsDir: join(tempFolder(), "artifacts"), seed: 7 });
    const { store } = session;
    createVm(store, { name: "db1", image: CORE, timeZone: "America/New_York" }, new Date("2027-01-20T12:00:00Z"), []);
    const installedBefore = session.installedUpdates("db1");
    faults.arm({ seed: 1, rules: [{ point: "install.db-write", mode: "throw" }] });
    await expect(installUpdates(session, "db1", {}, new Date("2027-02-10T12:30:00Z"))).rejects.toMatchObject({ code: "E_FAULT_INJECTED" });
    expect(faults.report()[0].fires).toBe(1);
    faults.disarm();
    // Nothing recorded was lost: the run that was committed InProgress is still there; no install was recorded half-way.
    expect(store.activities<{ status: string }>("db1", "Installation").map((a) => a.status)).toEqual(["InProgress"]);
    expect(session.installedUpdates("db1")).toEqual(installedBefore);
    // Retry: the interrupted run is closed as Failed and the hotpatch installs on processes that match the records.
    const result = await installUpdates(session, "db1", {}, new Date("2027-02-10T12:40:00Z"));
    expect(result).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });
    expect(result.health?.status).toBe("Healthy");
    expect(store.activities<{ status: string }>("db1", "Installation").map((a) => a.status)).toEqual(["Failed", "Succeeded"]);
    expect(getVm(store, "db1").osMonth).toBe("2027-02");
  });
});
