/**
 * Off-peak windows: the local night hours in which automatic guest patching
 * installs updates on a VM, read on the wall clock of the VM's IANA zone.
 *
 * Contracts:
 * - Azure does not publish its off-peak hours; ours default to 22:00-06:00
 *   local (DEFAULT_OFF_PEAK_WINDOW) and are configurable.
 * - A window "HH:MM-HH:MM" opens every local calendar day at its start; if the
 *   end is not later than the start on the clock, it closes the next day.
 *   Windows are half-open: [start, end).
 * - Boundaries are resolved per wall-clock.ts: a boundary in a skipped hour
 *   moves to the first valid instant after it; one in a repeated hour uses the
 *   first occurrence. So 22:00-06:00 lasts 7 real hours on a spring-forward
 *   night and 9 on a fall-back night. A window whose both ends fall in the
 *   same skipped gap is empty that day and does not exist.
 * - Instants are `Date`s (UTC). Nothing here reads the current time.
 */
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { validateTimeZone } from "./time-input.ts";
import { wallTimeToInstant } from "./wall-clock.ts";


/** A time of day on the wall clock. */
export interface ClockTime {
  hour: number;
  minute: number;
}

/** A daily window in local time; `start` and `end` differ. */
export interface OffPeakWindow {
  start: ClockTime;
  end: ClockTime;
}

/** One concrete opening of a window, as UTC instants; `start` < `end`. */
export interface WindowInstance {
  start: Date;
  end: Date;
}

/** Our documented default: 22:00 to 06:00 local time. */
export const DEFAULT_OFF_PEAK_WINDOW: OffPeakWindow = Object.freeze({
  start: Object.freeze({ hour: 22, minute: 0 }),
  end: Object.freeze({ hour: 6, minute: 0 }),
});

/** Parses "HH:MM-HH:MM" (24-hour clock, two-digit fields). Equal ends are refused. */
export function parseWindow(text: string): OffPeakWindow {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim());
  const numbers = match === null ? [] : match.slice(1).map(Number);
  const [sh, sm, eh, em] = numbers;
  if (match === null || sh > 23 || eh > 23 || sm > 59 || em > 59) {
    throw new HotpatchError("E_USAGE", `"${text}" is not an off-peak window (expected HH:MM-HH:MM, e.g. 22:00-06:00)`);
  }
  if (sh === eh && sm === em) {
    throw new HotpatchError("E_USAGE", `off-peak window "${text}" starts and ends at the same time`);
  }
  return { start: { hour: sh, minute: sm }, end: { hour: eh, minute: em } };
}

/** Formats a window as "HH:MM-HH:MM". */
export function formatWindow(window: OffPeakWindow): string {
  const clock = (t: ClockTime) => `${String(t.hour).padStart(2, "0")}:${String(t.minute).padStart(2, "0")}`;
  return `${clock(window.start)}-${clock(window.end)}`;
}

/**
 * The first window whose end is after `after`: the window containing `after`
 * if there is one, else the next one to open.
 */
export function nextOffPeakWindow(
  after: Date,
  tz: string,
  window: OffPeakWindow | string = DEFAULT_OFF_PEAK_WINDOW,
): WindowInstance {
  const time = checkInstant(after, "after");
  const spec = toWindow(window);
  validateTimeZone(tz);
  // A window opened on the previous local day may still be open.
  let day = localDay(time, tz).minus({ days: 1 });
  // At most one day's window can be empty, so a few days always suffice.
  for (let tries = 0; tries < 7; tries++) {
    const found = windowOn(day, tz, spec);
    if (found !== undefined && found.end.getTime() > time) return found;
    day = day.plus({ days: 1 });
  }
  throw new Error(`no off-peak window ${formatWindow(spec)} found in ${tz} after ${after.toISOString()}`);
}

/** Whether `instant` lies inside an off-peak window (start inclusive, end exclusive). */
export function isInOffPeak(
  instant: Date,
  tz: string,
  window: OffPeakWindow | string = DEFAULT_OFF_PEAK_WINDOW,
): boolean {
  return nextOffPeakWindow(instant, tz, window).start.getTime() <= checkInstant(instant, "instant");
}

/**
 * Every window that overlaps [from, to), in order, unclipped (the first may
 * open before `from`, the last may close after `to`). Empty if from >= to.
 */
export function windowsBetween(
  from: Date,
  to: Date,
  tz: string,
  window: OffPeakWindow | string = DEFAULT_OFF_PEAK_WINDOW,
): WindowInstance[] {
  const start = checkInstant(from, "from");
  const end = checkInstant(to, "to");
  const found: WindowInstance[] = [];
  let cursor = new Date(start);
  while (cursor.getTime() < end) {
    const next = nextOffPeakWindow(cursor, tz, window);
    if (next.start.getTime() >= end) break;
    found.push(next);
    cursor = next.end;
  }
  return found;
}

// ---------------------------------------------------------------------------

function toWindow(window: OffPeakWindow | string): OffPeakWindow {
  if (typeof window === "string") return parseWindow(window);
  // Round-trip through the parser so hand-built objects are checked too.
  return parseWindow(formatWindow(window));
}

function checkInstant(value: Date, name: string): number {
  const time = value instanceof Date ? value.getTime() : Number.NaN;
  if (Number.isNaN(time)) throw new HotpatchError("E_USAGE", `${name} is not a valid date`);
  return time;
}

/** The local calendar date of an instant, as a UTC-zoned midnight (used for date arithmetic only). */
function localDay(time: number, tz: string): DateTime {
  const local = DateTime.fromMillis(time, { zone: tz });
  return DateTime.utc(local.year, local.month, local.day);
}

/** The window opening on local date `day`, or undefined if it is empty that day. */
function windowOn(day: DateTime, tz: string, window: OffPeakWindow): WindowInstance | undefined {
  const crosses = window.end.hour * 60 + window.end.minute <= window.start.hour * 60 + window.start.minute;
  const endDay = crosses ? day.plus({ days: 1 }) : day;
  const start = wallTimeToInstant({ year: day.year, month: day.month, day: day.day, ...window.start }, tz);
  const end = wallTimeToInstant({ year: endDay.year, month: endDay.month, day: endDay.day, ...window.end }, tz);
  return end > start ? { start: new Date(start), end: new Date(end) } : undefined;
}
