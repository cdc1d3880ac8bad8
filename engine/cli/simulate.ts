/**
 * `hotpatch simulate --image <urn> --from <YYYY-MM-DD> --months <n>`: a
 * hotpatch VM and a standard VM side by side over a period, in a throw-away
 * state; prints what happened to each (engine/manage/simulate.ts).
 * Progress (one line per automatic installation) goes to stderr.
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { DEFAULT_SIMULATION_ARTIFACTS, DEFAULT_SIMULATION_SEED, MAX_SIMULATION_MONTHS, renderSimulationText, simulate, STANDARD_WINDOW } from "../manage/index.ts";
import { listOption } from "./manage-options.ts";
import { guarded, printJson } from "./output.ts";

interface SimulateOptions {
  image: string;
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
}

export function registerSimulate(program: Command, setExit: (code: number) => void): void {
  program
    .command("simulate")
    .description("run a hotpatch VM and a standard VM side by side for some months and compare reboots, downtime and exposure")
    .requiredOption("--image <urn>", "an image that supports hotpatch, publisher:offer:sku[:version]")
    .requiredOption("--from <YYYY-MM-DD>", "the first day (local midnight in --timezone)")
    .requiredOption("--months <n>", `the length of the period (1 to ${MAX_SIMULATION_MONTHS})`)
    .option("--unplanned <YYYY-MM>", "an unplanned baseline in the period (repeatable, or comma-separated)", listOption)
    .option("--timezone <IANA zone>", "both VMs' time zone (default UTC)")
    .option("--seed <n>", `the seed of the load and health-check requests (default ${DEFAULT_SIMULATION_SEED})`)
    .option("--standard-window <window>", `the standard VM's maintenance window (default "${STANDARD_WINDOW}")`)
    .option("--processes <n>", "kvstore processes per VM (default 2)")
    .option("--artifacts <dir>", "the build cache", DEFAULT_SIMULATION_ARTIFACTS)
    .option("--quiet", "no progress lines on stderr")
    .option("--json", "print the result as JSON")
    .action(
      guarded(setExit, async (options: SimulateOptions) => {
        const report = await simulate(
          {
            image: options.image,
            from: options.from,
            months: whole("--months", options.months)!,
            unplanned: options.unplanned,
            timeZone: options.timezone,
            seed: whole("--seed", options.seed),
            standardWindow: options.standardWindow,
            processes: whole("--processes", options.processes),
            artifactsDir: options.artifacts,
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

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value.trim())) throw new HotpatchError("E_USAGE", `${name} takes a whole number, not "${value}"`);
  return Number(value);
}
