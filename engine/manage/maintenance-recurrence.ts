/**
 * The `recurEvery` of an Azure maintenance configuration (Microsoft.Maintenance/
 * maintenanceConfigurations, maintenanceWindow.recurEvery), and the calendar
 * dates it recurs on. maintenance-window.ts adds the zone, the time and the
 * duration.
 *
 * Grammar (keywords in any letter case; the parsed value is normalised):
 * - daily: "Day", "3Days". The count is optional and may be written with the
 *   singular or the plural unit ("1Day", "2Day", "1Days" are read like "Day",
 *   "2Days", "Days"); the count must be at least 1.
 * - weekly: "Week", "2Weeks", "Week Saturday,Sunday", "2Weeks Monday, Friday":
 *   full English weekday names, comma-separated (spaces after commas are
 *   tolerated); no list means the start date's weekday.
 * - monthly by day: "Month", "2Months", "Month day23,day24": day1..day31; no
 *   list means the start date's day of month. A day the month lacks (day31 in
 *   April, day29..day31 in a February that lacks them) is skipped for that
 *   month: no occurrence moves to another day.
 * - monthly by weekday: "Month Fourth Monday", "Month Last Sunday",
 *   "Month First Tuesday Offset3", "Month Last Sunday Offset-3": ordinal
 *   First|Second|Third|Fourth|Last, then a weekday, then an optional offset of
 *   -6..6 days ("Offset+2" is also read). The offset may move the date into
 *   the neighbouring month; the occurrence still belongs to (and is counted
 *   in) the month of its ordinal weekday.
 * - Lists are sorted in calendar order (weeks start on Monday) and duplicates
 *   dropped.
 *
 * Every N counts from the start: N days from the start date; N ISO weeks
 * (Monday to Sunday) from the week of the start date; N calendar months from
 * the month of the start date.
 *
 * Dates are epoch days (days since 1970-01-01, a proleptic Gregorian calendar
 * date with no zone). Refusals are E_USAGE with a message that names the
 * field and the text.
 */
import { HotpatchError } from "../errors.ts";

/** ISO weekday: 1 = Monday … 7 = Sunday (luxon's numbering). */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export type Ordinal = "First" | "Second" | "Third" | "Fourth" | "Last";

export type Recurrence =
  | { kind: "daily"; every: number }
  /** An empty `weekdays` means the start date's weekday (see resolveRecurrence). */
  | { kind: "weekly"; every: number; weekdays: readonly Weekday[] }
  /** An empty `days` means the start date's day of month (see resolveRecurrence). */
  | { kind: "monthlyByDay"; every: number; days: readonly number[] }
  | { kind: "monthlyByWeekday"; every: number; ordinal: Ordinal; weekday: Weekday; offsetDays: number };

export const WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
export const ORDINALS: readonly Ordinal[] = ["First", "Second", "Third", "Fourth", "Last"];
export const MAX_OFFSET_DAYS = 6;

const UNITS = { day: "daily", week: "weekly", month: "monthly" } as const;

/** Parses a recurEvery text (grammar above); `field` names it in refusals. */
export function parseRecurrence(text: string, field = "maintenanceWindow.recurEvery"): Recurrence {
  const refuse = (reason: string): never => {
    throw new HotpatchError("E_USAGE", `${field} ${JSON.stringify(text)}: ${reason}`);
  };
  if (typeof text !== "string") return refuse("is not a string");
  const [head = "", ...rest] = text.trim().replace(/\s*,\s*/g, ",").split(/\s+/);
  const unit = /^(\d*)(day|week|month)s?$/i.exec(head);
  if (unit === null) {
    return refuse(`unknown unit "${head}" (expected Day, Week or Month, optionally after a count: 3Days, 2Weeks, 6Months)`);
  }
  const every = unit[1] === "" ? 1 : Number(unit[1]);
  if (every < 1) return refuse(`the count must be at least 1, not ${unit[1]}`);
  if (!Number.isSafeInteger(every)) return refuse(`the count ${unit[1]} is too large`);
  const kind = UNITS[unit[2].toLowerCase() as keyof typeof UNITS];
  if (kind === "daily") {
    if (rest.length > 0) refuse(`a daily recurrence takes nothing after the unit (found "${rest.join(" ")}")`);
    return { kind, every };
  }
  if (kind === "weekly") {
    if (rest.length > 1) refuse(`expected one comma-separated weekday list after "${head}" (found "${rest.join(" ")}")`);
    const weekdays = rest.length === 0 ? [] : rest[0].split(",").map((name) => weekdayOf(name, refuse));
    return { kind, every, weekdays: sortedUnique(weekdays) };
  }
  if (rest.length === 0) return { kind: "monthlyByDay", every, days: [] };
  if (rest.length === 1 && /^day/i.test(rest[0])) {
    return { kind: "monthlyByDay", every, days: sortedUnique(rest[0].split(",").map((item) => dayOfMonthOf(item, refuse))) };
  }
  return parseMonthlyByWeekday(every, rest, refuse);
}

