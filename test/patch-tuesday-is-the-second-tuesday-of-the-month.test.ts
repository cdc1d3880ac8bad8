import { describe, expect, it } from "vitest";
import { MAX_YEAR, MIN_YEAR, patchTuesday, RELEASE_HOUR_UTC } from "../engine/manage/calendar.ts";
import { refusal } from "./refusal.ts";

// Worked out by hand from the weekday of each month's first day.
const SECOND_TUESDAYS: [number, number, string][] = [
  [2027, 1, "2027-01-12"], // 1st is a Friday
  [2027, 2, "2027-02-09"], // Monday
  [2027, 3, "2027-03-09"], // Monday
  [2027, 4, "2027-04-13"], // Thursday
  [2027, 5, "2027-05-11"], // Saturday
  [2027, 6, "2027-06-08"], // Tuesday: the 1st is the first Tuesday
  [2027, 7, "2027-07-13"], // Thursday
  [2027, 8, "2027-08-10"], // Sunday
  [2027, 9, "2027-09-14"], // Wednesday: the latest possible date
  [2027, 10, "2027-10-12"], // Friday
  [2027, 11, "2027-11-09"], // Monday
  [2027, 12, "2027-12-14"], // Wednesday
  [2022, 6, "2022-06-14"], // Wednesday (a real Patch Tuesday)
  [2022, 11, "2022-11-08"], // Tuesday (a real Patch Tuesday)
  [2023, 8, "2023-08-08"], // Tuesday (a real Patch Tuesday)
  [2024, 9, "2024-09-10"], // Sunday (a real Patch Tuesday)
  [2024, 10, "2024-10-08"], // Tuesday (a real Patch Tuesday)
  [2025, 1, "2025-01-14"], // Wednesday (a real Patch Tuesday)
  [2026, 2, "2026-02-10"], // Sunday
];

describe("patchTuesday", () => {
  it.each(SECOND_TUESDAYS)("puts %i-%i on %s at 18:00 UTC", (year, month, date) => {
    expect(patchTuesday(year, month).toISOString()).toBe(`${date}T18:00:00.000Z`);
  });

  it("releases at 18:00 UTC", () => {
    expect(RELEASE_HOUR_UTC).toBe(18);
  });

  it("always lands on a Tuesday between the 8th and the 14th, for every month of the supported years", () => {
    for (let year = MIN_YEAR; year <= MAX_YEAR; year++) {
      for (let month = 1; month <= 12; month++) {
        const date = patchTuesday(year, month);
        expect(date.getUTCDay()).toBe(2);
        expect(date.getUTCDate()).toBeGreaterThanOrEqual(8);
        expect(date.getUTCDate()).toBeLessThanOrEqual(14);
        expect(date.getUTCMonth()).toBe(month - 1);
      }
    }
  });

  it.each([
    [2021, 1],
    [2100, 1],
    [2027.5, 1],
    [Number.NaN, 1],
    [2027, 0],
    [2027, 13],
    [2027, 1.5],
  ])("refuses year %s month %s with E_USAGE", (year, month) => {
    refusal(() => patchTuesday(year, month), "E_USAGE");
  });
});
