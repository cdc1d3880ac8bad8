/**
 * The monthly release calendar of Windows Server Hotpatch.
 *
 * Contracts:
 * - Every month has exactly one release, on Patch Tuesday: the second Tuesday
 *   of the month (a UTC calendar date), at RELEASE_HOUR_UTC (18:00 UTC, i.e.
 *   10:00 Pacific Standard Time; the hour does not follow US daylight saving).
 * - January, April, July and October are planned baselines (latest cumulative
 *   update, reboot). The other months are hotpatches (no reboot) built against
 *   the most recent baseline before them.
 * - An unplanned baseline replaces a hotpatch month (never a planned baseline
 *   month); the rest of that quarter is hotpatched against it.
 * - KB rule: the monthly release of YYYY-MM is "KB5" + YY + MM + "00", e.g.
 *   2027-01 -> KB5270100. Distinct for every month of MIN_YEAR..MAX_YEAR,
 *   independent of the release's type. (The last two digits are left free for
 *   other updates of the same month.)
 * - Build rule: the monthly release of a month has OS build 20348.N with
 *   N = 2700 + 50 x (months since 2024-09), so 2024-09 -> 20348.2700,
 *   2024-10 -> 20348.2750, 2027-01 -> 20348.4100. N grows by 50 a month and
 *   stays below 65536 up to MAX_YEAR.
 * - Months are "YYYY-MM" strings; years must lie in MIN_YEAR..MAX_YEAR.
 *   Malformed input is refused with E_USAGE.
 * - The rules above are Windows Server 2022's. A calendar line
 *   (`CalendarLine`: a generation, the declared unplanned baselines and,
 *   in history mode, the recorded history of release-history.ts) applies
 *   the generation's own build and KB rules (os-generation.ts: 26100.N
 *   anchored at 2025-01 = 26100.2894, KBs ending 50) and, in history mode,
 *   the record: a recorded month has the recorded date, kind, planned flag,
 *   build and KB (`source: "recorded"`, its `note`), an unplanned recorded
 *   month is an unplanned baseline the quarter's later hotpatches stand on;
 *   every month not in the record is synthetic (`source: "synthetic"`), its
 *   kind from the rules above (declared unplanned baselines included) and
 *   its build continued from the latest recorded month before it (N + 50 a
 *   month), or the synthetic rule when none is before it. A bare list of
 *   unplanned months is the 2022 line without history, as before; `os` is
 *   set on a release only for 2025 and `source` only in history mode, so
 *   2022 outputs are unchanged.
 */
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { OS_LINES, type OsGeneration } from "./os-generation.ts";
import type { ReleaseHistory } from "./release-history.ts";

/** First and last year the calendar covers (Azure Edition hotpatch shipped in 2022). */
export const MIN_YEAR = 2022;
export const MAX_YEAR = 2099;

/** Hour of day (UTC) at which a Patch Tuesday release becomes available. */
export const RELEASE_HOUR_UTC = 18;

/** Calendar months (1-12) that carry a planned baseline. */
export const PLANNED_BASELINE_MONTHS: readonly number[] = [1, 4, 7, 10];

/** Major build number of Windows Server 2022. */
export const OS_BUILD_MAJOR = 20348;


/** A month as "YYYY-MM". */
export type MonthId = string;

export type ReleaseType = "baseline" | "hotpatch";

/** One month's release. */
export interface ReleaseMonth {
  /** "YYYY-MM". */
  month: MonthId;
  type: ReleaseType;
  /** False only for an unplanned baseline. */
  planned: boolean;
  /** True for baselines. */
  reboot: boolean;
  /** See the KB rule above. */
  kb: string;
  /** Release instant, ISO 8601 UTC without milliseconds ("2027-01-12T18:00:00Z"). */
  releaseDate: string;
  /** The baseline this release stands on: its own month for a baseline. */
  baselineMonth: MonthId;
  /** "20348.N", see the build rule above. */
  osBuild: string;
  /** Set only for Windows Server 2025 releases. */
  os?: OsGeneration;
  /** Set only in history mode: whether the month is Microsoft's record or the synthetic calendar. */
  source?: "recorded" | "synthetic";
  /** A recorded month's note, e.g. "Baseline, initially planned as hotpatch". */
  note?: string;
}

/** A release line: a generation, its declared unplanned baselines, and its record in history mode (null otherwise). */
export interface CalendarLine {
  os: OsGeneration;
  unplanned: readonly MonthId[];
  history: ReleaseHistory | null;
}

