/**
 * The maintenanceWindow of an Azure maintenance configuration
 * (Microsoft.Maintenance/maintenanceConfigurations, maintenanceScope
 * InGuestPatch): parsed, validated and expanded into occurrences.
 *
 * Contracts:
 * - Fields use ARM's names and formats: startDateTime and expirationDateTime
 *   "yyyy-MM-dd HH:mm" (local wall time in timeZone, two digits each, a real
 *   date and time), duration "HH:mm" from 00:01 to 03:55, timeZone a Windows
 *   time-zone name ("Pacific Standard Time", "W. Europe Standard Time",
 *   "UTC"; letter case is not significant, the CLDR spelling is kept), mapped
 *   to the first IANA zone CLDR gives for it. An IANA name ("Europe/Berlin")
 *   is refused with the Windows name to use instead. recurEvery: see
 *   maintenance-recurrence.ts (an empty weekday or day list takes the start
 *   date's). expirationDateTime may be absent or null, else it must lie after
 *   the start.
 * - An occurrence starts at the local wall time of startDateTime on each date
 *   of the recurrence, in the IANA zone. A wall time that does not exist (a
 *   spring-forward gap) moves forward by the gap: 02:30 on 2027-03-14 in
 *   America/Los_Angeles is 03:30 PDT. An ambiguous wall time (fall-back)
 *   takes the earlier instant, the first time the clock shows it: 01:30 on
 *   2027-11-07 there is 01:30 PDT (08:30Z). The same rules read startDateTime
 *   and expirationDateTime. (luxon alone does the gap shift but, for an
 *   ambiguous time, picks the later instant in some zones, so the instant is
 *   chosen here.)
 * - The duration is elapsed time: end = start + duration, whatever the clock
 *   does in between.
 * - Occurrences never start before the instant of startDateTime, nor at or
 *   after the expiration instant (it is exclusive). Occurrences are ascending.
 * - A monthly day list that no month of the recurrence has ("12Months day31"
 *   from an April) is refused, so every window has occurrences (up to
 *   year 9999, where the calendar ends).
 * - Malformed or out-of-range input is refused with E_USAGE; the message names
 *   the field (maintenanceWindow.duration, …), the value and the reason.
 */
import { DateTime, IANAZone } from "luxon";
import { findIana, findWindows, WINDOWS_TO_IANA_MAP } from "windows-iana";
import { HotpatchError } from "../errors.ts";
import {
  civilDate,
  describeRecurrence,
  epochDay,
  MAX_OFFSET_DAYS,
  parseRecurrence,
  type Recurrence,
  recurrencePeriods,
  recursOnSomeDate,
  resolveRecurrence,
} from "./maintenance-recurrence.ts";

export interface MaintenanceWindowInput {
  /** "yyyy-MM-dd HH:mm", local wall time in timeZone. */
  startDateTime: string;
  /** "HH:mm", 00:01 to 03:55. */
  duration: string;
  /** A Windows time-zone name. */
  timeZone: string;
  /** "yyyy-MM-dd HH:mm" local, optional. */
  expirationDateTime?: string | null;
  recurEvery: string;
}

export interface MaintenanceWindow {
  /** The strings it was parsed from. */
  input: Readonly<MaintenanceWindowInput>;
  /** The Windows time-zone name in CLDR's spelling. */
  windowsTimeZone: string;
  /** The IANA zone occurrences are computed in. */
  zone: string;
  /** The instant of startDateTime, in `zone` (later than the wall time if that falls in a gap). */
  start: DateTime;
  /** Epoch day (maintenance-recurrence.ts) of startDateTime's date. */
  startDay: number;
  /** The wall time of startDateTime, which every occurrence starts at. */
  wallTime: { hour: number; minute: number };
  durationMinutes: number;
  expiration: Date | null;
  /** With an empty weekday or day list filled from the start date. */
  recurrence: Recurrence;
}

export interface WindowOccurrence {
  start: Date;
  end: Date;
}

/** The longest window Azure accepts for InGuestPatch: 3 hours 55 minutes. */
export const MAX_DURATION_MINUTES = 3 * 60 + 55;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The day after the last one an occurrence can fall on (four-digit years). */
const END_OF_CALENDAR = epochDay(10000, 1, 1);

type Refuse = (name: string, value: unknown, reason: string) => never;

