import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../engine/errors.ts";
import { simulate } from "../engine/manage/index.ts";
import { REBOOT_MINUTES } from "../engine/manage/install-time.ts";
import type { SimulationReport, VmMetrics } from "../engine/manage/simulate-report.ts";
import { planSimulation } from "../engine/manage/simulate.ts";
import { runCli } from "./cli-runner.ts";
import { CORE, SHARED_ARTIFACTS, STANDARD } from "./manage-fixtures.ts";
import { refusal } from "./refusal.ts";

// Cold, a year builds ~14 images and ~9 packages (cached in SHARED_ARTIFACTS for later runs);
// warm it runs in a few seconds. The timeout is a safety net for a cold, loaded machine.
const COLD = 180_000;
const year = (unplanned: string[] = []) => simulate({ image: CORE, from: "2027-01-01", months: 12, unplanned, artifactsDir: SHARED_ARTIFACTS });

/** The first Sunday after a release instant, as a UTC date (the standard VM's window is Sun 02:00-06:00 UTC). */
function sundayAfter(releasedAt: string): string {
  let day = DateTime.fromISO(releasedAt, { zone: "utc" }).plus({ days: 1 }).startOf("day");
  while (day.weekday !== 7) day = day.plus({ days: 1 });
  return day.toISODate()!;
}

function commonChecks(report: SimulationReport): void {
  const { hotpatchVm: hot, standardVm: std } = report;
  expect(report.period).toMatchObject({ from: "2027-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z", releases: 12 });
  for (const vm of [hot, std]) {
    expect(vm.releasesInstalled).toBe(12);
    expect(vm.exposureDays.notInstalledAtEnd).toBe(0);
    expect(vm.downtime.emulatedRebootSeconds).toBe(vm.reboots * REBOOT_MINUTES * 60);
    expect(vm.downtimeSeconds).toBeCloseTo(vm.downtime.emulatedRebootSeconds + vm.downtime.measuredRestartSeconds, 3);
    expect(vm.downtime.measuredRestartSeconds).toBeGreaterThan(0); // real processes were really restarted
    expect(vm.stateLost.requests).toBeGreaterThan(0); // ... and lost what they held
    expect(vm).toMatchObject({ failedRuns: 0, unhealthyRuns: 0, installRuns: 12 });
    expect(vm.vm).toMatchObject({ provisionedBuild: "20348.4050", finalBuild: "20348.4650" });
  }
  // The standard VM reboots for every monthly cumulative update, on the Sunday after Patch Tuesday.
  expect(std).toMatchObject({ reboots: 12, hotpatchesApplied: 0, baselinesInstalled: 12 });
  for (const r of std.releases) {
    expect(r.installedAs).toBe("cumulative");
    expect(r.installedAt!.slice(0, 10)).toBe(sundayAfter(r.releasedAt));
  }
  // The hotpatch VM installs in the off-peak window of the release day (22:00 UTC).
  for (const r of hot.releases) expect(r.installedAt!.slice(0, 13)).toBe(`${r.releasedAt.slice(0, 10)}T22`);
  // S2, measured: less downtime and a shorter exposure.
  expect(hot.downtimeSeconds).toBeLessThan(std.downtimeSeconds);
  expect(hot.exposureDays.mean!).toBeLessThan(std.exposureDays.mean!);
  expect(hot.exposureDays.max!).toBeLessThan(std.exposureDays.max!);
  expect(hot.stateLost.requests).toBeLessThan(std.stateLost.requests);
}

const baselineMonths = (vm: VmMetrics) => vm.releases.filter((r) => r.installedAs === "baseline").map((r) => r.month);

