/**
 * `hotpatch simulate`: S2's benefits measured, not claimed. A hotpatch VM and
 * a standard VM run side by side through the same months, each through the
 * real management plane, and what happened to them is counted.
 *
 * Contracts:
 * - Two VMs of the same image, time zone and process count live in one
 *   throw-away state (`:memory:`) with one clock:
 *   - `hotpatch-vm`: hotpatch on (the image must be eligible: E_NOT_ELIGIBLE
 *     otherwise), AutomaticByPlatform, the default daily off-peak window
 *     (vm.ts DEFAULT_WINDOW, 22:00-06:00 local);
 *   - `standard-vm`: hotpatch off, so every monthly release is a cumulative
 *     update with a reboot; AutomaticByPlatform in a weekly maintenance
 *     window (STANDARD_WINDOW, "Sun 02:00-06:00" local, or `standardWindow`).
 * - The period starts at local midnight of `from` in the time zone and lasts
 *   `months` calendar months (1..MAX_SIMULATION_MONTHS). Unplanned baselines
 *   must be released inside it. Both VMs are created at the start and brought
 *   current by an on-demand install of what is released by then
 *   ("provisioning": reported, never counted).
 * - From then on only automatic patching acts, through `advanceClock`:
 *   daily assessments, Critical and Security installs in each VM's window
 *   (eligibility, windows, real signed packages applied live to the real
 *   processes, real restarts into new images, health checks). After each
 *   emulated day every VM's processes serve one round of seeded kvstore load
 *   (engine/vms/), so a reboot has state to lose and a hotpatch state to keep.
 * - Counted per VM (simulate-report.ts has the shapes): releases are the
 *   monthly OS security releases (KB5YYMM00) published after the start and
 *   before the end; hotpatchesApplied / baselinesInstalled count the ones
 *   installed before the end as a hotpatch / as a new image with a reboot
 *   (for the standard VM every month is a cumulative image); reboots are
 *   reboots in the period; downtimeSeconds = the install time model's
 *   emulated reboot downtime (install-time.ts, 8 min each) + the measured
 *   wall-clock restart time of the processes. Exposure of a release = from
 *   its release to the end of the install run after which the VM runs it
 *   (its own KB or a later cumulative one); a release still not running at
 *   the end counts until the end and is listed as not installed.
 * - The VMs run the image's Windows Server generation (os-generation.ts);
 *   `history` replays Microsoft's recorded months (catalog.ts history mode,
 *   set in the throw-away state before the VMs are created): the report's
 *   period then says `history: true` and each release its `source`
 *   (recorded or synthetic); `os` is in the period only for 2025.
 */
import { join } from "node:path";
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { useCatalogKeyFile } from "./artifacts.ts";
import { type AdvanceEvent, advanceClock } from "./auto-patch.ts";
import { formatMonth, latestReleaseAt, MAX_YEAR, MIN_YEAR, type MonthId, parseMonth, type ReleaseMonth, releaseFor, releasesBetween } from "./calendar.ts";
import { declareUnplanned, setHistoryMode } from "./catalog.ts";
import { iso, setClock, storedClock } from "./clock.ts";
import { checkHotpatchEligibility } from "./eligibility.ts";
import { osOfImage } from "./os-generation.ts";
import { calendarLine } from "./release-history.ts";
import { type InstallResult, installUpdates } from "./install.ts";
import { Session } from "./session.ts";
import { type SimulationReport, type VmMetrics, round } from "./simulate-report.ts";
import { DEFAULT_STATE_FILE, Store } from "./store.ts";
import { validateTimeZone } from "./time-input.ts";
import { createVm, DEFAULT_PROCESSES, DEFAULT_TIME_ZONE, getVm, osBuildOf } from "./vm.ts";
import { formatWindowSpec, parseWindowSpec } from "./window-spec.ts";