function parseMonthlyByWeekday(every: number, words: string[], refuse: (reason: string) => never): Recurrence {
  if (words.length > 3) refuse(`expected "<First|Second|Third|Fourth|Last> <weekday> [Offset<-6..6>]" after the unit`);
  const ordinal = ORDINALS.find((o) => o.toLowerCase() === words[0].toLowerCase());
  if (ordinal === undefined) {
    return refuse(`unknown ordinal "${words[0]}" (expected ${ORDINALS.join(", ")}, or a day list such as day1,day15)`);
  }
  if (words.length < 2) refuse(`"${ordinal}" needs a weekday after it (e.g. "Month ${ordinal} Monday")`);
  const weekday = weekdayOf(words[1], refuse);
  let offsetDays = 0;
  if (words.length === 3) {
    const offset = /^offset([+-]?\d+)$/i.exec(words[2]);
    if (offset === null) refuse(`"${words[2]}" is not an offset (expected e.g. Offset3 or Offset-3)`);
    offsetDays = Number(offset![1]);
    if (Math.abs(offsetDays) > MAX_OFFSET_DAYS) refuse(`the offset ${offset![1]} lies outside -6..6 days`);
  }
  return { kind: "monthlyByWeekday", every, ordinal, weekday, offsetDays: offsetDays === 0 ? 0 : offsetDays };
}

function weekdayOf(name: string, refuse: (reason: string) => never): Weekday {
  const index = WEEKDAY_NAMES.findIndex((w) => w.toLowerCase() === name.toLowerCase());
  if (index < 0) return refuse(`unknown weekday "${name}" (expected one of ${WEEKDAY_NAMES.join(", ")})`);
  return (index + 1) as Weekday;
}

function dayOfMonthOf(item: string, refuse: (reason: string) => never): number {
  const match = /^day(\d{1,2})$/i.exec(item);
  if (match === null) return refuse(`"${item}" is not a day of month (expected day1 to day31)`);
  const day = Number(match[1]);
  if (day < 1 || day > 31) refuse(`"${item}" is not a day of month: the day must be 1 to 31`);
  return day;
}