/** A calendar line, or just the unplanned months of the 2022 line without history. */
export type LineSpec = readonly MonthId[] | CalendarLine;

/** The line a spec names. */
export function lineOf(spec: LineSpec): CalendarLine {
  return isLine(spec) ? spec : { os: "2022", unplanned: spec, history: null };
}

function isLine(spec: LineSpec): spec is CalendarLine {
  return !Array.isArray(spec);
}

/** Parses "YYYY-MM" (two-digit month, year in range). */
export function parseMonth(text: string): { year: number; month: number } {
  const match = /^(\d{4})-(\d{2})$/.exec(text);
  if (match === null) {
    throw new HotpatchError("E_USAGE", `"${text}" is not a month (expected YYYY-MM, e.g. 2027-01)`);
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (month < 1 || month > 12) {
    throw new HotpatchError("E_USAGE", `"${text}" is not a month: the month number must be 01 to 12`);
  }
  checkYear(year);
  return { year, month };
}

/** Formats a year and month (1-12) as "YYYY-MM". */
export function formatMonth(year: number, month: number): MonthId {
  return `${year}-${String(month).padStart(2, "0")}`;
}

/** The release instant of the month: its second Tuesday at RELEASE_HOUR_UTC, UTC. */
export function patchTuesday(year: number, month: number): Date {
  checkYear(year);
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new HotpatchError("E_USAGE", `month ${month} is not a month number (expected 1 to 12)`);
  }
  const first = DateTime.utc(year, month, 1);
  const toFirstTuesday = (2 - first.weekday + 7) % 7; // luxon: Monday = 1, Tuesday = 2
  return first.plus({ days: toFirstTuesday + 7, hours: RELEASE_HOUR_UTC }).toJSDate();
}

/** The synthetic KB number of a month's release: "KB5" + YY + MM + "00" (2022) or "50" (2025). */
export function kbFor(month: MonthId, os: OsGeneration = "2022"): string {
  const { year, month: m } = parseMonth(month);
  return `KB5${String(year % 100).padStart(2, "0")}${String(m).padStart(2, "0")}${OS_LINES[os].kbSuffix.os}`;
}

/** The synthetic OS build of a month's release: "20348.N", N = 2700 + 50 x (months since 2024-09); 2025: see os-generation.ts. */
export function osBuildFor(month: MonthId, os: OsGeneration = "2022"): string {
  const { year, month: m } = parseMonth(month);
  const { anchor, buildStep, buildMajor } = OS_LINES[os];
  const minor = anchor.minor + buildStep * (monthIndex(year, m) - monthIndex(anchor.year, anchor.month));
  return `${buildMajor}.${minor}`;
}

/** The OS build of a month's release on a line (the record's in history mode). */
export function lineBuildFor(month: MonthId, spec: LineSpec): string {
  return releaseFor(month, spec).osBuild;
}

/** The twelve releases of a year; every unplanned month must lie in that year. */
export function releaseSchedule(options: { year: number; unplanned?: readonly MonthId[]; line?: CalendarLine }): ReleaseMonth[] {
  const { year } = options;
  checkYear(year);
  const line = options.line ?? lineOf(options.unplanned ?? []);
  const unplanned = checkUnplanned(options.unplanned ?? line.unplanned);
  for (const index of unplanned) {
    if (Math.floor(index / 12) !== year) {
      throw new HotpatchError("E_USAGE", `unplanned baseline ${monthOf(index)} is not in ${year}`);
    }
  }
  return range(monthIndex(year, 1), monthIndex(year, 12), unplanned, line);
}

/**
 * Every release from `from` to `to` (both "YYYY-MM", inclusive), across year
 * ends. Unplanned months may lie outside the range: one before `from` still
 * decides which baseline the first hotpatches stand on.
 */
export function releasesBetween(from: MonthId, to: MonthId, spec: LineSpec = []): ReleaseMonth[] {
  const line = lineOf(spec);
  const a = parseMonth(from);
  const b = parseMonth(to);
  const first = monthIndex(a.year, a.month);
  const last = monthIndex(b.year, b.month);
  if (first > last) {
    throw new HotpatchError("E_USAGE", `the range ${from} to ${to} ends before it starts`);
  }
  return range(first, last, checkUnplanned(line.unplanned), line);
}

/** The release of one month. */
export function releaseFor(month: MonthId, spec: LineSpec = []): ReleaseMonth {
  return releasesBetween(month, month, spec)[0];
}

/**
 * The most recent release available at `instant` (release instant <= instant),
 * or undefined before the first release of MIN_YEAR. Instants after MAX_YEAR
 * are refused.
 */