describe("hotpatch simulate: a hotpatch VM and a standard VM through 2027 (S2)", () => {
  it(
    "without unplanned baselines: the hotpatch VM reboots only for the four planned baselines",
    async () => {
      const report = await year();
      commonChecks(report);
      expect(report.hotpatchVm).toMatchObject({ reboots: 4, hotpatchesApplied: 8, baselinesInstalled: 4 });
      expect(baselineMonths(report.hotpatchVm)).toEqual(["2027-01", "2027-04", "2027-07", "2027-10"]);
      expect(report.hotpatchVm.hotpatchApplyMicrosMax).toBeGreaterThan(0);
    },
    COLD,
  );

  it(
    "with an unplanned baseline in May: one more reboot, one hotpatch fewer; the standard VM is unchanged",
    async () => {
      const report = await year(["2027-05"]);
      commonChecks(report);
      expect(report.period.unplanned).toEqual(["2027-05"]);
      expect(report.hotpatchVm).toMatchObject({ reboots: 5, hotpatchesApplied: 7, baselinesInstalled: 5 });
      expect(baselineMonths(report.hotpatchVm)).toEqual(["2027-01", "2027-04", "2027-05", "2027-07", "2027-10"]);
      expect(report.hotpatchVm.releases.find((r) => r.month === "2027-05")).toMatchObject({ type: "baseline", planned: false });
      expect(report.standardVm).toMatchObject({ reboots: 12, hotpatchesApplied: 0, baselinesInstalled: 12 });
    },
    COLD,
  );

  it(
    "counts a release not installed by the end until the end, and prints JSON and a table through the CLI",
    async () => {
      // 2027-11-17 → 2027-12-17 holds one release (Tue Dec 14, 18:00Z); the standard VM's Sunday comes after the end.
      const args = ["simulate", "--image", CORE, "--from", "2027-11-17", "--months", "1", "--artifacts", SHARED_ARTIFACTS, "--quiet"];
      const json = await runCli([...args, "--json"]);
      expect(json.status).toBe(0);
      const report = JSON.parse(json.stdout) as SimulationReport;
      expect(Object.keys(report)).toEqual(["period", "hotpatchVm", "standardVm"]);
      expect(Object.keys(report.hotpatchVm).slice(0, 5)).toEqual(["reboots", "hotpatchesApplied", "baselinesInstalled", "downtimeSeconds", "exposureDays"]);
      expect(report.standardVm.releases).toEqual([
        expect.objectContaining({ kb: "KB5271200", installedAt: null, installedAs: null, exposureDays: 2.25 }),
      ]);
      expect(report.standardVm.exposureDays).toEqual({ mean: 2.25, max: 2.25, notInstalledAtEnd: 1 });
      expect(report.standardVm.reboots).toBe(0); // provisioning (its Nov cumulative update) is not counted
      expect(report.hotpatchVm).toMatchObject({ reboots: 0, hotpatchesApplied: 1, releasesInstalled: 1 });
      const text = await runCli(args);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/hotpatch VM\s+standard VM/);
      expect(text.stdout).toMatch(/2027-12 KB5271200 hotpatch\s+0\.\d\d d, hotpatch\s+2\.25 d, not installed/);
    },
    COLD,
  );
});

describe("hotpatch simulate refuses bad input before it builds or runs anything", () => {
  const base = { image: CORE, from: "2027-01-01", months: 12 };
  const cases: [string, Partial<Parameters<typeof planSimulation>[0]>, ErrorCode][] = [
    ["a malformed date", { from: "2027-1-1" }, "E_USAGE"],
    ["an impossible date", { from: "2027-02-30" }, "E_USAGE"],
    ["zero months", { months: 0 }, "E_USAGE"],
    ["an absurd number of months", { months: 600 }, "E_USAGE"],
    ["a fraction of a month", { months: 1.5 }, "E_USAGE"],
    ["an unplanned baseline outside the period", { unplanned: ["2028-02"] }, "E_USAGE"],
    ["an unplanned baseline before the start", { from: "2027-06-01", unplanned: ["2027-05"] }, "E_USAGE"],
    ["an unplanned baseline on a planned baseline month", { unplanned: ["2027-07"] }, "E_USAGE"],
    ["a malformed unplanned month", { unplanned: ["May"] }, "E_USAGE"],
    ["an impossible time zone", { timeZone: "Mars/Olympus" }, "E_USAGE"],
    ["a bad maintenance window", { standardWindow: "Sunday 2am" }, "E_USAGE"],
    ["a period past the calendar", { from: "2099-06-01" }, "E_USAGE"],
    ["a negative seed", { seed: -1 }, "E_USAGE"],
    ["a malformed image reference", { image: "WindowsServer" }, "E_USAGE"],
    ["an image that cannot run hotpatch", { image: STANDARD }, "E_NOT_ELIGIBLE"],
  ];
  for (const [what, change, expected] of cases) {
    it(`refuses ${what} with ${expected}`, () => {
      refusal(() => planSimulation({ ...base, ...change }), expected);
    });
  }

  it("reports a refusal through the CLI as JSON with a non-zero exit", async () => {
    const result = await runCli(["simulate", "--image", CORE, "--from", "2027-01-01", "--months", "-2", "--json"]);
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error.code).toBe("E_USAGE");
    const ineligible = await runCli(["simulate", "--image", STANDARD, "--from", "2027-01-01", "--months", "12", "--json"]);
    expect(ineligible.status).toBe(1);
    expect(JSON.parse(ineligible.stdout).error).toMatchObject({ code: "E_NOT_ELIGIBLE", message: expect.stringMatching(/does not support hotpatch/) });
  });
});
