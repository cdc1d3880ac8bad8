/** `hotpatch history <vm> [--days 30]`: the update history of the last days. */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { DEFAULT_HISTORY_DAYS, historyView } from "../manage/index.ts";
import { type ManageOptions, stateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerHistory(program: Command, setExit: (code: number) => void): void {
  stateOptions(
    program.command("history").description("update history of a VM").argument("<vm>", "the VM name").option("--days <n>", "how many days back", String(DEFAULT_HISTORY_DAYS)),
  ).action(
    guarded(setExit, (name: string, options: ManageOptions & { days: string }) =>
      withSession(options, (session, now) => {
        if (!/^\d+$/.test(options.days)) throw new HotpatchError("E_USAGE", `--days takes a whole number, not ${options.days}`);
        const view = historyView(session.store, name, now, Number(options.days));
        if (options.json) printJson(view);
        else {
          say(options, `${name}: ${view.entries.length} update(s) in the last ${view.days} days (local zone ${view.timeZone})`);
          for (const e of view.entries) {
            const reboot = e.reboot ? " reboot" : "";
            say(options, `  ${e.startedAtLocal}  ${e.operation} ${e.kb} ${e.kind} ${e.result}${reboot} ${e.durationSeconds}s${e.errors.length ? ` — ${e.errors.join("; ")}` : ""}`);
          }
        }
        return 0;
      }),
    ),
  );
}