export function latestReleaseAt(instant: Date, spec: LineSpec = []): ReleaseMonth | undefined {
  const time = instant.getTime();
  if (Number.isNaN(time)) throw new HotpatchError("E_USAGE", "the instant is not a valid date");
  const at = DateTime.fromMillis(time, { zone: "utc" });
  if (at.year < MIN_YEAR) return undefined;
  checkYear(at.year);
  let index = monthIndex(at.year, at.month);
  if (patchTuesday(at.year, at.month).getTime() > time) index -= 1;
  if (index < monthIndex(MIN_YEAR, 1)) return undefined;
  return releaseFor(monthOf(index), spec);
}

// ---------------------------------------------------------------------------

/** Months counted from year 0: year * 12 + (month - 1). */
function monthIndex(year: number, month: number): number {
  return year * 12 + (month - 1);
}

function monthOf(index: number): MonthId {
  return formatMonth(Math.floor(index / 12), (index % 12) + 1);
}

function isPlannedBaseline(index: number): boolean {
  return PLANNED_BASELINE_MONTHS.includes((index % 12) + 1);
}

function checkYear(year: number): void {
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new HotpatchError("E_USAGE", `year ${year} is outside the supported range ${MIN_YEAR} to ${MAX_YEAR}`);
  }
}

/** Validates the unplanned months and returns their indices. */
function checkUnplanned(unplanned: readonly MonthId[]): Set<number> {
  const indices = new Set<number>();
  for (const text of unplanned) {
    const { year, month } = parseMonth(text);
    const index = monthIndex(year, month);
    if (indices.has(index)) {
      throw new HotpatchError("E_USAGE", `unplanned baseline ${text} is listed twice`);
    }
    if (isPlannedBaseline(index)) {
      throw new HotpatchError(
        "E_USAGE",
        `${text} is already a planned baseline; an unplanned baseline can only replace a hotpatch month`,
      );
    }
    indices.add(index);
  }
  return indices;
}

function range(first: number, last: number, unplanned: Set<number>, line: CalendarLine): ReleaseMonth[] {
  const recorded = (index: number) => line.history?.byMonth.get(monthOf(index));
  const isBaselineAt = (index: number) => {
    const record = recorded(index);
    return record === undefined ? isPlannedBaseline(index) || unplanned.has(index) : record.kind === "baseline";
  };
  let baseline = first;
  while (!isBaselineAt(baseline)) baseline -= 1;
  const releases: ReleaseMonth[] = [];
  for (let index = first; index <= last; index++) {
    if (isBaselineAt(index)) baseline = index;
    const record = recorded(index);
    const release = record === undefined ? syntheticMonth(index, unplanned, line) : { ...record, type: record.kind, osBuild: record.build };
    const isBaseline = release.type === "baseline";
    releases.push({
      month: monthOf(index),
      type: release.type,
      planned: release.planned,
      reboot: isBaseline,
      kb: release.kb,
      releaseDate: release.releaseDate,
      baselineMonth: monthOf(baseline),
      osBuild: release.osBuild,
      ...(line.os === "2022" ? {} : { os: line.os }),
      ...(line.history === null ? {} : { source: record === undefined ? "synthetic" : "recorded" }),
      ...(record?.note === undefined ? {} : { note: record.note }),
    });
  }
  return releases;
}

/** A month the record does not hold: the synthetic calendar's release of the line. */
function syntheticMonth(index: number, unplanned: Set<number>, line: CalendarLine) {
  const planned = !unplanned.has(index);
  const month = monthOf(index);
  const year = Math.floor(index / 12);
  return {
    type: (!planned || isPlannedBaseline(index) ? "baseline" : "hotpatch") as ReleaseType,
    planned,
    kb: kbFor(month, line.os),
    releaseDate: DateTime.fromJSDate(patchTuesday(year, (index % 12) + 1), { zone: "utc" }).toISO({ suppressMilliseconds: true }) as string,
    osBuild: syntheticBuild(index, line),
  };
}

/** In history mode, N continues from the latest recorded month before (N + step a month); the rule otherwise. */
function syntheticBuild(index: number, line: CalendarLine): string {
  const month = monthOf(index);
  const before = line.history?.releases.filter((r) => r.month < month).at(-1);
  if (before === undefined) return osBuildFor(month, line.os);
  const { year, month: m } = parseMonth(before.month);
  const [major, minor] = before.build.split(".");
  return `${major}.${Number(minor) + OS_LINES[line.os].buildStep * (index - monthIndex(year, m))}`;
}
