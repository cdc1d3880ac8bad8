/** `hotpatch clock show|advance <duration>`: the state's emulated clock, and what happens while it moves. */
import type { Command } from "commander";
import { advanceClock, iso, parseDuration, storedClock } from "../manage/index.ts";
import { type ManageOptions, stateOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerClock(program: Command, setExit: (code: number) => void): void {
  const clock = program.command("clock").description("the emulated clock of a state file");
  stateOptions(clock.command("show").description("print the state's clock")).action(
    guarded(setExit, (options: ManageOptions) =>
      withSession(options, (session, now) => {
        const stored = storedClock(session.store);
        if (options.json) printJson({ clock: iso(now), stored: stored !== undefined });
        else say(options, `${iso(now)}${stored === undefined ? " (the real time: the state has no clock yet)" : ""}`);
        return 0;
      }),
    ),
  );
  timedStateOptions(
    clock
      .command("advance")
      .description("move the clock forward, running assessments and automatic installs due meanwhile")
      .argument("<duration>", "ISO 8601 duration, e.g. P30D, PT12H"),
  ).action(
    guarded(setExit, (duration: string, options: ManageOptions) => {
      const millis = parseDuration(duration);
      return withSession(options, async (session, now) => {
        const report = await advanceClock(session, now, new Date(now.getTime() + millis), (e) => {
          if (options.json || e.type === "Assessment") return;
          if (e.type === "Installation") say(options, `${e.at} ${e.vm}: ${e.installation?.trigger === "MaintenanceConfiguration" ? "scheduled" : "automatic"} installation ${e.summary}`);
          else say(options, `${e.at} ${e.type} ${e.summary}`);
        });
        if (options.json) printJson(report);
        else {
          const count = (type: string) => report.events.filter((e) => e.type === type).length;
          const runs = count("MaintenanceRun");
          say(options, `clock ${report.from} → ${report.to}: ${count("Assessment")} assessment(s), ${count("Installation")} installation(s)${runs > 0 ? `, ${runs} maintenance run(s)` : ""}`);
        }
        return 0;
      });
    }),
  );
}
