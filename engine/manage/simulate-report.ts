/**
 * The result of `hotpatch simulate` (simulate.ts) and its text rendering.
 *
 * Contracts:
 * - `--json` prints a SimulationReport: `period`, then `hotpatchVm` and
 *   `standardVm`, each a VmMetrics whose first five fields are the headline
 *   (`reboots`, `hotpatchesApplied`, `baselinesInstalled`, `downtimeSeconds`,
 *   `exposureDays` {mean, max}); the rest show where they come from.
 * - Exposure in days at 3 decimals (about a minute and a half); seconds at
 *   3 decimals. `exposureDays.mean` / `max` are null when the period holds
 *   no release.
 * - The text table is deterministic for a given report.
 */
import type { MonthId, ReleaseType } from "./calendar.ts";
import { REBOOT_MINUTES } from "./install-time.ts";

export interface ReleaseExposure {
  kb: string;
  month: MonthId;
  type: ReleaseType;
  planned: boolean;
  releasedAt: string;
  /** End of the install run after which the VM runs this release; null if it never did before the end. */
  installedAt: string | null;
  /** "hotpatch", "baseline", "cumulative" (a full image without hotpatch), or "superseded" (a later KB brought it). */
  installedAs: string | null;
  installedWith: string | null;
  /** Release to installedAt, or to the end of the period when not installed. */
  exposureDays: number;
  /** History mode only: Microsoft's record or the synthetic calendar. */
  source?: "recorded" | "synthetic";
}

export interface VmMetrics {
  reboots: number;
  hotpatchesApplied: number;
  /** Releases installed as a new image with a reboot: baselines, or every cumulative update without hotpatch. */
  baselinesInstalled: number;
  /** downtime.emulatedRebootSeconds + downtime.measuredRestartSeconds. */
  downtimeSeconds: number;
  exposureDays: { mean: number | null; max: number | null; notInstalledAtEnd: number };
  releasesInstalled: number;
  downtime: { emulatedRebootSeconds: number; measuredRestartSeconds: number };
  installRuns: number;
  failedRuns: number;
  unhealthyRuns: number;
  /** Slowest live apply of a hotpatch on one process (µs, measured; not downtime: the process keeps its state). */
  hotpatchApplyMicrosMax: number;
  /** In-memory state the processes held before each reboot, summed. */
  stateLost: { keys: number; requests: number };
  /** Seeded load requests the VM's processes served (and failed with a guest trap) since it was created. */
  load: { served: number; failed: number };
  vm: {
    name: string;
    hotpatch: boolean;
    patchMode: string | null;
    window: string;
    timeZone: string;
    processes: number;
    provisionedBuild: string;
    finalBuild: string;
  };
  releases: ReleaseExposure[];
}

export interface SimulationReport {
  period: {
    image: string;
    from: string;
    to: string;
    months: number;
    timeZone: string;
    unplanned: MonthId[];
    seed: number;
    /** Monthly security releases published in the period. */
    releases: number;
    /** Set only for Windows Server 2025 images. */
    os?: string;
    /** Set (true) only when the recorded history was replayed. */
    history?: boolean;
  };
  hotpatchVm: VmMetrics;
  standardVm: VmMetrics;
}

export function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** The report as a table for people: the two VMs side by side, then each release's exposure. */
export function renderSimulationText(report: SimulationReport): string {
  const { period: p, hotpatchVm: h, standardVm: s } = report;
  const days = (d: number | null) => (d === null ? "—" : d.toFixed(2));
  const rows: [string, string, string][] = [
    ["install window (local)", h.vm.window, s.vm.window],
    ["OS build: start → end", `${h.vm.provisionedBuild} → ${h.vm.finalBuild}`, `${s.vm.provisionedBuild} → ${s.vm.finalBuild}`],
    ["releases installed", `${h.releasesInstalled} of ${p.releases}`, `${s.releasesInstalled} of ${p.releases}`],
    ["reboots", String(h.reboots), String(s.reboots)],
    ["hotpatches applied", String(h.hotpatchesApplied), String(s.hotpatchesApplied)],
    ["baselines / cumulative images", String(h.baselinesInstalled), String(s.baselinesInstalled)],
    ["downtime (s)", h.downtimeSeconds.toFixed(1), s.downtimeSeconds.toFixed(1)],
    ["  emulated reboots (s)", String(h.downtime.emulatedRebootSeconds), String(s.downtime.emulatedRebootSeconds)],
    ["  measured restarts (s)", h.downtime.measuredRestartSeconds.toFixed(3), s.downtime.measuredRestartSeconds.toFixed(3)],
    ["exposure, mean (days)", days(h.exposureDays.mean), days(s.exposureDays.mean)],
    ["exposure, max (days)", days(h.exposureDays.max), days(s.exposureDays.max)],
    ["not installed at the end", String(h.exposureDays.notInstalledAtEnd), String(s.exposureDays.notInstalledAtEnd)],
    ["state lost at reboots (keys)", String(h.stateLost.keys), String(s.stateLost.keys)],
    ["install runs (failed, unhealthy)", `${h.installRuns} (${h.failedRuns}, ${h.unhealthyRuns})`, `${s.installRuns} (${s.failedRuns}, ${s.unhealthyRuns})`],
  ];
  const label = (r: ReleaseExposure) =>
    `${r.month} ${r.kb} ${r.type === "baseline" ? (r.planned ? "baseline" : "baseline!") : "hotpatch"}${r.source === "synthetic" ? " (synthetic)" : ""}`;
  const width = Math.max(...rows.map((r) => r[0].length), ...h.releases.map((r) => label(r).length)) + 2;
  const column = Math.max(16, ...rows.map((r) => r[1].length + 2));
  const line = (a: string, b: string, c: string) => `${a.padEnd(width)}${b.padEnd(column)}${c}`.trimEnd();
  const out = [
    `Simulation ${p.from} → ${p.to} (${p.months} month(s), ${p.timeZone}, seed ${p.seed}), ${p.releases} monthly release(s)`,
    `image ${p.image}; unplanned baselines: ${p.unplanned.length === 0 ? "none" : p.unplanned.join(", ")}${p.history ? "; history: Microsoft's recorded months replayed, the others marked (synthetic)" : ""}`,
    "",
    line("", "hotpatch VM", "standard VM"),
    ...rows.map((r) => line(...r)),
    "",
    line("release", "hotpatch VM", "standard VM"),
  ];
  h.releases.forEach((r, i) => {
    const other = s.releases[i];
    const cell = (x: ReleaseExposure) => (x.installedAt === null ? `${days(x.exposureDays)} d, not installed` : `${days(x.exposureDays)} d, ${x.installedAs}`);
    out.push(line(label(r), cell(r), cell(other)));
  });
  out.push(
    "",
    `Downtime = emulated reboot downtime (${REBOOT_MINUTES} min per reboot, install time model) + measured restart of the real processes.`,
    "Exposure = release → end of the install run after which the VM runs the fix; a release not installed counts until the end.",
  );
  return `${out.join("\n")}\n`;
}
