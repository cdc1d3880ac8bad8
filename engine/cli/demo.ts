/** `hotpatch demo` (also `npm start`): an exploit stopped by a live patch. */
import type { Command } from "commander";
import { runDemo } from "../demo/index.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";

export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command("demo")
    .description("watch a live hotpatch stop an exploit in a running service, then revert it")
    .option("--seed <n>", "seed of the request stream", "2026")
    .option("--json", "print the measured facts as one JSON object")
    .action(
      guarded(setExit, async (options: { seed: string; json?: boolean }) => {
        const result = await runDemo((line) => say(options, line), Number(options.seed));
        if (options.json) {
          printJson(result);
        } else {
          const ok = !result.exploit.after.leaked && result.exploit.before.leaked && result.countersContinued && !result.restarted;
          say(options, "");
          say(options, ok ? "The fix went in live: no restart, no lost state, the exploit stopped." : "Something did not behave as expected (see above).");
        }
        const worked = result.exploit.before.leaked && !result.exploit.after.leaked && result.revert.exploitWorksAgain;
        return worked ? 0 : EXIT_ERROR;
      }),
    );
}
