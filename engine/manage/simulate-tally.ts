/**
 * What happened to one VM of a simulation (simulate.ts, simulate-schedule.ts),
 * counted from its installation results: the VmMetrics of simulate-report.ts.
 *
 * Contracts:
 * - `add` counts one install run after provisioning (automatic or a
 *   schedule's); `osMonth` is the VM's OS level after it. A release counts as
 *   installed at the end of the first run after which the VM runs it (its
 *   own KB or a later cumulative one: "superseded").
 * - Exposure of a release = from its release to that run's end, or to the
 *   end of the period when it never ran; days at 3 decimals.
 */
import type { MonthId, ReleaseMonth } from "./calendar.ts";
import type { InstallResult } from "./install.ts";
import { type VmMetrics, round } from "./simulate-report.ts";
import type { VmRecord } from "./vm.ts";

const DAY_MILLIS = 86_400_000;

/** What a tally needs of the period. */
export interface TallyPeriod {
  end: Date;
  releases: readonly ReleaseMonth[];
}

/** What happened to one VM in the period, from its automatic installation results. */
export class Tally {
  provisioned = { osBuild: "", at: "" };
  private reboots = 0;
  private hotpatches = 0;
  private images = 0;
  private emulatedRebootSeconds = 0;
  private measuredRestartMillis = 0;
  private stateLost = { keys: 0, requests: 0 };
  private runs = 0;
  private failedRuns = 0;
  private unhealthyRuns = 0;
  private applyMicrosMax = 0;
  private readonly installed = new Map<MonthId, { at: string; as: string; with: string }>();

  constructor(private readonly plan: TallyPeriod) {}

  /** Counts one automatic installation run; `osMonth` is the VM's OS level after it. */
  add(run: InstallResult, osMonth: MonthId): void {
    this.runs += 1;
    if (run.status === "Failed") this.failedRuns += 1;
    if (run.health?.status === "Unhealthy") this.unhealthyRuns += 1;
    if (run.reboot !== null) {
      this.reboots += 1;
      this.emulatedRebootSeconds += run.reboot.emulatedDowntimeSeconds;
      this.measuredRestartMillis += run.reboot.downtimeMillis;
      this.stateLost.keys += run.reboot.stateLost.keys;
      this.stateLost.requests += run.reboot.stateLost.requests;
    }
    const releaseKbs = new Set(this.plan.releases.map((r) => r.kb));
    let installedKb = "";
    let installedAs = "";
    for (const p of run.patches) {
      if (p.state !== "Installed" || !releaseKbs.has(p.kb)) continue;
      installedKb = p.kb;
      if (p.kind === "hotpatch") {
        this.hotpatches += 1;
        this.applyMicrosMax = Math.max(this.applyMicrosMax, p.applyMicros ?? 0);
        installedAs = "hotpatch";
      } else {
        this.images += 1;
        installedAs = p.kind === "baseline" ? "baseline" : "cumulative";
      }
    }
    for (const r of this.plan.releases) {
      if (r.month > osMonth || this.installed.has(r.month)) continue;
      const own = r.kb === installedKb;
      this.installed.set(r.month, { at: run.endDateTime!, as: own ? installedAs : "superseded", with: own ? r.kb : installedKb });
    }
  }

  metrics(vm: VmRecord, osBuild: string, load: { served: number; failed: number }): VmMetrics {
    const end = this.plan.end.getTime();
    const releases = this.plan.releases.map((r) => {
      const done = this.installed.get(r.month);
      const until = done === undefined ? end : Date.parse(done.at);
      return {
        kb: r.kb,
        month: r.month,
        type: r.type,
        planned: r.planned,
        releasedAt: r.releaseDate,
        installedAt: done?.at ?? null,
        installedAs: done?.as ?? null,
        installedWith: done?.with ?? null,
        exposureDays: round((until - Date.parse(r.releaseDate)) / DAY_MILLIS, 3),
        ...(r.source === undefined ? {} : { source: r.source }),
      };
    });
    const exposures = releases.map((r) => r.exposureDays);
    const measuredRestartSeconds = round(this.measuredRestartMillis / 1000, 3);
    return {
      reboots: this.reboots,
      hotpatchesApplied: this.hotpatches,
      baselinesInstalled: this.images,
      downtimeSeconds: round(this.emulatedRebootSeconds + measuredRestartSeconds, 3),
      exposureDays: {
        mean: exposures.length === 0 ? null : round(exposures.reduce((a, b) => a + b, 0) / exposures.length, 3),
        max: exposures.length === 0 ? null : Math.max(...exposures),
        notInstalledAtEnd: releases.filter((r) => r.installedAt === null).length,
      },
      releasesInstalled: releases.length - releases.filter((r) => r.installedAt === null).length,
      downtime: { emulatedRebootSeconds: this.emulatedRebootSeconds, measuredRestartSeconds },
      installRuns: this.runs,
      failedRuns: this.failedRuns,
      unhealthyRuns: this.unhealthyRuns,
      hotpatchApplyMicrosMax: this.applyMicrosMax,
      stateLost: this.stateLost,
      load,
      vm: {
        name: vm.name,
        hotpatch: vm.hotpatch,
        patchMode: vm.patchMode,
        window: vm.window,
        timeZone: vm.timeZone,
        processes: vm.processes,
        provisionedBuild: this.provisioned.osBuild,
        finalBuild: osBuild,
      },
      releases,
    };
  }
}
