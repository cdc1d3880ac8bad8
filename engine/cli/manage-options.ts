/**
 * Options shared by the management verbs (vm, assess, install, status, …):
 * `--state <file>` (default .hotpatch/state.db), `--now <ISO>` on stateful
 * commands, `--json`. The real time is read here and only here, as the
 * default clock of a state that has none (engine/manage/clock.ts).
 */
import type { Command } from "commander";
import { commandTime, DEFAULT_STATE_FILE, type Faults, Session, Store } from "../manage/index.ts";

export interface ManageOptions {
  state?: string;
  now?: string;
  json?: boolean;
}

export function stateOptions(command: Command, withNow = true): Command {
  command.option("--state <file>", "the state database", DEFAULT_STATE_FILE).option("--json", "print the result as JSON");
  if (withNow) command.option("--now <ISO>", "the emulated time of this command (default: the state's clock)");
  return command;
}

/** The fault points a user can switch on from the environment (HOTPATCH_FAULT=kill-during-install). */
export function faultsFromEnvironment(): Faults {
  return { killDuringInstall: process.env.HOTPATCH_FAULT === "kill-during-install" };
}

/** Opens the state, resolves the command's time, runs `fn`, closes the state. */
export async function withSession<T>(options: ManageOptions, fn: (session: Session, now: Date) => Promise<T> | T): Promise<T> {
  const store = Store.open(options.state ?? DEFAULT_STATE_FILE);
  try {
    const now = commandTime(store, options.now, () => new Date());
    return await fn(new Session(store, { faults: faultsFromEnvironment() }), now);
  } finally {
    store.close();
  }
}

/** Splits a comma-separated option ("KB1,KB2"); repeated options are concatenated. */
export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter((s) => s !== "")];
}
