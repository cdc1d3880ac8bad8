/**
 * `hotpatch simulate --schedule`: a year of a Windows Server 2025 VM (the
 * recorded release history) on a customer-managed schedule against the same
 * image on automatic patching, each through the real management plane, real
 * images and real hotpatches (one process per VM, to stay quick).
 */
import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../engine/errors.ts";
import { REBOOT_MINUTES } from "../engine/manage/install-time.ts";
import { parseMaintenanceWindow, windowsBetween } from "../engine/manage/maintenance-window.ts";
import type { ScheduledVmMetrics, ScheduleSimulationReport } from "../engine/manage/simulate-schedule-report.ts";
import { planScheduleSimulation, type ScheduleSpec, simulateSchedule } from "../engine/manage/simulate-schedule.ts";
import { runCli } from "./cli-runner.ts";
import { CORE, SHARED_ARTIFACTS } from "./manage-fixtures.ts";
import { refusal } from "./refusal.ts";

const WS2025 = "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition-core";
const DAY = 86_400_000;
// Cold, the 2025 line's images and packages are built once into SHARED_ARTIFACTS; warm a year takes a few seconds.
const COLD = 180_000;
const WEEKLY: ScheduleSpec = { recurEvery: "Week Saturday", start: "22:00", duration: "03:00", timeZone: "W. Europe Standard Time" };

const year = (schedule: ScheduleSpec, months = 12) =>
  simulateSchedule({ image: WS2025, from: "2025-01-01", months, history: true, timeZone: "Europe/Berlin", processes: 1, artifactsDir: SHARED_ARTIFACTS, schedule });

const baselineKbs = (r: ScheduleSimulationReport) => r.automaticVm.releases.filter((x) => x.type === "baseline").map((x) => x.kb);
const rebootedFor = (vm: ScheduledVmMetrics) => vm.installs.filter((i) => i.reboot).flatMap((i) => i.installed);

/** What must hold of any run: every release installed on both, reboots only for baselines, installs inside the windows. */
function checkYear(report: ScheduleSimulationReport, periodDays: number): void {
  const { automaticVm: auto, scheduledVm: sched, schedule } = report;
  expect(report.period).toMatchObject({ os: "2025", history: true, releases: 12, from: "2024-12-31T23:00:00Z", to: "2025-12-31T23:00:00Z" });
  for (const vm of [auto, sched]) {
    expect(vm).toMatchObject({ releasesInstalled: 12, failedRuns: 0, unhealthyRuns: 0, windowsExceeded: 0 });
    expect(vm.exposureDays.notInstalledAtEnd).toBe(0);
    expect(vm.vm).toMatchObject({ hotpatch: true, patchMode: "AutomaticByPlatform", processes: 1 });
    expect(vm.vm.finalBuild).toBe(auto.vm.finalBuild);
    // Hotpatch VMs: a reboot for each baseline and for nothing else.
    expect(vm.reboots).toBe(baselineKbs(report).length);
    expect(rebootedFor(vm)).toEqual(baselineKbs(report));
    expect(vm.hotpatchesApplied + vm.baselinesInstalled).toBe(12);
    expect(vm.downtime.emulatedRebootSeconds).toBe(vm.reboots * REBOOT_MINUTES * 60);
  }
  expect(auto.installs.every((i) => i.trigger === "AutomaticByPlatform")).toBe(true);
  expect(sched.installs.every((i) => i.trigger === "MaintenanceConfiguration")).toBe(true);
  // Every scheduled install starts at the start of one of the schedule's windows and ends inside it.
  const windows = windowsBetween(parseMaintenanceWindow(schedule.maintenanceWindow), new Date(report.period.from), new Date(report.period.to));
  expect(schedule.windows).toBe(windows.length);
  expect(schedule.runs.total).toBe(windows.length);
  expect(schedule.runs.byStatus).toEqual({ Succeeded: windows.length });
  for (const i of sched.installs) {
    const w = windows.find((x) => x.start.getTime() === Date.parse(i.startedAt));
    expect(w, `install at ${i.startedAt} starts no window`).toBeDefined();
    expect(Date.parse(i.endedAt)).toBeLessThanOrEqual(w!.end.getTime());
  }
  expect(schedule.runs.list.map((r) => r.start)).toEqual(windows.map((w) => w.start.toISOString().replace(".000Z", "Z")));
  // Exposure on the schedule: never negative, never more than one period of the recurrence plus the window.
  const bound = periodDays + 3 / 24;
  for (const r of sched.releases) {
    expect(r.exposureDays).toBeGreaterThanOrEqual(0);
    expect(r.exposureDays).toBeLessThanOrEqual(bound);
  }
  // Automatic patching installs the same night (22:00 Berlin is 3 or 4 hours after the 18:00Z release).
  for (const r of auto.releases) expect(r.exposureDays).toBeLessThan(0.25);
  expect(sched.exposureDays.mean!).toBeGreaterThan(auto.exposureDays.mean!);
}