/** Validates a maintenanceWindow object; `field` prefixes the field names in refusals. */
export function parseMaintenanceWindow(input: MaintenanceWindowInput, field = "maintenanceWindow"): MaintenanceWindow {
  const refuse: Refuse = (name, value, reason) => {
    throw new HotpatchError("E_USAGE", `${field}.${name} ${JSON.stringify(value)}: ${reason}`);
  };
  if (typeof input !== "object" || input === null) throw new HotpatchError("E_USAGE", `${field} must be an object`);
  const { windowsTimeZone, zone } = ianaZoneOf(input.timeZone, refuse);
  const local = parseLocalDateTime("startDateTime", input.startDateTime, refuse);
  const start = wallTimeInstant(zone, local.day, local.hour, local.minute);
  const durationMinutes = parseWindowDuration(input.duration, refuse);
  let expiration: Date | null = null;
  if (input.expirationDateTime !== undefined && input.expirationDateTime !== null) {
    const end = parseLocalDateTime("expirationDateTime", input.expirationDateTime, refuse);
    expiration = wallTimeInstant(zone, end.day, end.hour, end.minute).toJSDate();
    if (expiration.getTime() <= start.toMillis()) {
      refuse("expirationDateTime", input.expirationDateTime, `must lie after startDateTime "${input.startDateTime}"`);
    }
  }
  const recurrence = resolveRecurrence(parseRecurrence(input.recurEvery, `${field}.recurEvery`), local.day);
  if (!recursOnSomeDate(recurrence, local.day)) {
    refuse("recurEvery", input.recurEvery, `never occurs: no month it recurs in from ${input.startDateTime.slice(0, 7)} has those days`);
  }
  return {
    input: { ...input },
    windowsTimeZone,
    zone,
    start,
    startDay: local.day,
    wallTime: { hour: local.hour, minute: local.minute },
    durationMinutes,
    expiration,
    recurrence,
  };
}

function ianaZoneOf(name: unknown, refuse: Refuse): { windowsTimeZone: string; zone: string } {
  if (typeof name !== "string") return refuse("timeZone", name, `is required: a Windows time-zone name such as "Pacific Standard Time"`);
  const entry = WINDOWS_TO_IANA_MAP.find((e) => e.windowsName.toLowerCase() === name.trim().toLowerCase());
  if (entry === undefined) {
    if (IANAZone.isValidZone(name)) {
      const example = findWindows(name)[0] ?? "Pacific Standard Time";
      return refuse("timeZone", name, `is an IANA time-zone name; a Windows time-zone name is needed (e.g. "${example}")`);
    }
    return refuse("timeZone", name, `is not a Windows time-zone name (e.g. "Pacific Standard Time", "W. Europe Standard Time", "UTC")`);
  }
  const zone = findIana(entry.windowsName)[0];
  if (zone === undefined || !IANAZone.isValidZone(zone)) {
    return refuse("timeZone", name, `maps to IANA zone "${zone}", which this runtime does not know`);
  }
  return { windowsTimeZone: entry.windowsName, zone };
}

/** "yyyy-MM-dd HH:mm" to an epoch day and a wall time; impossible dates and times are refused. */
function parseLocalDateTime(name: string, text: unknown, refuse: Refuse): { day: number; hour: number; minute: number } {
  const match = typeof text === "string" ? /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(text) : null;
  if (match === null) return refuse(name, text, `is not a local date and time "yyyy-MM-dd HH:mm" (e.g. "2027-01-02 22:00")`);
  const [year, month, dayOfMonth, hour, minute] = match.slice(1).map(Number);
  const day = epochDay(year, month, dayOfMonth);
  const back = civilDate(day);
  if (month < 1 || month > 12 || back.month !== month || back.day !== dayOfMonth) refuse(name, text, `${match[1]}-${match[2]}-${match[3]} is not a date`);
  if (hour > 23 || minute > 59) refuse(name, text, `${match[4]}:${match[5]} is not a time of day (00:00 to 23:59)`);
  return { day, hour, minute };
}

