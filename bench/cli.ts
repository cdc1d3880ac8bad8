/** `hotpatch bench` (also `npm run bench`): runs the benchmark suites in bench/ and writes their results. */
import type { Command } from "commander";
import { HotpatchError } from "../engine/errors.ts";
import { guarded, printJson, say } from "../engine/cli/index.ts";

interface BenchOptions {
  quick?: boolean;
  json?: boolean;
  suite: string[];
  out?: string;
  fleetVms?: string;
}

export function registerBench(program: Command, setExit: (code: number) => void): void {
  program
    .command("bench")
    .description("run the benchmarks (apply latency, pause, restart, cost of patchability, …) and write bench/results/")
    .option("--quick", "a reduced run (well under a minute)")
    .option("--json", "print the results object as JSON")
    .option("--suite <name>", "run only this suite (repeatable, or comma-separated)", (v: string, all: string[]) => [...all, ...v.split(",")], [])
    .option("--out <dir>", "where to write the results files (default bench/results)")
    .option("--fleet-vms <n>", "the fleet-rollout suite's fleet size (default 1,000; 100 with --quick): how large a fleet this machine really holds")
    .action(
      guarded(setExit, async (options: BenchOptions) => {
        // Loaded on use: the benchmark code stays out of every other command's start-up.
        const { runBench, selectSuites } = await import("./run.ts");
        const { writeResults } = await import("./report.ts");
        try {
          selectSuites(options.suite);
        } catch (error) {
          throw new HotpatchError("E_USAGE", (error as Error).message);
        }
        const fleetVms = options.fleetVms === undefined ? undefined : Number(options.fleetVms);
        if (fleetVms !== undefined && (!Number.isInteger(fleetVms) || fleetVms < 10 || fleetVms > 100_000)) {
          throw new HotpatchError("E_USAGE", `--fleet-vms ${options.fleetVms}: expected a whole number from 10 to 100000`);
        }
        const results = await runBench({ quick: options.quick ?? false, suites: options.suite, fleetVms, log: (line) => say({ json: true }, line) });
        const paths = writeResults(results, options.out);
        if (options.json) printJson(results);
        else {
          say(options, `Results: ${paths.markdown} (+ .json, .svg) — ${results.seconds} s`);
          for (const s of results.suites) {
            for (const t of s.targets) {
              const where = t.skipped ? `skipped (${t.reason})` : `${t.value} ${t.unit} (goal ${t.comparison} ${t.goal}): ${t.met ? "met" : "MISSED"}`;
              say(options, `  ${s.name}: ${t.name} — ${where}`);
            }
          }
        }
        return 0;
      }),
    );
}
