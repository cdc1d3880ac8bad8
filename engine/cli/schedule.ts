/**
 * `hotpatch schedule --year <Y> [--os 2022|2025] [--unplanned <YYYY-MM> ...] [--svg <file>]`:
 * the release calendar of a year. `--history` replays Microsoft's record
 * (engine/manage/release-history/): without `--year` the recorded months from
 * the first to the last, with the record's source; months not recorded are
 * synthetic and marked so. `--os` defaults to 2022 (the output of a 2022
 * calendar without `--history` is as it always was).
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { calendarLine, parseOsGeneration, type ReleaseMonth, releaseHistory, releaseSchedule, releasesBetween, renderScheduleSvg, renderScheduleText } from "../manage/index.ts";
import { listOption } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

interface ScheduleOptions {
  year?: string;
  os?: string;
  history?: boolean;
  unplanned?: string[];
  svg?: string;
  json?: boolean;
}

export function registerSchedule(program: Command, setExit: (code: number) => void): void {
  program
    .command("schedule")
    .description("print a year's releases: baselines, hotpatches, reboots, KB numbers")
    .option("--year <year>", "the year (required unless --history is given)")
    .option("--os <generation>", "the Windows Server generation: 2022 (default) or 2025")
    .option("--history", "replay Microsoft's recorded releases (without --year: the recorded months)")
    .option("--unplanned <YYYY-MM>", "an unplanned baseline (repeatable, or comma-separated)", listOption)
    .option("--svg <file>", "also write the calendar as SVG")
    .option("--json", "print the schedule as JSON")
    .action(
      guarded(setExit, (options: ScheduleOptions) => {
        const os = parseOsGeneration(options.os ?? "2022");
        const history = options.history === true ? releaseHistory(os) : null;
        const unplanned = options.unplanned ?? [];
        const line = calendarLine(os, unplanned, history !== null);
        let schedule: ReleaseMonth[];
        if (options.year === undefined) {
          if (history === null) throw new HotpatchError("E_USAGE", "--year is required (or give --history for the recorded months)");
          schedule = releasesBetween(history.releases[0].month, history.releases.at(-1)!.month, line);
        } else {
          if (!/^\d{4}$/.test(options.year)) throw new HotpatchError("E_USAGE", `--year takes a four-digit year, not ${options.year}`);
          schedule = releaseSchedule({ year: Number(options.year), unplanned, line });
        }
        if (options.svg !== undefined) {
          try {
            writeFileSync(options.svg, renderScheduleSvg(schedule));
          } catch (error) {
            throw new HotpatchError("E_IO", `cannot write ${options.svg}: ${(error as Error).message}`, { path: options.svg });
          }
        }
        if (options.json) {
          printJson({
            ...(options.year === undefined ? {} : { year: Number(options.year) }),
            ...(options.os === undefined && history === null ? {} : { os }),
            ...(history === null ? {} : { source: history.source }),
            months: schedule.map((r) => ({
              month: r.month,
              type: r.type,
              planned: r.planned,
              reboot: r.reboot,
              kb: r.kb,
              releaseDate: r.releaseDate,
              osBuild: r.osBuild,
              ...(r.source === undefined ? {} : { source: r.source }),
              ...(r.note === undefined ? {} : { note: r.note }),
            })),
          });
        } else process.stdout.write(renderScheduleText(schedule, history === null ? {} : { source: history.source }));
        if (options.svg !== undefined) say(options, `SVG written to ${options.svg}`);
        return 0;
      }),
    );
}
