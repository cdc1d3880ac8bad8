/**
 * The `hotpatch` command line: one file per verb under engine/cli/, each thin
 * (parse, call the engine, print). This file only wires them together.
 */
import { Command, CommanderError } from "commander";
import { HotpatchError } from "../errors.ts";
import { EXIT_USAGE, reportError } from "./output.ts";

/** Registers one verb on the program; `setExit` records the verb's exit code. */
export type RegisterVerb = (program: Command, setExit: (code: number) => void) => void;

/**
 * Every engine verb, in the order help lists them: the top-level command
 * names a file registers, and how to load its register function. Loaded on
 * use, so a command imports only its own file's code (`patch build` does not
 * load the server, the database or the fleet simulator).
 * test/cli-loads-only-the-verb-it-runs.test.ts checks that each file
 * registers exactly the names listed here.
 */
export const VERBS: readonly { names: readonly string[]; load: () => Promise<RegisterVerb> }[] = [
  { names: ["keys"], load: async () => (await import("./keys.ts")).registerKeys },
  { names: ["image"], load: async () => (await import("./image.ts")).registerImage },
  { names: ["patch"], load: async () => (await import("./patch.ts")).registerPatch },
  { names: ["run"], load: async () => (await import("./run.ts")).registerRun },
  { names: ["demo"], load: async () => (await import("./demo.ts")).registerDemo },
  { names: ["vm"], load: async () => (await import("./vm.ts")).registerVm },
  { names: ["schedule"], load: async () => (await import("./schedule.ts")).registerSchedule },
  { names: ["schedule-config"], load: async () => (await import("./schedule-config.ts")).registerScheduleConfig },
  { names: ["fleet"], load: async () => (await import("./fleet.ts")).registerFleet },
  { names: ["catalog"], load: async () => (await import("./catalog.ts")).registerCatalog },
  { names: ["assess"], load: async () => (await import("./assess.ts")).registerAssess },
  { names: ["install"], load: async () => (await import("./install.ts")).registerInstall },
  { names: ["status"], load: async () => (await import("./status.ts")).registerStatus },
  { names: ["history"], load: async () => (await import("./history.ts")).registerHistory },
  { names: ["get-hotfix"], load: async () => (await import("./get-hotfix.ts")).registerGetHotFix },
  { names: ["clock"], load: async () => (await import("./clock.ts")).registerClock },
  { names: ["uninstall", "rollback"], load: async () => (await import("./uninstall.ts")).registerUninstall },
  { names: ["simulate"], load: async () => (await import("./simulate.ts")).registerSimulate },
  { names: ["stress"], load: async () => (await import("./stress.ts")).registerStress },
  { names: ["experiment"], load: async () => (await import("./experiment.ts")).registerExperiment },
  { names: ["fuzz"], load: async () => (await import("./fuzz.ts")).registerFuzz },
  { names: ["serve"], load: async () => (await import("./serve.ts")).registerServe },
  { names: ["token"], load: async () => (await import("./token.ts")).registerToken },
];

/**
 * The register functions `argv` needs: only the named verb's when the first
 * argument is an engine verb, every verb's otherwise (help, an unknown verb,
 * an option first), so help and errors see the whole program.
 */
export async function verbsFor(argv: readonly string[]): Promise<RegisterVerb[]> {
  const named = VERBS.find((v) => v.names.includes(argv[0] ?? ""));
  return Promise.all((named ? [named] : VERBS).map((v) => v.load()));
}

/**
 * The program with the given engine verbs (default: all), plus `extraVerbs`
 * from layers above the engine (bin/hotpatch.mjs adds `bench` from bench/,
 * which the engine never imports).
 */
export async function buildProgram(
  setExit: (code: number) => void,
  extraVerbs: readonly RegisterVerb[] = [],
  engineVerbs?: readonly RegisterVerb[],
): Promise<Command> {
  const program = new Command("hotpatch")
    .description("Hot patching for a running WebAssembly process, with the update management of Windows Server Hotpatch.")
    .exitOverride()
    .showHelpAfterError(false);
  for (const register of engineVerbs ?? (await verbsFor([]))) register(program, setExit);
  for (const register of extraVerbs) register(program, setExit);
  return program;
}

export async function main(argv: string[], extraVerbs: readonly RegisterVerb[] = []): Promise<number> {
  let exitCode = 0;
  let program: Command;
  try {
    program = await buildProgram(
      (code) => {
        exitCode = code;
      },
      extraVerbs,
      await verbsFor(argv),
    );
  } catch (error) {
    return reportError(error, { json: argv.includes("--json") });
  }
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