describe("hotpatch simulate --schedule: a 2025 VM on a schedule against automatic patching", () => {
  let weekly: ScheduleSimulationReport;

  it(
    "weekly on Saturday 22:00 W. Europe: every release within the week, reboots only for baselines, installs in the windows",
    async () => {
      weekly = await year(WEEKLY);
      checkYear(weekly, 7);
      expect(weekly.schedule.runs.total).toBe(52);
      expect(weekly.schedule.runs.withInstalls).toBe(12);
      expect(weekly.scheduledVm.installRuns).toBe(52); // each window ran, most found nothing to install
      expect(weekly.automaticVm.installRuns).toBe(12);
      // The recorded 2025 history: the four baselines are Microsoft's.
      expect(baselineKbs(weekly)).toEqual(["KB5050009", "KB5055523", "KB5062553", "KB5066835"]);
      // The Saturday after Patch Tuesday at 22:00 Berlin: four days and three or four hours later.
      for (const r of weekly.scheduledVm.releases) expect(r.exposureDays).toBeGreaterThan(4);
      expect(weekly.scheduledVm.exposureDays.max!).toBeLessThan(4.2);
    },
    COLD,
  );

  it(
    "monthly: Second Tuesday Offset4 is that same Saturday in 12 runs; the last Saturday of the month exposes longer",
    async () => {
      const offset4 = await year({ ...WEEKLY, recurEvery: "Month Second Tuesday Offset4" });
      checkYear(offset4, 31);
      expect(offset4.schedule.runs.total).toBe(12);
      expect(offset4.scheduledVm.releases.map((r) => [r.kb, r.installedAt])).toEqual(weekly.scheduledVm.releases.map((r) => [r.kb, r.installedAt]));
      const last = await year({ ...WEEKLY, recurEvery: "Month Last Saturday" });
      checkYear(last, 31);
      expect(last.scheduledVm.exposureDays.mean!).toBeGreaterThan(weekly.scheduledVm.exposureDays.mean! + 7);
      expect(last.scheduledVm.exposureDays.max!).toBeGreaterThan(weekly.scheduledVm.exposureDays.max!);
      for (const [i, r] of last.scheduledVm.releases.entries()) expect(r.exposureDays).toBeGreaterThan(weekly.scheduledVm.releases[i].exposureDays);
    },
    COLD,
  );

  it(
    "a window too short for a baseline is exceeded every week and leaves the VM behind",
    async () => {
      const report = await year({ ...WEEKLY, duration: "00:15" }, 2);
      const { scheduledVm: sched, automaticVm: auto } = report;
      expect(auto).toMatchObject({ releasesInstalled: 2, windowsExceeded: 0 });
      expect(sched).toMatchObject({ releasesInstalled: 0, reboots: 0 });
      expect(sched.exposureDays.notInstalledAtEnd).toBe(2);
      expect(sched.windowsExceeded).toBe(report.schedule.runs.byStatus.CompletedWithWarnings);
      expect(sched.windowsExceeded).toBeGreaterThan(0);
      expect(sched.installs.every((i) => i.maintenanceWindowExceeded && i.installed.length === 0 && i.pending > 0)).toBe(true);
      const end = Date.parse(report.period.to);
      for (const r of sched.releases) expect(r.exposureDays).toBeCloseTo((end - Date.parse(r.releasedAt)) / DAY, 2);
    },
    COLD,
  );

  it(
    "through the CLI: --schedule prints the two VMs side by side, and --json the report",
    async () => {
      const args = ["simulate", "--image", WS2025, "--from", "2025-01-01", "--months", "1", "--history", "--timezone", "Europe/Berlin", "--processes", "1"];
      const schedule = ["--schedule", "Week Saturday", "--schedule-time-zone", "W. Europe Standard Time", "--artifacts", SHARED_ARTIFACTS, "--quiet"];
      const text = await runCli([...args, ...schedule]);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/automatic VM\s+scheduled VM/);
      expect(text.stdout).toMatch(/schedule: every Saturday at 22:00 W\. Europe Standard Time \(Europe\/Berlin\) for 03:00/);
      expect(text.stdout).toMatch(/2025-01 KB5050009 baseline\s+0\.14 d, baseline\s+4\.14 d, baseline/);
      expect(text.stdout).toMatch(/schedule runs: 4 of 4 window\(s\) in the period \(4 Succeeded\), 1 installed something/);
      const json = await runCli([...args, ...schedule, "--json"]);
      const report = JSON.parse(json.stdout) as ScheduleSimulationReport;
      expect(Object.keys(report)).toEqual(["period", "schedule", "automaticVm", "scheduledVm"]);
      expect(report.schedule.configurationId).toMatch(/\/providers\/Microsoft\.Maintenance\/maintenanceConfigurations\/simulated-schedule$/);
      expect(report.schedule.maintenanceWindow).toMatchObject({ startDateTime: "2025-01-01 22:00", duration: "03:00", recurEvery: "Week Saturday" });
    },
    COLD,
  );
});

