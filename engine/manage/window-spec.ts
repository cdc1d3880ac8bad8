/**
 * A VM's install window: the daily off-peak window of offpeak.ts
 * ("22:00-06:00"), or a weekly maintenance window ("Sun 02:00-06:00": the
 * window that opens on that local weekday).
 *
 * Contracts: same as offpeak.ts (local wall clock of the VM's zone, DST-correct,
 * half-open [start, end)); the weekday is the local weekday on which the
 * window opens. Malformed specs are refused with E_USAGE.
 */
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { formatWindow, nextOffPeakWindow, type OffPeakWindow, parseWindow, type WindowInstance } from "./offpeak.ts";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export interface WindowSpec {
  window: OffPeakWindow;
  /** 1 = Monday … 7 = Sunday (luxon's numbering); null for every day. */
  weekday: number | null;
}

/** Parses "HH:MM-HH:MM" or "<Mon..Sun> HH:MM-HH:MM" (weekday in any letter case). */
export function parseWindowSpec(text: string): WindowSpec {
  const match = /^(?:([A-Za-z]{3})\s+)?(\S+)$/.exec(text.trim());
  if (match === null) throw new HotpatchError("E_USAGE", `"${text}" is not a window (expected HH:MM-HH:MM or e.g. "Sun 02:00-06:00")`);
  let weekday: number | null = null;
  if (match[1] !== undefined) {
    const index = WEEKDAYS.findIndex((d) => d.toLowerCase() === match[1].toLowerCase());
    if (index < 0) throw new HotpatchError("E_USAGE", `"${match[1]}" is not a weekday (expected one of ${WEEKDAYS.join(", ")})`);
    weekday = index + 1;
  }
  return { window: parseWindow(match[2]), weekday };
}

export function formatWindowSpec(spec: WindowSpec): string {
  return spec.weekday === null ? formatWindow(spec.window) : `${WEEKDAYS[spec.weekday - 1]} ${formatWindow(spec.window)}`;
}

/** The first window of the spec whose end is after `after` (the one containing it, or the next). */
export function nextWindow(after: Date, tz: string, spec: WindowSpec): WindowInstance {
  let cursor = after;
  for (let tries = 0; tries < 16; tries++) {
    const found = nextOffPeakWindow(cursor, tz, spec.window);
    if (spec.weekday === null || DateTime.fromJSDate(found.start, { zone: tz }).weekday === spec.weekday) return found;
    cursor = found.end;
  }
  throw new Error(`no window ${formatWindowSpec(spec)} found in ${tz} after ${after.toISOString()}`);
}