export const HOTPATCH_VM = "hotpatch-vm";
export const STANDARD_VM = "standard-vm";
/** The standard VM's documented maintenance window: weekly, Sunday 02:00-06:00 local. */
export const STANDARD_WINDOW = "Sun 02:00-06:00";
export const MAX_SIMULATION_MONTHS = 60;
export const DEFAULT_SIMULATION_SEED = 2026;
/** The artifact cache a simulation uses by default: the one of the default state file. */
export const DEFAULT_SIMULATION_ARTIFACTS = join(DEFAULT_STATE_FILE, "..", "artifacts");
/** The simulation's catalog key, kept in the artifact cache so packages are reused across runs. */
export const SIMULATION_KEY_FILE = "simulation-catalog-key.pem";

const DAY_MILLIS = 86_400_000;

export interface SimulationRequest {
  image: string;
  /** "YYYY-MM-DD": the period starts at local midnight of this date. */
  from: string;
  months: number;
  unplanned?: readonly string[];
  timeZone?: string;
  seed?: number;
  standardWindow?: string;
  processes?: number;
  artifactsDir?: string;
  /** Replay the recorded release history (default false). */
  history?: boolean;
}

/** A validated request. */
export interface SimulationPlan {
  image: string;
  start: Date;
  end: Date;
  months: number;
  unplanned: MonthId[];
  timeZone: string;
  seed: number;
  standardWindow: string;
  processes: number;
  /** The period's monthly releases (published after the start, before the end). */
  releases: ReleaseMonth[];
  history: boolean;
}

/** Validates a request without building or running anything (E_USAGE, E_NOT_ELIGIBLE). */
export function planSimulation(request: SimulationRequest): SimulationPlan {
  const timeZone = validateTimeZone(request.timeZone ?? DEFAULT_TIME_ZONE);
  const eligibility = checkHotpatchEligibility(request.image, { host: "azure" }); // E_USAGE for a malformed reference
  if (!eligibility.eligible) {
    throw new HotpatchError("E_NOT_ELIGIBLE", `${request.image} cannot run hotpatch, so there is nothing to compare: ${eligibility.reasons.join("; ")}`);
  }
  const { months } = request;
  if (!Number.isInteger(months) || months < 1 || months > MAX_SIMULATION_MONTHS) {
    throw new HotpatchError("E_USAGE", `--months must be a whole number from 1 to ${MAX_SIMULATION_MONTHS}, not ${months}`);
  }
  const seed = request.seed ?? DEFAULT_SIMULATION_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0x7fffffff) {
    throw new HotpatchError("E_USAGE", `--seed must be a whole number from 0 to ${0x7fffffff}, not ${seed}`);
  }
  const day = /^\d{4}-\d{2}-\d{2}$/.test(request.from) ? DateTime.fromISO(request.from, { zone: timeZone }) : undefined;
  if (day === undefined || !day.isValid) {
    throw new HotpatchError("E_USAGE", `--from "${request.from}" is not a date (expected YYYY-MM-DD, e.g. 2027-01-01)`);
  }
  const startLocal = day.startOf("day");
  const endLocal = startLocal.plus({ months });
  if (startLocal.year < MIN_YEAR || endLocal.year > MAX_YEAR) {
    throw new HotpatchError("E_USAGE", `the period ${request.from} + ${months} month(s) lies outside the calendar's years ${MIN_YEAR} to ${MAX_YEAR}`);
  }
  const start = startLocal.toJSDate();
  const end = endLocal.toJSDate();
  const history = request.history === true;
  const unplanned = [...(request.unplanned ?? [])];
  const line = calendarLine(osOfImage(request.image), unplanned, history);
  if (latestReleaseAt(start, line) === undefined) {
    throw new HotpatchError("E_USAGE", `no release exists yet at ${iso(start)}: the VMs would have no image to boot`);
  }
  for (const month of unplanned) {
    parseMonth(month);
    const released = Date.parse(releaseFor(month, line).releaseDate); // refuses planned months and duplicates
    if (released <= start.getTime() || released >= end.getTime()) {
      throw new HotpatchError("E_USAGE", `unplanned baseline ${month} is released on ${iso(new Date(released))}, outside the period ${iso(start)} to ${iso(end)}`);
    }
  }
  const utcMonth = (d: Date) => formatMonth(d.getUTCFullYear(), d.getUTCMonth() + 1);
  const releases = releasesBetween(utcMonth(start), utcMonth(end), line).filter((r) => {
    const t = Date.parse(r.releaseDate);
    return t > start.getTime() && t < end.getTime();
  });
  return {
    image: request.image,
    start,
    end,
    months,
    unplanned: unplanned.sort(),
    timeZone,
    seed,
    standardWindow: formatWindowSpec(parseWindowSpec(request.standardWindow ?? STANDARD_WINDOW)),
    processes: request.processes ?? DEFAULT_PROCESSES,
    releases,
    history,
  };
}

