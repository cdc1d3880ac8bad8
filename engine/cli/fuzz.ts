/**
 * `hotpatch fuzz --cases <n> --seed <s> [--json]`: mutates valid packages and
 * applies each to a fresh running process in a worker with a watchdog.
 * Exits non-zero when a case crashed or left a partial patch.
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { runFuzz } from "../fuzz/index.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";

interface FuzzCliOptions {
  cases: string;
  seed: string;
  workers: string;
  json?: boolean;
}

export function registerFuzz(program: Command, setExit: (code: number) => void): void {
  program
    .command("fuzz")
    .description("mutate valid patch packages and apply each to a running process: every case must be refused cleanly or applied completely")
    .requiredOption("--cases <n>", "number of cases")
    .option("--seed <s>", "seed of the mutations", "1")
    .option("--workers <n>", "parallel worker threads", "2")
    .option("--json", "print { cases, refused, applied, crashes, partial, byCode, byStage }")
    .action(
      guarded(setExit, async (options: FuzzCliOptions) => {
        const cases = count("--cases", options.cases, 1);
        const seed = count("--seed", options.seed, 0);
        const workers = count("--workers", options.workers, 1);
        const { summary, details } = await runFuzz({ cases, seed, workers, say: (line) => say({ json: true }, line) });
        if (options.json) printJson(summary);
        else {
          say(options, `${summary.cases} cases (seed ${seed}, ${details.resigned} re-signed with the trusted key) in ${details.durationMs} ms`);
          say(options, `refused ${summary.refused}, applied ${summary.applied}, crashes ${summary.crashes}, partial ${summary.partial}`);
          say(options, `by stage reached: ${Object.entries(summary.byStage).map(([k, v]) => `${k} ${v}`).join(", ")}`);
          say(options, `by code: ${Object.entries(summary.byCode).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
          say(options, `by mutation: ${Object.entries(details.byMutation).map(([k, v]) => `${k} ${v}`).join(", ")}`);
        }
        for (const f of details.failures) say({ json: true }, `case ${f.index} (${f.mutation}): ${f.outcome}: ${f.detail}`);
        return summary.crashes === 0 && summary.partial === 0 ? 0 : EXIT_ERROR;
      }),
    );
}

function count(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new HotpatchError("E_USAGE", `${flag} must be an integer ≥ ${min}, not ${text}`);
  return value;
}
