/** `hotpatch schedule --year <Y> [--unplanned <YYYY-MM> ...] [--svg <file>]`: the release calendar of a year. */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { releaseSchedule, renderScheduleSvg, renderScheduleText } from "../manage/index.ts";
import { listOption } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerSchedule(program: Command, setExit: (code: number) => void): void {
  program
    .command("schedule")
    .description("print a year's releases: baselines, hotpatches, reboots, KB numbers")
    .requiredOption("--year <year>", "the year")
    .option("--unplanned <YYYY-MM>", "an unplanned baseline (repeatable, or comma-separated)", listOption)
    .option("--svg <file>", "also write the calendar as SVG")
    .option("--json", "print the schedule as JSON")
    .action(
      guarded(setExit, (options: { year: string; unplanned?: string[]; svg?: string; json?: boolean }) => {
        if (!/^\d{4}$/.test(options.year)) throw new HotpatchError("E_USAGE", `--year takes a four-digit year, not ${options.year}`);
        const schedule = releaseSchedule({ year: Number(options.year), unplanned: options.unplanned ?? [] });
        if (options.svg !== undefined) {
          try {
            writeFileSync(options.svg, renderScheduleSvg(schedule));
          } catch (error) {
            throw new HotpatchError("E_IO", `cannot write ${options.svg}: ${(error as Error).message}`, { path: options.svg });
          }
        }
        if (options.json) {
          printJson({
            year: Number(options.year),
            months: schedule.map((r) => ({ month: r.month, type: r.type, planned: r.planned, reboot: r.reboot, kb: r.kb, releaseDate: r.releaseDate, osBuild: r.osBuild })),
          });
        } else process.stdout.write(renderScheduleText(schedule));
        if (options.svg !== undefined) say(options, `SVG written to ${options.svg}`);
        return 0;
      }),
    );
}