function sortedUnique<T extends number>(values: T[]): T[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Canonical recurEvery text: "Day", "3Days", "2Weeks Monday,Friday", "Month day1,day15", "Month Last Sunday Offset-3". */
export function formatRecurrence(recurrence: Recurrence): string {
  const unit = { daily: "Day", weekly: "Week", monthlyByDay: "Month", monthlyByWeekday: "Month" }[recurrence.kind];
  const head = recurrence.every === 1 ? unit : `${recurrence.every}${unit}s`;
  switch (recurrence.kind) {
    case "daily":
      return head;
    case "weekly":
      return recurrence.weekdays.length === 0 ? head : `${head} ${recurrence.weekdays.map((w) => WEEKDAY_NAMES[w - 1]).join(",")}`;
    case "monthlyByDay":
      return recurrence.days.length === 0 ? head : `${head} ${recurrence.days.map((d) => `day${d}`).join(",")}`;
    case "monthlyByWeekday": {
      const offset = recurrence.offsetDays === 0 ? "" : ` Offset${recurrence.offsetDays}`;
      return `${head} ${recurrence.ordinal} ${WEEKDAY_NAMES[recurrence.weekday - 1]}${offset}`;
    }
  }
}

/** Fills an empty weekday or day list with the start date's weekday or day of month. */
export function resolveRecurrence(recurrence: Recurrence, startDay: number): Recurrence {
  if (recurrence.kind === "weekly" && recurrence.weekdays.length === 0) return { ...recurrence, weekdays: [isoWeekday(startDay)] };
  if (recurrence.kind === "monthlyByDay" && recurrence.days.length === 0) return { ...recurrence, days: [civilDate(startDay).day] };
  return recurrence;
}

/** One period of the recurrence (a day, an ISO week, a month) that has occurrences. */
export interface RecurrencePeriod {
  /** First day of the period; every date of it lies on or after firstDay - MAX_OFFSET_DAYS. */
  firstDay: number;
  /** The occurrence dates of the period (epoch days), ascending; empty when the month lacks them all. */
  dates: number[];
}

/**
 * The periods of a resolved recurrence that starts on `startDay`, in order,
 * from the first one that may hold a date on or after `fromDay - 1` (never
 * before the start's period). Endless: the caller stops. Dates before the
 * start are not removed here.
 */
export function* recurrencePeriods(recurrence: Recurrence, startDay: number, fromDay: number): Generator<RecurrencePeriod> {
  const { every } = recurrence;
  if (recurrence.kind === "daily") {
    for (let k = Math.max(0, Math.ceil((fromDay - 1 - startDay) / every)); ; k++) {
      const day = startDay + k * every;
      yield { firstDay: day, dates: [day] };
    }
  }
  if (recurrence.kind === "weekly") {
    const startWeek = mondayOf(startDay);
    const fromWeek = Math.max(0, Math.floor((mondayOf(fromDay - 1) - startWeek) / 7));
    for (let k = Math.ceil(fromWeek / every); ; k++) {
      const monday = startWeek + k * every * 7;
      yield { firstDay: monday, dates: recurrence.weekdays.map((w) => monday + w - 1) };
    }
  }
  const startMonth = monthIndexOf(startDay);
  const fromMonth = Math.max(0, monthIndexOf(fromDay - 1) - 1 - startMonth);
  for (let k = Math.ceil(fromMonth / every); ; k++) {
    const month = startMonth + k * every;
    yield { firstDay: epochDay(Math.floor(month / 12), (month % 12) + 1, 1), dates: datesInMonth(recurrence, month) };
  }
}

function datesInMonth(recurrence: Recurrence, month: number): number[] {
  const year = Math.floor(month / 12);
  const monthOfYear = (month % 12) + 1;
  const first = epochDay(year, monthOfYear, 1);
  const length = epochDay(year, monthOfYear + 1, 1) - first;
  if (recurrence.kind === "monthlyByDay") return recurrence.days.filter((d) => d <= length).map((d) => first + d - 1);
  if (recurrence.kind !== "monthlyByWeekday") throw new Error(`datesInMonth: ${recurrence.kind} is not monthly`);
  const { ordinal, weekday, offsetDays } = recurrence;
  if (ordinal === "Last") {
    const last = first + length - 1;
    return [last - ((isoWeekday(last) - weekday + 7) % 7) + offsetDays];
  }
  const firstMatch = first + ((weekday - isoWeekday(first) + 7) % 7);
  return [firstMatch + 7 * ORDINALS.indexOf(ordinal) + offsetDays];
}

/** Epoch day of a proleptic Gregorian date; month and day may overflow (month 13 = January of the next year). */
export function epochDay(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, years 0..99 stay themselves
  return Math.round(date.getTime() / 86_400_000);
}

export function civilDate(day: number): { year: number; month: number; day: number } {
  const date = new Date(day * 86_400_000);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** 1970-01-01 (epoch day 0) was a Thursday. */
export function isoWeekday(day: number): Weekday {
  return (((((day + 3) % 7) + 7) % 7) + 1) as Weekday;
}

function mondayOf(day: number): number {
  return day - isoWeekday(day) + 1;
}

/** year * 12 + month - 1. */
function monthIndexOf(day: number): number {
  const { year, month } = civilDate(day);
  return year * 12 + month - 1;
}

/** Months after which the Gregorian calendar repeats its month lengths (400 years). */
const CALENDAR_CYCLE_MONTHS = 4800;

/** False for a monthly day list that no month it recurs in has (e.g. "12Months day30" from a February). */
export function recursOnSomeDate(recurrence: Recurrence, startDay: number): boolean {
  if (recurrence.kind !== "monthlyByDay") return true;
  let periods = 0;
  for (const period of recurrencePeriods(recurrence, startDay, startDay)) {
    if (period.dates.length > 0) return true;
    if (++periods >= CALENDAR_CYCLE_MONTHS) return false;
  }
  return false;
}

/** English: "every day", "every 2 weeks on Monday and Friday", "every month 3 days after the first Tuesday". */
export function describeRecurrence(recurrence: Recurrence): string {
  const every = (unit: string) => (recurrence.every === 1 ? `every ${unit}` : `every ${recurrence.every} ${unit}s`);
  switch (recurrence.kind) {
    case "daily":
      return every("day");
    case "weekly": {
      const names = englishList(recurrence.weekdays.map((w) => WEEKDAY_NAMES[w - 1]));
      return recurrence.every === 1 ? `every ${names}` : `${every("week")} on ${names}`;
    }
    case "monthlyByDay":
      return `${every("month")} on day${recurrence.days.length > 1 ? "s" : ""} ${englishList(recurrence.days.map(String))}`;
    case "monthlyByWeekday": {
      const { ordinal, weekday, offsetDays } = recurrence;
      const base = `the ${ordinal.toLowerCase()} ${WEEKDAY_NAMES[weekday - 1]}`;
      if (offsetDays === 0) return `${every("month")} on ${base}`;
      const days = Math.abs(offsetDays) === 1 ? "1 day" : `${Math.abs(offsetDays)} days`;
      return `${every("month")} ${days} ${offsetDays > 0 ? "after" : "before"} ${base}`;
    }
  }
}

function englishList(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