/** Runs the simulation; `onProgress` gets one line per automatic installation. */
export async function simulate(request: SimulationRequest, onProgress: (line: string) => void = () => {}): Promise<SimulationReport> {
  const plan = planSimulation(request);
  const artifactsDir = request.artifactsDir ?? DEFAULT_SIMULATION_ARTIFACTS;
  const store = Store.open(":memory:");
  try {
    useCatalogKeyFile(store, join(artifactsDir, SIMULATION_KEY_FILE));
    store.tx(() => {
      if (plan.history) setHistoryMode(store, true);
      for (const month of plan.unplanned) declareUnplanned(store, month, plan.start);
    });
    const catalog = { unplanned: plan.unplanned, history: plan.history };
    const session = new Session(store, { seed: plan.seed, artifactsDir });
    const common = { image: plan.image, timeZone: plan.timeZone, processes: plan.processes };
    store.tx(() => {
      createVm(store, { ...common, name: HOTPATCH_VM, hotpatch: true }, plan.start, catalog);
      createVm(store, { ...common, name: STANDARD_VM, hotpatch: false, patchMode: "AutomaticByPlatform", window: plan.standardWindow }, plan.start, catalog);
      setClock(store, plan.start);
    });
    const vms = [HOTPATCH_VM, STANDARD_VM];
    const tallies = new Map(vms.map((name) => [name, new Tally(plan)]));
    for (const name of vms) {
      const result = await installUpdates(session, name, {}, storedClock(store)!);
      tallies.get(name)!.provisioned = { osBuild: result.osBuild, at: result.endDateTime! };
    }
    const onEvent = (e: AdvanceEvent) => {
      if (e.type !== "Installation") return;
      tallies.get(e.vm)!.add(e.installation!, getVm(store, e.vm).osMonth);
      onProgress(`${e.at} ${e.vm}: ${e.summary}`);
    };
    for (let day = 1; ; day++) {
      const clock = storedClock(store)!;
      if (clock.getTime() >= plan.end.getTime()) break;
      const to = new Date(Math.min(plan.start.getTime() + day * DAY_MILLIS, plan.end.getTime()));
      if (to.getTime() <= clock.getTime()) continue; // an install ran past this day's end
      await advanceClock(session, clock, to, onEvent);
      for (const name of vms) await session.runtime(getVm(store, name)); // one round of load
    }
    const metrics = async (name: string): Promise<VmMetrics> => {
      const vm = getVm(store, name);
      const load = await (await session.runtime(vm)).snapshot();
      return tallies.get(name)!.metrics(vm, osBuildOf(vm, catalog), { served: load.served, failed: load.failed });
    };
    return {
      period: {
        image: plan.image,
        from: iso(plan.start),
        to: iso(plan.end),
        months: plan.months,
        timeZone: plan.timeZone,
        unplanned: plan.unplanned,
        seed: plan.seed,
        releases: plan.releases.length,
        ...(osOfImage(plan.image) === "2025" ? { os: "2025" } : {}),
        ...(plan.history ? { history: true } : {}),
      },
      hotpatchVm: await metrics(HOTPATCH_VM),
      standardVm: await metrics(STANDARD_VM),
    };
  } finally {
    store.close();
  }
}

/** What happened to one VM in the period, from its automatic installation results. */
class Tally {
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

  constructor(private readonly plan: SimulationPlan) {}

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

  metrics(vm: ReturnType<typeof getVm>, osBuild: string, load: { served: number; failed: number }): VmMetrics {
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
