/**
 * `hotpatch catalog list [--from --to] [--os 2022|2025]`, `hotpatch catalog unplanned <YYYY-MM>`
 * and `hotpatch catalog history [on|off]`: the updates released, unplanned baselines, and
 * whether the catalog replays Microsoft's recorded history (chosen before the first VM).
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { calendarLine, catalogBetween, declareUnplanned, formatMonth, historyMode, parseOsGeneration, setClock, setHistoryMode } from "../manage/index.ts";
import { type ManageOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerCatalog(program: Command, setExit: (code: number) => void): void {
  const catalog = program.command("catalog").description("the update catalog and its unplanned baselines");
  timedStateOptions(
    catalog
      .command("list")
      .description("list the catalog's updates for a span of months (default: the current year)")
      .option("--from <YYYY-MM>", "first month")
      .option("--to <YYYY-MM>", "last month")
      .option("--os <generation>", "the Windows Server generation: 2022 (default) or 2025"),
  ).action(
    guarded(setExit, (options: ManageOptions & { from?: string; to?: string; os?: string }) =>
      withSession(options, (session, now) => {
        const year = now.getUTCFullYear();
        const line = calendarLine(parseOsGeneration(options.os ?? "2022"), session.unplanned, session.history);
        const updates = catalogBetween(options.from ?? formatMonth(year, 1), options.to ?? formatMonth(year, 12), line);
        if (options.json) printJson({ unplanned: session.unplanned, updates });
        else for (const u of updates) say(options, `${u.kb}  ${u.releaseDate}  ${u.classification.padEnd(12)} ${u.kind.padEnd(12)} ${u.title}`);
        return 0;
      }),
    ),
  );
  timedStateOptions(
    catalog
      .command("unplanned")
      .description("declare an unplanned baseline (a zero-day fix that cannot be hot patched) for a month not yet released")
      .argument("<month>", "YYYY-MM"),
  ).action(
    guarded(setExit, (month: string, options: ManageOptions) =>
      withSession(options, (session, now) => {
        const unplanned = session.store.tx(() => {
          const next = declareUnplanned(session.store, month, now);
          setClock(session.store, now);
          return next;
        });
        if (options.json) printJson({ unplanned });
        else say(options, `unplanned baselines: ${unplanned.join(", ")}`);
        return 0;
      }),
    ),
  );
  timedStateOptions(
    catalog
      .command("history")
      .description("show, or turn on or off, the replay of Microsoft's recorded releases (before the first VM is created)")
      .argument("[on|off]", "the mode to set"),
  ).action(
    guarded(setExit, (value: string | undefined, options: ManageOptions) =>
      withSession(options, (session, now) => {
        if (value !== undefined && value !== "on" && value !== "off") throw new HotpatchError("E_USAGE", `catalog history takes on or off, not ${value}`);
        const on =
          value === undefined
            ? historyMode(session.store)
            : session.store.tx(() => {
                const set = setHistoryMode(session.store, value === "on");
                setClock(session.store, now);
                return set;
              });
        if (options.json) printJson({ history: on });
        else say(options, `catalog history: ${on ? "on (recorded months replay Microsoft's record; the others are synthetic)" : "off (synthetic calendar)"}`);
        return 0;
      }),
    ),
  );
}
