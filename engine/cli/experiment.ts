/**
 * `hotpatch experiment run <scenario.json> [--json] [--report <file.md>]`:
 * runs a fault-injection scenario on a live process and reports what was
 * injected, detected and recovered; exits non-zero when an invariant fails.
 * `hotpatch experiment list [--json]`: the ready scenarios of experiments/.
 */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { listExperiments, renderReport, runExperiment } from "../experiment/index.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";

interface RunOptions {
  json?: boolean;
  report?: string;
}

export function registerExperiment(program: Command, setExit: (code: number) => void): void {
  const experiment = program.command("experiment").description("fault-injection experiments on a live process");
  experiment
    .command("list")
    .description("list the ready scenarios (experiments/*.json)")
    .option("--json", "print the paths as a JSON array")
    .action(
      guarded(setExit, (options: { json?: boolean }) => {
        const paths = listExperiments();
        if (options.json) printJson(paths);
        else for (const p of paths) say(options, relative(process.cwd(), p));
        return 0;
      }),
    );
  experiment
    .command("run")
    .description("run a scenario: inject its faults and faulty patches, check the invariants")
    .argument("<scenario>", "a scenario .json file")
    .option("--json", "print the report as one JSON object")
    .option("--report <file.md>", "also write the report as Markdown")
    .action(
      guarded(setExit, async (path: string, options: RunOptions) => {
        const report = await runExperiment(path, (line) => say({ json: true }, line));
        if (options.report) {
          try {
            writeFileSync(options.report, renderReport(report));
          } catch (error) {
            throw new HotpatchError("E_IO", `cannot write the report: ${(error as Error).message}`, { path: options.report });
          }
        }
        if (options.json) printJson(report);
        else {
          say(options, `${report.name}: ${report.question}`);
          for (const a of report.actions) {
            const d = a.detection ? ` — detected by ${a.detection.by} after ${a.detection.requests} requests (${a.detection.ms} ms)` : "";
            const r = a.recovery ? `; recovery ${a.recovery.action}${a.recovery.ok ? "" : " FAILED"} in ${a.recovery.ms} ms` : "";
            say(options, `  ${a.action} ${a.patch} (${a.kind}): ${a.outcome}${a.code ? ` ${a.code}` : ""}${d}${r}`);
          }
          const q = report.requests;
          say(options, `  requests ${q.generated}: ${q.served} served, ${q.failed} failed, ${q.lost} lost; ${report.restarts} restart(s); state preserved: ${report.statePreserved ? "yes" : "no"}`);
          for (const i of report.invariants) say(options, `  ${i.ok ? "ok  " : "FAIL"} ${i.name}: ${i.detail}`);
        }
        return report.ok ? 0 : EXIT_ERROR;
      }),
    );
}
