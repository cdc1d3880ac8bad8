/**
 * Options shared by the management verbs (vm, assess, install, status, …):
 * `--state <file>` (default .hotpatch/state.db), `--now <ISO>` on stateful
 * commands, `--json`. The real time is read here and only here, as the
 * default clock of a state that has none (engine/manage/clock.ts). A fault
 * plan the environment asks for is armed for the command (fault-environment.ts).
 */
import type { Command } from "commander";
import { commandTime, DEFAULT_STATE_FILE, refuseWhileServed, Session, Store } from "../manage/index.ts";
import { armPlacement } from "../serve/index.ts";
import { withEnvironmentFaults } from "./fault-environment.ts";

export interface ManageOptions {
  state?: string;
  now?: string;
  json?: boolean;
}

/** `--state` and `--json`: for commands that read or change the state without acting at a time. */
export function stateOptions(command: Command): Command {
  return command.option("--state <file>", "the state database", DEFAULT_STATE_FILE).option("--json", "print the result as JSON");
}

/** `--state`, `--json` and `--now`: for commands that act at an emulated time. */
export function timedStateOptions(command: Command): Command {
  return stateOptions(command).option("--now <ISO>", "the emulated time of this command (default: the state's clock)");
}

/**
 * Arms the fault plan the environment asks for (fault-environment.ts), opens
 * the state (E_STATE_BUSY while `hotpatch serve` holds it), resolves the command's time, runs `fn`, closes the state.
 */
export function withSession<T>(options: ManageOptions, fn: (session: Session, now: Date) => Promise<T> | T, sessionOptions: Session["options"] = {}): Promise<T> {
  return withEnvironmentFaults(async () => {
    const path = options.state ?? DEFAULT_STATE_FILE;
    refuseWhileServed(path); // a running server owns the state and its processes (engine/manage/state-lock.ts)
    const store = Store.open(path);
    try {
      const now = commandTime(store, options.now, () => new Date());
      return await fn(new Session(store, { placement: armPlacement(store), ...sessionOptions }), now);
    } finally {
      store.close();
    }
  });
}

/** Splits a comma-separated option ("KB1,KB2"); repeated options are concatenated. */
export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter((s) => s !== "")];
}
