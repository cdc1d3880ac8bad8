/**
 * The result of `hotpatch simulate --schedule` (simulate-schedule.ts) and its
 * text rendering.
 *
 * Contracts:
 * - `--json` prints a ScheduleSimulationReport: `period` (as simulate's),
 *   `schedule` (the maintenance configuration and its runs in the period),
 *   then `automaticVm` and `scheduledVm`: each a VmMetrics of
 *   simulate-report.ts (same headline fields, same meaning) plus
 *   `patchedBy`, `windowsExceeded` and `installs`.
 * - `installs` lists the VM's install runs after provisioning that selected
 *   something (installed, pending or failed); the runs of a schedule that
 *   found nothing to install are only in `schedule.runs`.
 * - The text table is deterministic for a given report.
 */
import type { InstallResult } from "./install.ts";
import { REBOOT_MINUTES } from "./install-time.ts";
import type { MaintenanceConfiguration } from "./maintenance-config.ts";
import type { MaintenanceRun, RunStatus } from "./maintenance-runs.ts";
import type { ReleaseExposure, SimulationReport, VmMetrics } from "./simulate-report.ts";

export interface InstallSummary {
  startedAt: string;
  endedAt: string;
  trigger: string;
  status: string;
  /** KBs installed (a baseline or cumulative image, a hotpatch, …). */
  installed: string[];
  pending: number;
  failed: number;
  reboot: boolean;
  maintenanceWindowExceeded: boolean;
}

export interface ScheduledVmMetrics extends VmMetrics {
  /** "automatic patching, window 22:00-06:00 local" or "maintenance configuration <name>". */
  patchedBy: string;
  /** Install runs whose window ended before everything selected was installed. */
  windowsExceeded: number;
  installs: InstallSummary[];
}

export interface ScheduleRunSummary {
  name: string;
  start: string;
  end: string;
  status: RunStatus;
  finishedAt: string | null;
  installed: number;
  pending: number;
  failed: number;
  rebootStatus: string | null;
}

export interface ScheduleSimulationReport {
  period: SimulationReport["period"];
  schedule: {
    configurationId: string;
    /** formatWindowSummary of maintenance-window.ts. */
    summary: string;
    maintenanceWindow: MaintenanceConfiguration["maintenanceWindow"];
    installPatches: MaintenanceConfiguration["installPatches"];
    /** Windows that start in the period. */
    windows: number;
    runs: { total: number; byStatus: Partial<Record<RunStatus, number>>; withInstalls: number; list: ScheduleRunSummary[] };
  };
  automaticVm: ScheduledVmMetrics;
  scheduledVm: ScheduledVmMetrics;
}

/** One install run, as the report lists it; null when it selected nothing. */
export function installSummary(r: InstallResult): InstallSummary | null {
  if (r.installedPatchCount + r.pendingPatchCount + r.failedPatchCount === 0) return null;
  return {
    startedAt: r.startDateTime,
    endedAt: r.endDateTime ?? r.startDateTime,
    trigger: r.trigger,
    status: r.status,
    installed: r.patches.filter((p) => p.state === "Installed").map((p) => p.kb),
    pending: r.pendingPatchCount,
    failed: r.failedPatchCount,
    reboot: r.reboot !== null,
    maintenanceWindowExceeded: r.maintenanceWindowExceeded,
  };
}

/** A run of the schedule, for the report (its one machine's counts). */
export function runSummary(run: MaintenanceRun): ScheduleRunSummary {
  const sum = (f: (m: MaintenanceRun["machines"][number]) => number) => run.machines.reduce((n, m) => n + f(m), 0);
  return {
    name: run.name,
    start: run.start,
    end: run.end,
    status: run.status,
    finishedAt: run.finishedAt,
    installed: sum((m) => m.installed),
    pending: sum((m) => m.pending),
    failed: sum((m) => m.failed),
    rebootStatus: run.machines[0]?.rebootStatus ?? null,
  };
}

