/**
 * The `hotpatch` command line: one file per verb under engine/cli/, each thin
 * (parse, call the engine, print). This file only wires them together.
 */
import { Command, CommanderError } from "commander";
import { HotpatchError } from "../errors.ts";
import { registerAssess } from "./assess.ts";
import { registerCatalog } from "./catalog.ts";
import { registerClock } from "./clock.ts";
import { registerDemo } from "./demo.ts";
import { registerExperiment } from "./experiment.ts";
import { registerFuzz } from "./fuzz.ts";
import { registerGetHotFix } from "./get-hotfix.ts";
import { registerHistory } from "./history.ts";
import { registerImage } from "./image.ts";
import { registerInstall } from "./install.ts";
import { registerKeys } from "./keys.ts";
import { EXIT_USAGE, reportError } from "./output.ts";
import { registerPatch } from "./patch.ts";
import { registerRun } from "./run.ts";
import { registerFleet } from "./fleet.ts";
import { registerSchedule } from "./schedule.ts";
import { registerScheduleConfig } from "./schedule-config.ts";
import { registerServe } from "./serve.ts";
import { registerSimulate } from "./simulate.ts";
import { registerStatus } from "./status.ts";
import { registerStress } from "./stress.ts";
import { registerToken } from "./token.ts";
import { registerUninstall } from "./uninstall.ts";
import { registerVm } from "./vm.ts";

/** Registers one verb on the program; `setExit` records the verb's exit code. */
export type RegisterVerb = (program: Command, setExit: (code: number) => void) => void;

/**
 * The program with every engine verb, plus `extraVerbs` from layers above the
 * engine (bin/hotpatch.mjs adds `bench` from bench/, which the engine never imports).
 */
export function buildProgram(setExit: (code: number) => void, extraVerbs: readonly RegisterVerb[] = []): Command {
  const program = new Command("hotpatch")
    .description("Hot patching for a running WebAssembly process, with the update management of Windows Server Hotpatch.")
    .exitOverride()
    .showHelpAfterError(false);
  registerKeys(program, setExit);
  registerImage(program, setExit);
  registerPatch(program, setExit);
  registerRun(program, setExit);
  registerDemo(program, setExit);
  registerVm(program, setExit);
  registerSchedule(program, setExit);
  registerScheduleConfig(program, setExit);
  registerFleet(program, setExit);
  registerCatalog(program, setExit);
  registerAssess(program, setExit);
  registerInstall(program, setExit);
  registerStatus(program, setExit);
  registerHistory(program, setExit);
  registerGetHotFix(program, setExit);
  registerClock(program, setExit);
  registerUninstall(program, setExit);
  registerSimulate(program, setExit);
  registerStress(program, setExit);
  registerExperiment(program, setExit);
  registerFuzz(program, setExit);
  registerServe(program, setExit);
  registerToken(program, setExit);
  for (const register of extraVerbs) register(program, setExit);
  return program;
}

export async function main(argv: string[], extraVerbs: readonly RegisterVerb[] = []): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  }, extraVerbs);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
      const json = argv.includes("--json");
      return json ? reportError(new HotpatchError("E_USAGE", error.message.replace(/^error: /, "")), { json }) : EXIT_USAGE;
    }
    return reportError(error, { json: argv.includes("--json") });
  }
}
