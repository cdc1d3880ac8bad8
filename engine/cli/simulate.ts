/**
 * `hotpatch simulate --image <urn> --from <YYYY-MM-DD> --months <n>`: a
 * hotpatch VM and a standard VM side by side over a period, in a throw-away
 * state; prints what happened to each (engine/manage/simulate.ts).
 * `hotpatch simulate --fleet <fleet.json> --from <YYYY-MM> --months <n>`: a
 * fleet with hotpatch and without, every release rolled out by the platform
 * orchestrator (engine/fleet/simulate-fleet.ts).
 * `hotpatch simulate --image <urn> --schedule <recurEvery> [--schedule-start …]
 * …`: the same image on automatic patching and on a customer-managed
 * schedule (a maintenance configuration), side by side
 * (engine/manage/simulate-schedule.ts).
 * Progress (one line per installation or rollout) goes to stderr.
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type FleetSimulation, MAX_FLEET_SIMULATION_MONTHS, parseFleetSpec, simulateFleet } from "../fleet/index.ts";
import {
  DEFAULT_SCHEDULE_DURATION,
  DEFAULT_SCHEDULE_START,
  DEFAULT_SIMULATION_ARTIFACTS,
  DEFAULT_SIMULATION_SEED,
  MAX_SIMULATION_MONTHS,
  renderScheduleSimulationText,
  renderSimulationText,
  SIMULATION_KEY_FILE,
  simulate,
  simulateSchedule,
  STANDARD_WINDOW,
} from "../manage/index.ts";
import { VmPool } from "../vms/index.ts";
import { listOption } from "./manage-options.ts";
import { guarded, printJson } from "./output.ts";

interface SimulateOptions {
  image?: string;
  fleet?: string;
  from: string;
  months: string;
  unplanned?: string[];
  timezone?: string;
  seed?: string;
  standardWindow?: string;
  processes?: string;
  artifacts: string;
  quiet?: boolean;
  json?: boolean;
  history?: boolean;
  schedule?: string;
  scheduleStart?: string;
  scheduleDuration?: string;
  scheduleTimeZone?: string;
  scheduleReboot?: string;
}

export function registerSimulate(program: Command, setExit: (code: number) => void): void {
  program
    .command("simulate")
    .description("run a hotpatch VM and a standard VM (with --schedule: a VM on automatic patching and one on a maintenance configuration) side by side for some months and compare reboots, downtime and exposure")
    .option("--image <urn>", "an image that supports hotpatch, publisher:offer:sku[:version] (a VM pair)")
    .option("--fleet <fleet.json>", "a fleet spec (docs/fleets.md) instead of --image: the fleet with hotpatch and without")
    .requiredOption("--from <YYYY-MM-DD>", "the first day (local midnight in --timezone); with --fleet the first release month, YYYY-MM")
    .requiredOption("--months <n>", `the length of the period (1 to ${MAX_SIMULATION_MONTHS})`)
    .option("--unplanned <YYYY-MM>", "an unplanned baseline in the period (repeatable, or comma-separated)", listOption)
    .option("--timezone <IANA zone>", "both VMs' time zone (default UTC)")
    .option("--seed <n>", `the seed of the load and health-check requests (default ${DEFAULT_SIMULATION_SEED})`)
    .option("--standard-window <window>", `the standard VM's maintenance window (default "${STANDARD_WINDOW}")`)
    .option("--processes <n>", "kvstore processes per VM (default 2)")
    .option("--artifacts <dir>", "the build cache", DEFAULT_SIMULATION_ARTIFACTS)
    .option("--history", "replay Microsoft's recorded releases of the image's generation (the other months are synthetic)")
    .option("--schedule <recurEvery>", 'instead of a standard VM, a VM on a maintenance configuration recurring so, e.g. "Week Saturday", "Month Second Tuesday Offset4"')
    .option("--schedule-start <HH:mm|yyyy-MM-dd HH:mm>", `the schedule's start, local time in --schedule-time-zone (default ${DEFAULT_SCHEDULE_START} on --from)`)
    .option("--schedule-duration <HH:mm>", `the schedule's window length, at most 03:55 (default ${DEFAULT_SCHEDULE_DURATION})`)
    .option("--schedule-time-zone <Windows zone>", 'the schedule\'s Windows time zone, e.g. "W. Europe Standard Time" (default: the one of --timezone)')
    .option("--schedule-reboot <setting>", "the schedule's reboot setting: IfRequired (default) | Never | Always")
    .option("--quiet", "no progress lines on stderr")
    .option("--json", "print the result as JSON")
    .action(
      guarded(setExit, async (options: SimulateOptions) => {
        if ((options.image === undefined) === (options.fleet === undefined)) throw new HotpatchError("E_USAGE", "give --image (a VM pair) or --fleet (a fleet spec)");
        if (options.fleet !== undefined && options.history) throw new HotpatchError("E_USAGE", "--history replays a VM pair's releases (--image); a fleet simulation uses the synthetic calendar");
        const scheduleOnly = (["scheduleStart", "scheduleDuration", "scheduleTimeZone", "scheduleReboot"] as const).some((k) => options[k] !== undefined);
        if (options.schedule === undefined && scheduleOnly) throw new HotpatchError("E_USAGE", "--schedule-start, --schedule-duration, --schedule-time-zone and --schedule-reboot need --schedule");
        if (options.fleet !== undefined && options.schedule !== undefined) throw new HotpatchError("E_USAGE", "--schedule compares a VM pair (--image); a fleet simulation has no schedule");
        if (options.fleet !== undefined) return fleetSimulation(options);
        if (options.schedule !== undefined) return scheduleSimulation(options);
        const report = await simulate(
          {
            image: options.image!,
            from: options.from,
            months: whole("--months", options.months)!,
            unplanned: options.unplanned,
            timeZone: options.timezone,
            seed: whole("--seed", options.seed),
            standardWindow: options.standardWindow,
            processes: whole("--processes", options.processes),
            artifactsDir: options.artifacts,
            history: options.history,
          },
          (line) => {
            if (!options.quiet) process.stderr.write(`${line}\n`);
          },
        );
        if (options.json) printJson(report);
        else process.stdout.write(renderSimulationText(report));
        return 0;
      }),
    );
}

async function scheduleSimulation(options: SimulateOptions): Promise<number> {
  if (options.standardWindow !== undefined) throw new HotpatchError("E_USAGE", "--standard-window sets the standard VM's window; with --schedule there is no standard VM");
  const report = await simulateSchedule(
    {
      image: options.image!,
      from: options.from,
      months: whole("--months", options.months)!,
      unplanned: options.unplanned,
      timeZone: options.timezone,
      seed: whole("--seed", options.seed),
      processes: whole("--processes", options.processes),
      artifactsDir: options.artifacts,
      history: options.history,
      schedule: { recurEvery: options.schedule!, start: options.scheduleStart, duration: options.scheduleDuration, timeZone: options.scheduleTimeZone, reboot: options.scheduleReboot },
    },
    (line) => {
      if (!options.quiet) process.stderr.write(`${line}\n`);
    },
  );
  if (options.json) printJson(report);
  else process.stdout.write(renderScheduleSimulationText(report));
  return 0;
}

async function fleetSimulation(options: SimulateOptions): Promise<number> {
  const from = /^(\d{4}-(0[1-9]|1[0-2]))(-\d{2})?$/.exec(options.from)?.[1];
  if (from === undefined) throw new HotpatchError("E_USAGE", `--from ${options.from} is not a month (YYYY-MM)`);
  const months = whole("--months", options.months)!;
  if (months < 1 || months > MAX_FLEET_SIMULATION_MONTHS) throw new HotpatchError("E_USAGE", `--months ${months}: a fleet simulation spans 1 to ${MAX_FLEET_SIMULATION_MONTHS} months`);
  let text: string;
  try {
    text = readFileSync(options.fleet!, "utf8");
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot read the fleet spec ${options.fleet}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HotpatchError("E_USAGE", `the fleet spec ${options.fleet} is not JSON: ${(error as Error).message}`);
  }
  const pool = new VmPool({ loadIntervalMillis: 0, loadRequests: 0 });
  try {
    const report = await simulateFleet(
      { spec: parseFleetSpec(json), from, months, seed: whole("--seed", options.seed) ?? DEFAULT_SIMULATION_SEED, artifactsDir: options.artifacts, keyFile: join(options.artifacts, SIMULATION_KEY_FILE), host: pool },
      (line) => {
        if (!options.quiet) process.stderr.write(`${line}\n`);
      },
    );
    if (options.json) printJson(report);
    else process.stdout.write(renderFleetSimulation(report));
    return 0;
  } finally {
    await pool.close();
  }
}

function renderFleetSimulation(r: FleetSimulation): string {
  const row = (label: string, f: (s: FleetSimulation["hotpatch"]) => string) => `${label.padEnd(40)} ${f(r.hotpatch).padStart(14)} ${f(r.withoutHotpatch).padStart(16)}`;
  return [
    `A fleet of ${r.vms} VMs (${r.regions.join(", ")}), releases ${r.releases[0]} to ${r.releases.at(-1)}:`,
    `${"".padEnd(40)} ${"with hotpatch".padStart(14)} ${"without hotpatch".padStart(16)}`,
    row("reboots", (s) => String(s.reboots)),
    row("VM-hours down", (s) => String(s.vmHoursDown)),
    row("exposure per release, days (mean)", (s) => String(s.exposureDays.mean)),
    row("exposure per release, days (p95)", (s) => String(s.exposureDays.p95)),
    row("exposure per release, days (max)", (s) => String(s.exposureDays.max)),
    row("largest share of a set down at once", (s) => `${Math.round(s.largestSetShareDown * 100)} %`),
    "",
  ].join("\n");
}

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value.trim())) throw new HotpatchError("E_USAGE", `${name} takes a whole number, not "${value}"`);
  return Number(value);
}
