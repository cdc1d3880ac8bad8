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
 * - The period's run (throw-away state, provisioning, daily advances and
 *   load) is `runPeriod`, which simulate-schedule.ts shares with its own VMs;
 *   the counting is simulate-tally.ts.
 */
import { join } from "node:path";
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { useCatalogKeyFile } from "./artifacts.ts";
import { type AdvanceEvent, advanceClock } from "./auto-patch.ts";
import { formatMonth, latestReleaseAt, MAX_YEAR, MIN_YEAR, type MonthId, parseMonth, type ReleaseMonth, releaseFor, releasesBetween } from "./calendar.ts";
import { type CatalogMode, declareUnplanned, setHistoryMode } from "./catalog.ts";
import { iso, setClock, storedClock } from "./clock.ts";
import { checkHotpatchEligibility } from "./eligibility.ts";
import { osOfImage } from "./os-generation.ts";
import { calendarLine } from "./release-history.ts";
import { installUpdates } from "./install.ts";
import { Session } from "./session.ts";
import type { SimulationReport, VmMetrics } from "./simulate-report.ts";
import { Tally } from "./simulate-tally.ts";
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
  const setUp = ({ store, catalog }: PeriodRun) => {
    const common = { image: plan.image, timeZone: plan.timeZone, processes: plan.processes };
    createVm(store, { ...common, name: HOTPATCH_VM, hotpatch: true }, plan.start, catalog);
    createVm(store, { ...common, name: STANDARD_VM, hotpatch: false, patchMode: "AutomaticByPlatform", window: plan.standardWindow }, plan.start, catalog);
  };
  return runPeriod(plan, { artifactsDir: request.artifactsDir, vms: [HOTPATCH_VM, STANDARD_VM], setUp, onProgress }, async (run) => ({
    period: periodOf(plan),
    hotpatchVm: await run.metrics(HOTPATCH_VM),
    standardVm: await run.metrics(STANDARD_VM),
  }));
}

/** The report's period. */
export function periodOf(plan: SimulationPlan): SimulationReport["period"] {
  return {
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
  };
}

/** A simulation's throw-away state while it runs (simulate-schedule.ts runs its own VMs in it). */
export interface PeriodRun {
  store: Store;
  session: Session;
  catalog: CatalogMode;
  tallies: Map<string, Tally>;
  /** The VM's metrics at the end (its processes' load counters read now). */
  metrics(name: string): Promise<VmMetrics>;
}

export interface PeriodOptions {
  artifactsDir?: string;
  /** The VMs `setUp` creates, in the order they are provisioned, loaded and counted. */
  vms: readonly string[];
  /** Creates the VMs (and whatever else) at the start, in one transaction. */
  setUp: (run: PeriodRun) => void;
  onProgress?: (line: string) => void;
  /** Every event of the advances, after it was counted. */
  onEvent?: (e: AdvanceEvent) => void;
}

/**
 * The period of a plan in a throw-away state: `setUp` at the start, every VM
 * provisioned (not counted), then one advance and one round of load a day;
 * `report` reads the result before the state is closed.
 */
export async function runPeriod<T>(plan: SimulationPlan, options: PeriodOptions, report: (run: PeriodRun) => Promise<T>): Promise<T> {
  const artifactsDir = options.artifactsDir ?? DEFAULT_SIMULATION_ARTIFACTS;
  const store = Store.open(":memory:");
  try {
    useCatalogKeyFile(store, join(artifactsDir, SIMULATION_KEY_FILE));
    store.tx(() => {
      if (plan.history) setHistoryMode(store, true);
      for (const month of plan.unplanned) declareUnplanned(store, month, plan.start);
    });
    const catalog: CatalogMode = { unplanned: plan.unplanned, history: plan.history };
    const session = new Session(store, { seed: plan.seed, artifactsDir });
    const tallies = new Map(options.vms.map((name) => [name, new Tally(plan)]));
    const run: PeriodRun = {
      store,
      session,
      catalog,
      tallies,
      metrics: async (name) => {
        const vm = getVm(store, name);
        const load = await (await session.runtime(vm)).snapshot();
        return tallies.get(name)!.metrics(vm, osBuildOf(vm, catalog), { served: load.served, failed: load.failed });
      },
    };
    store.tx(() => {
      options.setUp(run);
      setClock(store, plan.start);
    });
    for (const name of options.vms) {
      const result = await installUpdates(session, name, {}, storedClock(store)!);
      tallies.get(name)!.provisioned = { osBuild: result.osBuild, at: result.endDateTime! };
    }
    await runDays(plan, run, options);
    return await report(run);
  } finally {
    store.close();
  }
}

/** From the start to the end: one advance per emulated day, then one round of load on every VM. */
async function runDays(plan: SimulationPlan, run: PeriodRun, options: PeriodOptions): Promise<void> {
  const { store, session, tallies } = run;
  const onEvent = (e: AdvanceEvent) => {
    if (e.type === "Installation" && tallies.has(e.vm)) {
      tallies.get(e.vm)!.add(e.installation!, getVm(store, e.vm).osMonth);
      options.onProgress?.(`${e.at} ${e.vm}: ${e.summary}`);
    }
    options.onEvent?.(e);
  };
  for (let day = 1; ; day++) {
    const clock = storedClock(store)!;
    if (clock.getTime() >= plan.end.getTime()) break;
    const to = new Date(Math.min(plan.start.getTime() + day * DAY_MILLIS, plan.end.getTime()));
    if (to.getTime() <= clock.getTime()) continue; // an install ran past this day's end
    await advanceClock(session, clock, to, onEvent);
    for (const name of options.vms) await session.runtime(getVm(store, name)); // one round of load
  }
}