describe("hotpatch simulate --schedule refuses bad input before it builds anything", () => {
  const base = { image: WS2025, from: "2025-01-01", months: 12, schedule: WEEKLY };
  const cases: [string, Partial<ScheduleSpec>, string][] = [
    ["a malformed recurrence", { recurEvery: "Fortnight" }, "maintenanceWindow.recurEvery"],
    ["an IANA time zone", { timeZone: "Europe/Berlin" }, "W. Europe Standard Time"],
    ["a window longer than 03:55", { duration: "04:00" }, "maintenanceWindow.duration"],
    ["a malformed start", { start: "10pm" }, "maintenanceWindow.startDateTime"],
    ["a schedule starting after the period", { start: "2026-02-01 22:00" }, "no window in the period"],
    ["an unknown reboot setting", { reboot: "Sometimes" }, "reboot setting"],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(refusal(() => planScheduleSimulation({ ...base, schedule: { ...WEEKLY, ...change } }), "E_USAGE").message).toContain(message);
    });
  }

  it("refuses the simulation's own bad input and an image that cannot run hotpatch", () => {
    refusal(() => planScheduleSimulation({ ...base, months: 0 }), "E_USAGE");
    refusal(() => planScheduleSimulation({ ...base, image: "MicrosoftWindowsServer:WindowsServer:2025-datacenter" }), "E_NOT_ELIGIBLE");
  });

  it("refuses flags that do not go together through the CLI", async () => {
    const cases: [string[], ErrorCode, string][] = [
      [["--image", CORE, "--schedule-start", "22:00"], "E_USAGE", "need --schedule"],
      [["--fleet", "x.json", "--schedule", "Week Saturday"], "E_USAGE", "--schedule"],
      [["--image", CORE, "--schedule", "Week Saturday", "--standard-window", "Sun 02:00-06:00"], "E_USAGE", "--standard-window"],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(["simulate", ...args, "--from", "2027-01-01", "--months", "1", "--json"]);
      expect(run.status).toBe(2);
      expect(JSON.parse(run.stdout).error).toMatchObject({ code, message: expect.stringContaining(message) });
    }
  });
});