/** The report as a table for people: the two VMs side by side, each release's exposure, the schedule's runs. */
export function renderScheduleSimulationText(report: ScheduleSimulationReport): string {
  const { period: p, schedule: s, automaticVm: a, scheduledVm: m } = report;
  const days = (d: number | null) => (d === null ? "—" : d.toFixed(2));
  const rows: [string, string, string][] = [
    ["OS build: start → end", `${a.vm.provisionedBuild} → ${a.vm.finalBuild}`, `${m.vm.provisionedBuild} → ${m.vm.finalBuild}`],
    ["releases installed", `${a.releasesInstalled} of ${p.releases}`, `${m.releasesInstalled} of ${p.releases}`],
    ["installs", String(a.installs.length), String(m.installs.length)],
    ["reboots", String(a.reboots), String(m.reboots)],
    ["hotpatches applied", String(a.hotpatchesApplied), String(m.hotpatchesApplied)],
    ["baselines / cumulative images", String(a.baselinesInstalled), String(m.baselinesInstalled)],
    ["downtime (s)", a.downtimeSeconds.toFixed(1), m.downtimeSeconds.toFixed(1)],
    ["exposure, mean (days)", days(a.exposureDays.mean), days(m.exposureDays.mean)],
    ["exposure, max (days)", days(a.exposureDays.max), days(m.exposureDays.max)],
    ["not installed at the end", String(a.exposureDays.notInstalledAtEnd), String(m.exposureDays.notInstalledAtEnd)],
    ["windows exceeded", String(a.windowsExceeded), String(m.windowsExceeded)],
    ["install runs (failed, unhealthy)", `${a.installRuns} (${a.failedRuns}, ${a.unhealthyRuns})`, `${m.installRuns} (${m.failedRuns}, ${m.unhealthyRuns})`],
  ];
  const label = (r: ReleaseExposure) =>
    `${r.month} ${r.kb} ${r.type === "baseline" ? (r.planned ? "baseline" : "baseline!") : "hotpatch"}${r.source === "synthetic" ? " (synthetic)" : ""}`;
  const width = Math.max(...rows.map((r) => r[0].length), ...a.releases.map((r) => label(r).length)) + 2;
  const column = Math.max(24, a.patchedBy.length + 2, ...rows.map((r) => r[1].length + 2));
  const line = (x: string, y: string, z: string) => `${x.padEnd(width)}${y.padEnd(column)}${z}`.trimEnd();
  const cell = (x: ReleaseExposure) => (x.installedAt === null ? `${days(x.exposureDays)} d, not installed` : `${days(x.exposureDays)} d, ${x.installedAs}`);
  const statuses = Object.entries(s.runs.byStatus).map(([k, n]) => `${n} ${k}`).join(", ");
  const out = [
    `Simulation ${p.from} → ${p.to} (${p.months} month(s), ${p.timeZone}, seed ${p.seed}), ${p.releases} monthly release(s)`,
    `image ${p.image}; unplanned baselines: ${p.unplanned.length === 0 ? "none" : p.unplanned.join(", ")}${p.history ? "; history: Microsoft's recorded months replayed, the others marked (synthetic)" : ""}`,
    `schedule: ${s.summary}; reboot ${s.installPatches.rebootSetting}, ${s.installPatches.classificationsToInclude.join(", ")}`,
    "",
    line("", "automatic VM", "scheduled VM"),
    line("patched by", a.patchedBy, m.patchedBy),
    ...rows.map((r) => line(...r)),
    "",
    line("release", "automatic VM", "scheduled VM"),
    ...a.releases.map((r, i) => line(label(r), cell(r), cell(m.releases[i]))),
    "",
    `schedule runs: ${s.runs.total} of ${s.windows} window(s) in the period (${statuses || "none"}), ${s.runs.withInstalls} installed something; the runs that selected an update:`,
    ...s.runs.list
      .filter((r) => r.installed + r.pending + r.failed > 0)
      .map((r) => `  ${r.name}  ${r.start} → ${r.finishedAt ?? "—"}  ${r.status}: ${r.installed} installed, ${r.pending} pending, ${r.failed} failed, reboot ${r.rebootStatus}`),
    "",
    `Downtime = emulated reboot downtime (${REBOOT_MINUTES} min per reboot, install time model) + measured restart of the real processes.`,
    "Exposure = release → end of the install run after which the VM runs the fix; a release not installed counts until the end.",
  ];
  return `${out.join("\n")}\n`;
}
