/** `hotpatch catalog list [--from --to]` and `hotpatch catalog unplanned <YYYY-MM>`: the updates released, and unplanned baselines. */
import type { Command } from "commander";
import { catalogBetween, declareUnplanned, formatMonth, setClock } from "../manage/index.ts";
import { type ManageOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerCatalog(program: Command, setExit: (code: number) => void): void {
  const catalog = program.command("catalog").description("the update catalog and its unplanned baselines");
  timedStateOptions(
    catalog
      .command("list")
      .description("list the catalog's updates for a span of months (default: the current year)")
      .option("--from <YYYY-MM>", "first month")
      .option("--to <YYYY-MM>", "last month"),
  ).action(
    guarded(setExit, (options: ManageOptions & { from?: string; to?: string }) =>
      withSession(options, (session, now) => {
        const year = now.getUTCFullYear();
        const updates = catalogBetween(options.from ?? formatMonth(year, 1), options.to ?? formatMonth(year, 12), session.unplanned);
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
}