/** "HH:mm", 00:01 to 03:55, in minutes. */
function parseWindowDuration(text: unknown, refuse: Refuse): number {
  const match = typeof text === "string" ? /^(\d{2}):(\d{2})$/.exec(text) : null;
  if (match === null) return refuse("duration", text, `is not a duration "HH:mm" (e.g. "03:00")`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (Number(match[2]) > 59) refuse("duration", text, "the minutes must be 00 to 59");
  if (minutes === 0) refuse("duration", text, "a window must last at least a minute");
  if (minutes > MAX_DURATION_MINUTES) refuse("duration", text, "is longer than the maximum of 03:55");
  return minutes;
}

/**
 * The instant at which the clock of `zone` shows `hour:minute` on epoch day
 * `day`: the earlier one when it shows it twice, the wall time moved forward
 * by the gap when it never shows it.
 */
export function wallTimeInstant(zone: string, day: number, hour: number, minute: number): DateTime {
  const tz = IANAZone.create(zone);
  const wall = day * DAY_MS + (hour * 60 + minute) * MINUTE_MS; // the wall time read as if it were UTC
  const offsetBefore = tz.offset(wall - DAY_MS);
  const offsets = new Set([offsetBefore, tz.offset(wall), tz.offset(wall + DAY_MS)]);
  const candidates = [...offsets].map((offset) => wall - offset * MINUTE_MS).filter((t) => wall - tz.offset(t) * MINUTE_MS === t);
  // No candidate: a gap. Reading the wall time with the offset before it lands `gap` later on the clock.
  const instant = candidates.length > 0 ? Math.min(...candidates) : wall - offsetBefore * MINUTE_MS;
  return DateTime.fromMillis(instant, { zone });
}

/** Every occurrence whose start lies in [from, to), ascending. */
export function windowsBetween(window: MaintenanceWindow, from: Date, to: Date): WindowOccurrence[] {
  return [...occurrences(window, checkedInstant("from", from), checkedInstant("to", to))];
}

/** The first occurrence starting at or after `after`, or undefined when the window has expired by then. */
export function nextWindow(window: MaintenanceWindow, after: Date): WindowOccurrence | undefined {
  return occurrences(window, checkedInstant("after", after), Number.POSITIVE_INFINITY).next().value ?? undefined;
}

function checkedInstant(name: string, date: Date): number {
  const time = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(time)) throw new HotpatchError("E_USAGE", `${name} is not a valid instant`);
  return time;
}

/** Occurrences starting in [max(from, start), min(to, expiration)), ascending. */
function* occurrences(window: MaintenanceWindow, from: number, to: number): Generator<WindowOccurrence> {
  const lower = Math.max(from, window.start.toMillis());
  const upper = Math.min(to, window.expiration?.getTime() ?? Number.POSITIVE_INFINITY);
  if (lower >= upper) return;
  const lastDay = Number.isFinite(upper) ? localDay(upper, window.zone) + 1 : END_OF_CALENDAR;
  const { hour, minute } = window.wallTime;
  for (const period of recurrencePeriods(window.recurrence, window.startDay, localDay(lower, window.zone))) {
    if (!(period.firstDay - MAX_OFFSET_DAYS <= lastDay)) return; // negated: a count so large the date is NaN ends it too
    for (const day of period.dates) {
      if (!(day < END_OF_CALENDAR)) return;
      const start = wallTimeInstant(window.zone, day, hour, minute).toMillis();
      if (start < lower) continue;
      if (start >= upper) return; // occurrences ascend with their dates
      yield { start: new Date(start), end: new Date(start + window.durationMinutes * MINUTE_MS) };
    }
  }
}

function localDay(instant: number, zone: string): number {
  const local = DateTime.fromMillis(instant, { zone });
  return epochDay(local.year, local.month, local.day);
}

/** "every Saturday and Sunday at 22:00 Pacific Standard Time (America/Los_Angeles) for 03:00, from 2027-01-02, until 2027-12-31 23:59". */
export function formatWindowSummary(window: MaintenanceWindow): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const { hour, minute } = window.wallTime;
  const duration = `${two(Math.floor(window.durationMinutes / 60))}:${two(window.durationMinutes % 60)}`;
  const date = civilDate(window.startDay);
  const from = `${date.year}-${two(date.month)}-${two(date.day)}`;
  const until = window.expiration === null ? "" : `, until ${window.input.expirationDateTime}`;
  return `${describeRecurrence(window.recurrence)} at ${two(hour)}:${two(minute)} ${window.windowsTimeZone} (${window.zone}) for ${duration}, from ${from}${until}`;
}
