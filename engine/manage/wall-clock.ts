/**
 * Turning a local wall-clock time in an IANA zone into one instant.
 *
 * Contract (differs from luxon's own choice, deliberately):
 * - a wall time that does not exist (skipped by a spring-forward change, e.g.
 *   02:30 on 2027-03-14 in America/New_York) resolves to the first instant
 *   after it that exists: the moment of the change (03:00 EDT = 07:00Z).
 *   Luxon would move it forward by the size of the gap instead (03:30 EDT).
 * - a wall time that occurs twice (repeated by a fall-back change, e.g. 01:30
 *   on 2027-11-07 in America/New_York) resolves to its first occurrence
 *   (01:30 EDT = 05:30Z). Luxon would pick the second (01:30 EST).
 * The mapping is non-decreasing: a later wall time never resolves to an
 * earlier instant. Zone offsets come from luxon (the runtime's tz database).
 */
import { DateTime, IANAZone } from "luxon";

/** A calendar date and a time of day, read on the wall clock of some zone. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The instant (epoch milliseconds) of a wall time in `tz`, per the contract above. `tz` must be valid. */
export function wallTimeToInstant(wall: WallTime, tz: string): number {
  const zone = IANAZone.create(tz);
  // The wall time read as if it were UTC; instant = naive - offset.
  const naive = DateTime.utc(wall.year, wall.month, wall.day, wall.hour, wall.minute).toMillis();
  const offsets = [...new Set([zone.offset(naive - DAY), zone.offset(naive), zone.offset(naive + DAY)])];
  const candidates = offsets.map((offset) => naive - offset * MINUTE);
  const exact = candidates.filter((t) => zone.offset(t) * MINUTE === naive - t);
  if (exact.length > 0) return Math.min(...exact);

  // Skipped: find the first instant whose wall clock reads `naive` or later.
  const wallAt = (t: number): number => t + zone.offset(t) * MINUTE;
  let before = Math.min(...candidates); // wall clock reads earlier than naive
  let after = Math.max(...candidates); // wall clock reads naive or later
  if (!(wallAt(before) < naive && wallAt(after) >= naive)) {
    throw new Error(`cannot resolve ${JSON.stringify(wall)} in ${tz}`);
  }
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (wallAt(middle) >= naive) after = middle;
    else before = middle;
  }
  return after;
}
