/** `hotpatch run <scenario.json>`: execute a scenario, one JSON line per step. */
import type { Command } from "commander";
import { runScenarioFile } from "../scenario/index.ts";
import { EXIT_ERROR, guarded, printJsonLine } from "./output.ts";

export function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command("run")
    .description("run a scenario file: start a process and execute its steps (prints JSON lines)")
    .argument("<scenario>", "a scenario .json file")
    .option("--json", "accepted for uniformity: the output is always JSON lines")
    .action(
      guarded(setExit, async (path: string) => {
        const summary = await runScenarioFile(path, printJsonLine);
        return summary.ok ? 0 : EXIT_ERROR;
      }),
    );
}
