/**
 * A release's platform rollout across a fleet (engine/fleet/rollout.ts),
 * through the real management plane — real packages applied live to real
 * guest processes — on the emulated clock: every VM patched inside its own
 * off-peak window in its own time zone (across a DST change), phase after
 * phase, and a defective release (a trapping handler, a wrong revision) halted
 * after its first batch with the reason named and every other VM NotStarted;
 * patched VMs keep the update (no automatic rollback). The CLI prints the
 * contract's JSON.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { createFleet, parseFleetSpec, placeFleet, planRollout, runRollout } from "../engine/fleet/index.ts";
import { releaseFor, Session, Store } from "../engine/manage/index.ts";
import { SHARED_ARTIFACTS } from "./manage-fixtures.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const BIN = fileURLToPath(new URL("../bin/hotpatch.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "hotpatch-fleet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = {
  image: CORE,
  timezone: "America/New_York",
  groups: [
    { region: "eastus", availabilitySet: "web", updateDomains: 3, faultDomains: 2, count: 6 },
    { region: "eastus", zone: "1", count: 5 },
    { region: "westus", count: 4, timezone: "America/Los_Angeles" },
    { region: "northeurope", count: 3, timezone: "Europe/Dublin" },
  ],
};

async function rollout(month: string, defect?: "traps" | "wrong-revision") {
  const spec = parseFleetSpec(SPEC);
  const vms = placeFleet(spec);
  const release = releaseFor(month);
  const session = new Session(Store.open(":memory:"), { artifactsDir: SHARED_ARTIFACTS, seed: 7, ...(defect ? { faults: { defectiveReleases: { [month]: defect } } } : {}) });
  createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
  return { report: await runRollout(session, vms, planRollout(vms), release, spec.window), session };
}

describe("a fleet rollout", () => {
  it("patches every VM inside its own off-peak window, phase after phase, paired regions apart", async () => {
    // March 2026: the US clocks move on the 8th, Europe's on the 29th; the release is on the 10th.
    const { report, session } = await rollout("2026-03");
    expect(report).toMatchObject({ release: "2026-03", releasedAt: "2026-03-10T18:00:00Z", halted: false, haltReason: null });
    expect(report.vms.every((v) => v.outcome === "Succeeded")).toBe(true);
    for (const vm of report.vms) {
      const local = DateTime.fromISO(vm.patchedFrom!, { zone: vm.timezone });
      const minutes = local.hour * 60 + local.minute;
      expect(minutes >= 22 * 60 || minutes < 6 * 60, `${vm.name} at ${local.toISO()}`).toBe(true);
      expect(Date.parse(vm.patchedTo!) - Date.parse(report.releasedAt)).toBeLessThan(30 * 86_400_000);
      expect(session.installedUpdates(vm.name).some((u) => u.kb === "KB5260300" && u.state === "Installed")).toBe(true);
    }
    // Phases: the smallest region alone first; eastus and its pair westus never together.
    expect(report.phases.map((p) => p.regions)).toEqual([["northeurope"], ["westus"], ["eastus"]]);
    // A phase starts only after the one before it ended.
    for (let i = 1; i < report.phases.length; i++) {
      const endOfPrevious = report.phases[i - 1].batches.map((b) => b.endedAt!).sort().at(-1)!;
      const start = report.phases[i].batches.map((b) => b.startedAt!).sort()[0];
      expect(start >= endOfPrevious).toBe(true);
    }
    // Within a set, one update domain at a time: batches never overlap.
    const sets = report.phases[2].batches.filter((b) => b.unit.startsWith("availability set"));
    expect(sets.map((b) => b.unit)).toEqual(["availability set web, update domain 0", "availability set web, update domain 1", "availability set web, update domain 2"].flatMap((u) => [u, u]));
    for (let i = 1; i < sets.length; i++) expect(sets[i].startedAt! >= sets[i - 1].endedAt!).toBe(true);
  }, 120_000);

  it("keeps within 30 days of the release: VMs whose window opens later stay NotStarted", async () => {
    // One hour a week (Sunday 02:00-03:00 UTC) for 150 VMs of about two minutes each: four Sundays fall inside the 30 days.
    const spec = parseFleetSpec({ image: CORE, window: "Sun 02:00-03:00", groups: [{ region: "eastus", count: 150 }] });
    const vms = placeFleet(spec);
    const release = releaseFor("2026-03");
    const session = new Session(Store.open(":memory:"), { artifactsDir: SHARED_ARTIFACTS, seed: 7 });
    createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
    const report = await runRollout(session, vms, planRollout(vms), release, spec.window);
    expect(report.halted).toBe(false);
    const patched = report.vms.filter((v) => v.outcome === "Succeeded");
    const waiting = report.vms.filter((v) => v.outcome === "NotStarted");
    expect(patched.length).toBeGreaterThan(100);
    expect(waiting.length).toBeGreaterThan(0);
    expect(patched.length + waiting.length).toBe(150);
    for (const vm of patched) {
      const at = DateTime.fromISO(vm.patchedFrom!, { zone: "utc" });
      expect([at.weekday, at.hour], vm.name).toEqual([7, 2]);
      expect(Date.parse(vm.patchedFrom!)).toBeLessThanOrEqual(Date.parse(report.deadline));
    }
    expect(new Set(patched.map((v) => v.patchedFrom!.slice(0, 10)))).toEqual(new Set(["2026-03-15", "2026-03-22", "2026-03-29", "2026-04-05"]));
    for (const vm of waiting) expect(session.installedUpdates(vm.name).some((u) => u.kb === "KB5260300")).toBe(false);
  }, 120_000);

  for (const [defect, reason] of [
    ["traps", /crashed: E_GUEST_TRAP/],
    ["wrong-revision", /run revision \d+, expected \d+/],
  ] as const) {
    it(`halts after the first batch of a release that ${defect === "traps" ? "traps" : "reports the wrong revision"}, and keeps what it patched`, async () => {
      const { report, session } = await rollout("2026-03", defect);
      expect(report.halted).toBe(true);
      expect(report.haltReason).toMatch(reason);
      const first = report.phases[0].batches[0];
      expect(first.outcome).toBe("Unhealthy");
      const unhealthy = report.vms.filter((v) => v.outcome === "Unhealthy").map((v) => v.name);
      expect(unhealthy.sort()).toEqual([...first.vms].sort());
      expect(report.vms.filter((v) => !first.vms.includes(v.name)).every((v) => v.outcome === "NotStarted" && v.patchedFrom === null)).toBe(true);
      for (const name of first.vms) expect(session.installedUpdates(name).some((u) => u.kb === "KB5260300")).toBe(true); // no automatic rollback
    }, 120_000);
  }

  it("runs from the CLI and prints the contract's JSON; a bad spec is refused naming its field", () => {
    const specPath = join(dir, "fleet.json");
    writeFileSync(specPath, JSON.stringify(SPEC));
    const out = execFileSync(process.execPath, [BIN, "fleet", "rollout", "--spec", specPath, "--release", "2026-03", "--json"], { encoding: "utf8" });
    const report = JSON.parse(out);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(["release", "releasedAt", "halted", "haltReason", "phases", "vms"]));
    expect(Object.keys(report.vms[0]).sort()).toEqual(
      ["availabilitySet", "downtimeSeconds", "faultDomain", "name", "outcome", "patchedFrom", "patchedTo", "region", "scaleSet", "timezone", "updateDomain", "zone"].sort(),
    );
    expect(report.vms.find((v: { name: string }) => v.name === "web-2")).toMatchObject({ availabilitySet: "web", updateDomain: 1, faultDomain: 1, zone: null });
    writeFileSync(specPath, JSON.stringify({ ...SPEC, groups: [{ region: "eastus", zone: "1", availabilitySet: "web", count: 2 }] }));
    let stderr = "";
    try {
      execFileSync(process.execPath, [BIN, "fleet", "rollout", "--spec", specPath, "--release", "2026-03"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      stderr = String((error as { stderr: string }).stderr);
    }
    expect(stderr).toMatch(/E_USAGE.*groups\[0\] names both a zone and an availability set/);
  }, 120_000);

  it("keeps a fleet in a state: a halted rollout is looked at, resumed (halting again on the next bad batch) and stopped", () => {
    const specPath = join(dir, "fleet-state.json");
    const state = join(dir, "fleet.db");
    writeFileSync(specPath, JSON.stringify(SPEC));
    const cli = (...args: string[]) => {
      try {
        return { code: 0, out: execFileSync(process.execPath, [BIN, "fleet", ...args, "--state", state], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
      } catch (error) {
        const e = error as { status: number; stdout: string; stderr: string };
        return { code: e.status, out: e.stdout + e.stderr };
      }
    };
    expect(cli("create", "--spec", specPath, "--now", "2026-03-09T12:00:00Z").out).toContain("created a fleet of 18 VMs in eastus, westus, northeurope");
    // A clock advance does not patch fleet members: their rollouts do.
    execFileSync(process.execPath, [BIN, "clock", "advance", "P2D", "--state", state], { encoding: "utf8" });
    expect(JSON.parse(cli("status", "--json").out)).toEqual({ vms: 18, regions: { eastus: 11, westus: 4, northeurope: 3 }, rollouts: [] });
    const first = cli("rollout", "--release", "2026-03", "--defective-release", "trap", "--json");
    expect(first.code).toBe(1);
    const halted = JSON.parse(first.out);
    expect(halted).toMatchObject({ status: "Halted", halted: true });
    expect(halted.vms.filter((v: { outcome: string }) => v.outcome === "Unhealthy")).toHaveLength(halted.phases[0].batches[0].vms.length);
    expect(cli("rollout", "--release", "2026-03").out).toMatch(/E_USAGE: the rollout of 2026-03 ran already \(Halted\); resume or stop it/);
    // Resumed with the release still defective: the next batch halts it again, the first stays as it ended.
    const again = JSON.parse(cli("resume", "--release", "2026-03", "--defective-release", "trap", "--json").out);
    expect(again).toMatchObject({ status: "Halted", halted: true });
    const started = again.phases.flatMap((p: { batches: { outcome: string }[] }) => p.batches).filter((b: { outcome: string }) => b.outcome !== "NotStarted");
    expect(started.map((b: { outcome: string }) => b.outcome)).toEqual(["Unhealthy", "Unhealthy"]);
    expect(cli("stop", "--release", "2026-03").code).toBe(0);
    expect(JSON.parse(cli("status", "--json").out).rollouts).toEqual([
      { release: "2026-03", status: "Stopped", haltReason: expect.stringMatching(/crashed: E_GUEST_TRAP/), succeeded: 0, unhealthy: again.vms.filter((v: { outcome: string }) => v.outcome === "Unhealthy").length, notStarted: 18 - started.flatMap((b: { vms: string[] }) => b.vms).length },
    ]);
    expect(cli("resume", "--release", "2026-03").out).toMatch(/E_USAGE: the rollout of 2026-03 is Stopped: only a halted rollout can be resumed/);
  }, 120_000);
});
