/**
 * engine/manage/maintenance-window.ts and maintenance-recurrence.ts: the
 * maintenanceWindow of an Azure maintenance configuration, expanded into
 * occurrences in the IANA zone of its Windows time-zone name.
 *
 * The expected instants were worked out by hand from the 2027 calendar
 * (2027-01-01 is a Friday) and the zones' offsets, and cross-checked with GNU
 * date (glibc's tz database, not luxon), e.g.
 * `TZ=Australia/Sydney date -u -d "2027-04-04 02:30 +1100"`.
 */
import fc from "fast-check";
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import { formatRecurrence, parseRecurrence } from "../engine/manage/maintenance-recurrence.ts";
import {
  formatWindowSummary,
  type MaintenanceWindowInput,
  nextWindow,
  parseMaintenanceWindow,
  windowsBetween,
} from "../engine/manage/maintenance-window.ts";
import { refusal } from "./refusal.ts";

const utc = (iso: string) => new Date(`${iso}Z`);

function windowOf(fields: Partial<MaintenanceWindowInput> & Pick<MaintenanceWindowInput, "recurEvery">) {
  return parseMaintenanceWindow({ startDateTime: "2027-01-01 10:00", duration: "01:00", timeZone: "UTC", ...fields });
}

/** Start instants of the occurrences in [from, to) as ISO strings without milliseconds. */
function startsBetween(fields: Parameters<typeof windowOf>[0], from: string, to: string): string[] {
  return windowsBetween(windowOf(fields), utc(from), utc(to)).map((o) => o.start.toISOString().replace(".000Z", "Z"));
}

describe("daily recurrences", () => {
  it("recur every day at the start's wall time and last the duration", () => {
    const window = windowOf({ startDateTime: "2027-01-02 22:00", duration: "03:00", recurEvery: "Day" });
    const found = windowsBetween(window, utc("2027-01-01T00:00"), utc("2027-01-05T00:00"));
    expect(found).toEqual([
      { start: utc("2027-01-02T22:00"), end: utc("2027-01-03T01:00") },
      { start: utc("2027-01-03T22:00"), end: utc("2027-01-04T01:00") },
      { start: utc("2027-01-04T22:00"), end: utc("2027-01-05T01:00") },
    ]);
  });

  it("count every 3 days from the start date, not from the range asked for", () => {
    const starts = startsBetween({ startDateTime: "2027-01-02 10:00", recurEvery: "3Days" }, "2027-01-10T00:00", "2027-01-18T00:00");
    expect(starts).toEqual(["2027-01-11T10:00:00Z", "2027-01-14T10:00:00Z", "2027-01-17T10:00:00Z"]);
  });

  it("include an occurrence starting exactly at `from` and exclude one starting exactly at `to`", () => {
    const starts = startsBetween({ recurEvery: "Day" }, "2027-01-02T10:00", "2027-01-04T10:00");
    expect(starts).toEqual(["2027-01-02T10:00:00Z", "2027-01-03T10:00:00Z"]);
  });

  it("expand ten years of daily windows quickly, one per day", () => {
    const window = windowOf({ timeZone: "Pacific Standard Time", recurEvery: "Day" });
    const began = performance.now();
    const found = windowsBetween(window, utc("2026-06-01T00:00"), utc("2037-01-01T12:00"));
    const elapsed = performance.now() - began;
    // 2027-01-01 .. 2036-12-31: 3650 days and the leap days of 2028, 2032 and 2036.
    expect(found.length).toBe(3653);
    expect(found.every((o) => DateTime.fromJSDate(o.start, { zone: "America/Los_Angeles" }).toFormat("HH:mm") === "10:00")).toBe(true);
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe("weekly recurrences", () => {
  it("take a weekday list, here Saturday and Sunday at 22:00 Pacific Standard Time (UTC-8 in January)", () => {
    const fields = { startDateTime: "2027-01-02 22:00", duration: "03:00", timeZone: "Pacific Standard Time", recurEvery: "Week Saturday,Sunday" };
    const starts = startsBetween(fields, "2027-01-01T00:00", "2027-01-12T00:00");
    expect(starts).toEqual(["2027-01-03T06:00:00Z", "2027-01-04T06:00:00Z", "2027-01-10T06:00:00Z", "2027-01-11T06:00:00Z"]);
  });

  it("recur on the start's weekday when no list is given", () => {
    // 2027-01-06 is a Wednesday.
    const starts = startsBetween({ startDateTime: "2027-01-06 09:00", recurEvery: "Week" }, "2027-01-01T00:00", "2027-01-21T00:00");
    expect(starts).toEqual(["2027-01-06T09:00:00Z", "2027-01-13T09:00:00Z", "2027-01-20T09:00:00Z"]);
  });

  it("count every 2 weeks from the week of the start, skipping the days of that week before the start", () => {
    // Start Wednesday 2027-01-06; its week is Monday 01-04 .. Sunday 01-10, then the weeks of 01-18 and 02-01.
    const fields = { startDateTime: "2027-01-06 09:00", recurEvery: "2Weeks Monday, Friday" };
    const starts = startsBetween(fields, "2026-12-01T00:00", "2027-02-06T00:00");
    expect(starts).toEqual([
      "2027-01-08T09:00:00Z",
      "2027-01-18T09:00:00Z",
      "2027-01-22T09:00:00Z",
      "2027-02-01T09:00:00Z",
      "2027-02-05T09:00:00Z",
    ]);
  });

  it("start weeks on Monday (ISO): a Sunday start is the last day of its week", () => {
    // Start Sunday 2027-01-10: week 0 is 01-04 .. 01-10, so its Monday is before the start; the next is 01-18.
    // (With Sunday-first weeks, Monday 01-11 would be in week 0.)
    const fields = { startDateTime: "2027-01-10 09:00", recurEvery: "2Weeks Sunday,Monday" };
    const starts = startsBetween(fields, "2027-01-01T00:00", "2027-02-02T00:00");
    expect(starts).toEqual(["2027-01-10T09:00:00Z", "2027-01-18T09:00:00Z", "2027-01-24T09:00:00Z", "2027-02-01T09:00:00Z"]);
  });
});

describe("monthly recurrences by day of month", () => {
  it("take a day list", () => {
    const starts = startsBetween({ recurEvery: "Month day23,day24" }, "2027-01-01T00:00", "2027-03-01T00:00");
    expect(starts).toEqual(["2027-01-23T10:00:00Z", "2027-01-24T10:00:00Z", "2027-02-23T10:00:00Z", "2027-02-24T10:00:00Z"]);
  });

  it("recur on the start's day of month when no list is given, every N months from the start month", () => {
    expect(startsBetween({ startDateTime: "2027-01-15 10:00", recurEvery: "Month" }, "2027-01-01T00:00", "2027-04-01T00:00")).toEqual([
      "2027-01-15T10:00:00Z",
      "2027-02-15T10:00:00Z",
      "2027-03-15T10:00:00Z",
    ]);
    expect(startsBetween({ startDateTime: "2027-01-15 10:00", recurEvery: "2Months" }, "2027-02-01T00:00", "2027-08-01T00:00")).toEqual([
      "2027-03-15T10:00:00Z",
      "2027-05-15T10:00:00Z",
      "2027-07-15T10:00:00Z",
    ]);
  });

  it("skip day31 in the months that have 30 days or fewer", () => {
    const starts = startsBetween({ recurEvery: "Month day31" }, "2027-01-01T00:00", "2028-01-01T00:00");
    expect(starts.map((s) => s.slice(0, 10))).toEqual(["2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31", "2027-08-31", "2027-10-31", "2027-12-31"]);
  });

  it("skip day29..day31 in February 2027 but keep day29 in February 2028 (a leap year)", () => {
    const fields = { recurEvery: "Month day29,day30,day31" };
    expect(startsBetween(fields, "2027-02-01T00:00", "2027-03-01T00:00")).toEqual([]);
    expect(startsBetween(fields, "2027-01-29T00:00", "2027-03-30T00:00").map((s) => s.slice(0, 10))).toEqual([
      "2027-01-29",
      "2027-01-30",
      "2027-01-31",
      "2027-03-29",
    ]);
    expect(startsBetween(fields, "2028-02-01T00:00", "2028-03-01T00:00")).toEqual(["2028-02-29T10:00:00Z"]);
  });

  it("find the next February 29 of a yearly day29 window, and refuse a day list no month of it has", () => {
    const leapDay = windowOf({ startDateTime: "2027-02-01 10:00", recurEvery: "12Months day29" });
    expect(nextWindow(leapDay, utc("2027-01-01T00:00"))?.start).toEqual(utc("2028-02-29T10:00"));
    const never = refusal(() => windowOf({ startDateTime: "2027-04-01 10:00", recurEvery: "12Months day31" }), "E_USAGE");
    expect(never.message).toMatch(/^E_USAGE: maintenanceWindow\.recurEvery "12Months day31": never occurs/);
    refusal(() => windowOf({ startDateTime: "2027-02-01 10:00", recurEvery: "12Months day30" }), "E_USAGE");
  });
});

describe("monthly recurrences by weekday", () => {
  const firstQuarter = (recurEvery: string) => startsBetween({ recurEvery }, "2027-01-01T00:00", "2027-04-01T00:00").map((s) => s.slice(0, 10));

  it("take an ordinal weekday of the month", () => {
    expect(firstQuarter("Month Fourth Monday")).toEqual(["2027-01-25", "2027-02-22", "2027-03-22"]);
    expect(firstQuarter("Month Last Sunday")).toEqual(["2027-01-31", "2027-02-28", "2027-03-28"]);
    expect(firstQuarter("Month First Tuesday Offset3")).toEqual(["2027-01-08", "2027-02-05", "2027-03-05"]);
    expect(firstQuarter("Month Last Sunday Offset-3")).toEqual(["2027-01-28", "2027-02-25", "2027-03-25"]);
  });

  it("let a positive offset move the date into the next month", () => {
    // Last Sundays 01-31, 02-28, 03-28 (+3 days); January's lands in February.
    expect(firstQuarter("Month Last Sunday Offset3")).toEqual(["2027-02-03", "2027-03-03", "2027-03-31"]);
  });

  it("let a negative offset move the date into the previous month, never before the start", () => {
    // First Mondays 01-04 (-6: 2026-12-29, before the start), 02-01 (-6: 01-26), 03-01 (-6: 02-23),
    // and April's, 04-05 (-6: 03-30, in the first quarter).
    expect(firstQuarter("Month First Monday Offset-6")).toEqual(["2027-01-26", "2027-02-23", "2027-03-30"]);
  });

  it("count every N months by the month of the ordinal weekday, not of the shifted date", () => {
    const range = (recurEvery: string) => startsBetween({ recurEvery }, "2026-12-01T00:00", "2027-07-01T00:00").map((s) => s.slice(0, 10));
    // Months January, March, May, July: first Mondays 01-04 (before the start), 03-01, 05-03, 07-05, each 6 days earlier.
    expect(range("2Months First Monday Offset-6")).toEqual(["2027-02-23", "2027-04-27", "2027-06-29"]);
    // Last Sundays 01-31, 03-28, 05-30, each 3 days later.
    expect(range("2Months Last Sunday Offset3")).toEqual(["2027-02-03", "2027-03-31", "2027-06-02"]);
  });
});

describe("the start and the expiration", () => {
  it("never produce an occurrence before the start, even in the start's own period", () => {
    expect(startsBetween({ startDateTime: "2027-01-15 10:00", recurEvery: "Month day1,day20" }, "2026-01-01T00:00", "2027-02-02T00:00")).toEqual([
      "2027-01-20T10:00:00Z",
      "2027-02-01T10:00:00Z",
    ]);
    const daily = windowOf({ startDateTime: "2027-01-15 10:00", recurEvery: "Day" });
    expect(windowsBetween(daily, utc("2020-01-01T00:00"), utc("2027-01-15T10:00"))).toEqual([]);
    expect(nextWindow(daily, utc("2020-01-01T00:00"))?.start).toEqual(utc("2027-01-15T10:00"));
  });

  it("end before the expiration: an occurrence starting at it is left out, one a minute before it is kept", () => {
    const days = (expirationDateTime: string) =>
      startsBetween({ recurEvery: "Day", expirationDateTime }, "2026-12-01T00:00", "2028-01-01T00:00").map((s) => s.slice(0, 10));
    expect(days("2027-01-05 10:00")).toEqual(["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"]);
    expect(days("2027-01-05 10:01")).toEqual(["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04", "2027-01-05"]);
    const expiring = windowOf({ recurEvery: "Day", expirationDateTime: "2027-01-05 10:00" });
    expect(nextWindow(expiring, utc("2027-01-04T10:00"))?.start).toEqual(utc("2027-01-04T10:00"));
    expect(nextWindow(expiring, utc("2027-01-04T10:01"))).toBeUndefined();
  });

  it("read the expiration in the window's zone", () => {
    // 2027-01-05 02:00 Pacific Standard Time is 10:00Z, the start of the fifth occurrence.
    const fields = { timeZone: "Pacific Standard Time", startDateTime: "2027-01-01 02:00", recurEvery: "Day", expirationDateTime: "2027-01-05 02:00" };
    expect(startsBetween(fields, "2027-01-01T00:00", "2027-02-01T00:00")).toHaveLength(4);
    expect(parseMaintenanceWindow({ ...fields, duration: "01:00" }).expiration).toEqual(utc("2027-01-05T10:00"));
  });
});

describe("daylight saving time", () => {
  const pacific = { timeZone: "Pacific Standard Time", recurEvery: "Day" };

  it("moves a wall time in the US spring-forward gap forward by the gap (2027-03-14, America/Los_Angeles)", () => {
    const starts = startsBetween({ ...pacific, startDateTime: "2027-03-12 02:30" }, "2027-03-12T00:00", "2027-03-16T00:00");
    // 02:30 PST = 10:30Z; on 03-14 02:30 does not exist and becomes 03:30 PDT = 10:30Z; then 02:30 PDT = 09:30Z.
    expect(starts).toEqual(["2027-03-12T10:30:00Z", "2027-03-13T10:30:00Z", "2027-03-14T10:30:00Z", "2027-03-15T09:30:00Z"]);
    const inGap = windowOf({ ...pacific, startDateTime: "2027-03-14 02:30" });
    expect(inGap.start.toISO()).toBe("2027-03-14T03:30:00.000-07:00");
    expect(nextWindow(inGap, utc("2027-03-14T10:31"))?.start).toEqual(utc("2027-03-15T09:30"));
  });

  it("takes the earlier instant of an ambiguous wall time at the US fall-back (2027-11-07)", () => {
    const window = windowOf({ ...pacific, startDateTime: "2027-11-06 01:30" });
    const found = windowsBetween(window, utc("2027-11-06T00:00"), utc("2027-11-09T00:00"));
    // 01:30 PDT on 11-06 and (the first 01:30) on 11-07 = 08:30Z; 01:30 PST on 11-08 = 09:30Z.
    expect(found).toEqual([
      { start: utc("2027-11-06T08:30"), end: utc("2027-11-06T09:30") },
      { start: utc("2027-11-07T08:30"), end: utc("2027-11-07T09:30") },
      { start: utc("2027-11-08T09:30"), end: utc("2027-11-08T10:30") },
    ]);
    expect(windowOf({ ...pacific, startDateTime: "2027-11-07 01:30" }).start.toISO()).toBe("2027-11-07T01:30:00.000-07:00");
  });

  it("counts the duration in elapsed time across the fall-back hour", () => {
    // 00:30 PDT = 07:30Z; three real hours later the clock shows 02:30 PST.
    const window = windowOf({ ...pacific, startDateTime: "2027-11-07 00:30", duration: "03:00" });
    const [first] = windowsBetween(window, utc("2027-11-07T00:00"), utc("2027-11-08T00:00"));
    expect(first).toEqual({ start: utc("2027-11-07T07:30"), end: utc("2027-11-07T10:30") });
    expect(DateTime.fromJSDate(first.end, { zone: "America/Los_Angeles" }).toFormat("HH:mm")).toBe("02:30");
  });

  it("follows W. Europe Standard Time through the last Sundays of March and October 2027", () => {
    const fields = { timeZone: "W. Europe Standard Time", startDateTime: "2027-01-01 02:30", duration: "02:00", recurEvery: "Month Last Sunday" };
    const starts = startsBetween(fields, "2027-01-01T00:00", "2027-12-01T00:00");
    expect(starts[0]).toBe("2027-01-31T01:30:00Z"); // 02:30 CET
    expect(starts[2]).toBe("2027-03-28T01:30:00Z"); // 02:30 does not exist: 03:30 CEST
    expect(starts[3]).toBe("2027-04-25T00:30:00Z"); // 02:30 CEST
    expect(starts[9]).toBe("2027-10-31T00:30:00Z"); // the first 02:30, still CEST
    expect(starts[10]).toBe("2027-11-28T01:30:00Z"); // 02:30 CET
    expect(starts).toHaveLength(11);
  });

  it("follows AUS Eastern Standard Time, whose daylight saving ends on the first Sunday of April 2027", () => {
    const fields = { timeZone: "AUS Eastern Standard Time", startDateTime: "2027-01-01 02:30", recurEvery: "Month First Sunday" };
    const starts = startsBetween(fields, "2027-01-01T00:00", "2027-11-01T00:00");
    expect(starts).toEqual([
      "2027-01-02T15:30:00Z", // 01-03 02:30 AEDT (+11)
      "2027-02-06T15:30:00Z",
      "2027-03-06T15:30:00Z",
      "2027-04-03T15:30:00Z", // 04-04: 02:30 happens twice, the first is AEDT
      "2027-05-01T16:30:00Z", // 05-02 02:30 AEST (+10)
      "2027-06-05T16:30:00Z",
      "2027-07-03T16:30:00Z",
      "2027-07-31T16:30:00Z", // 08-01
      "2027-09-04T16:30:00Z",
      "2027-10-02T16:30:00Z", // 10-03: daylight saving starts, 02:30 becomes 03:30 AEDT
    ]);
  });
});

describe("parseRecurrence", () => {
  it.each([
    ["Day", { kind: "daily", every: 1 }, "Day"],
    ["3Days", { kind: "daily", every: 3 }, "3Days"],
    ["1Days", { kind: "daily", every: 1 }, "Day"],
    ["2day", { kind: "daily", every: 2 }, "2Days"],
    ["week", { kind: "weekly", every: 1, weekdays: [] }, "Week"],
    ["2weeks SUNDAY, monday", { kind: "weekly", every: 2, weekdays: [1, 7] }, "2Weeks Monday,Sunday"],
    ["Week Saturday,Sunday", { kind: "weekly", every: 1, weekdays: [6, 7] }, "Week Saturday,Sunday"],
    ["MONTHS", { kind: "monthlyByDay", every: 1, days: [] }, "Month"],
    ["Month Day24,day23,day23", { kind: "monthlyByDay", every: 1, days: [23, 24] }, "Month day23,day24"],
    ["month fourth monday", { kind: "monthlyByWeekday", every: 1, ordinal: "Fourth", weekday: 1, offsetDays: 0 }, "Month Fourth Monday"],
    ["Month Last Sunday Offset-3", { kind: "monthlyByWeekday", every: 1, ordinal: "Last", weekday: 7, offsetDays: -3 }, "Month Last Sunday Offset-3"],
    ["3Months First Tuesday offset+6", { kind: "monthlyByWeekday", every: 3, ordinal: "First", weekday: 2, offsetDays: 6 }, "3Months First Tuesday Offset6"],
  ])("reads %j (case-insensitively) and writes it back as %j", (text, parsed, canonical) => {
    expect(parseRecurrence(text)).toEqual(parsed);
    expect(formatRecurrence(parseRecurrence(text))).toBe(canonical);
  });

  it.each([
    ["Fortnight", "unknown unit"],
    ["0Days", "at least 1"],
    ["0Weeks Monday", "at least 1"],
    ["Week Funday", 'unknown weekday "Funday"'],
    ["Week Monday Friday", "one comma-separated weekday list"],
    ["Day Monday", "nothing after the unit"],
    ["Month Fifth Monday", 'unknown ordinal "Fifth"'],
    ["Month Last", "needs a weekday"],
    ["Month First Tuesday Offset7", "outside -6..6"],
    ["Month Last Sunday Offset-7", "outside -6..6"],
    ["Month First Tuesday Later3", "is not an offset"],
    ["Month day0", "1 to 31"],
    ["Month day32", "1 to 31"],
    ["Month day1,dayX", "is not a day of month"],
    ["", "unknown unit"],
  ])("refuses %j (%s), naming the field", (text, reason) => {
    const error = refusal(() => windowOf({ recurEvery: text }), "E_USAGE");
    expect(error.message.startsWith(`E_USAGE: maintenanceWindow.recurEvery ${JSON.stringify(text)}: `)).toBe(true);
    expect(error.message).toContain(reason);
  });
});

describe("parseMaintenanceWindow", () => {
  it("maps the Windows time-zone name to its IANA zone and keeps what it was given", () => {
    const input = { startDateTime: "2027-01-02 22:00", duration: "03:00", timeZone: "pacific standard time", recurEvery: "Week Saturday,Sunday" };
    const window = parseMaintenanceWindow(input);
    expect(window.zone).toBe("America/Los_Angeles");
    expect(window.windowsTimeZone).toBe("Pacific Standard Time");
    expect(window.start.toISO()).toBe("2027-01-02T22:00:00.000-08:00");
    expect(window.durationMinutes).toBe(180);
    expect(window.expiration).toBeNull();
    expect(window.input).toEqual(input);
    expect(parseMaintenanceWindow({ ...input, timeZone: "W. Europe Standard Time" }).zone).toBe("Europe/Berlin");
    expect(parseMaintenanceWindow({ ...input, timeZone: "AUS Eastern Standard Time" }).zone).toBe("Australia/Sydney");
    expect(parseMaintenanceWindow({ ...input, timeZone: "UTC" }).zone).toBe("Etc/UTC");
  });

  it("fills an empty weekday or day list from the start date", () => {
    expect(windowOf({ startDateTime: "2027-01-06 09:00", recurEvery: "Week" }).recurrence).toEqual({ kind: "weekly", every: 1, weekdays: [3] });
    expect(windowOf({ startDateTime: "2027-01-15 09:00", recurEvery: "2Months" }).recurrence).toEqual({ kind: "monthlyByDay", every: 2, days: [15] });
  });

  it("summarises itself in one line", () => {
    const window = parseMaintenanceWindow({
      startDateTime: "2027-01-02 22:00",
      duration: "03:00",
      timeZone: "Pacific Standard Time",
      expirationDateTime: "2027-12-31 23:59",
      recurEvery: "Week Saturday,Sunday",
    });
    expect(formatWindowSummary(window)).toBe(
      "every Saturday and Sunday at 22:00 Pacific Standard Time (America/Los_Angeles) for 03:00, from 2027-01-02, until 2027-12-31 23:59",
    );
    expect(formatWindowSummary(windowOf({ recurEvery: "2Months First Tuesday Offset3", duration: "01:30" }))).toBe(
      "every 2 months 3 days after the first Tuesday at 10:00 UTC (Etc/UTC) for 01:30, from 2027-01-01",
    );
    expect(formatWindowSummary(windowOf({ recurEvery: "3Days" }))).toMatch(/^every 3 days at 10:00 UTC/);
    expect(formatWindowSummary(windowOf({ recurEvery: "Month day1,day15,day31" }))).toMatch(/^every month on days 1, 15 and 31 at/);
  });

  it.each([
    ["timeZone", { timeZone: "Europe/Berlin" }, /IANA time-zone name; a Windows time-zone name is needed \(e\.g\. "W\. Europe Standard Time"\)/],
    ["timeZone", { timeZone: "Mars Standard Time" }, /not a Windows time-zone name \(e\.g\. "Pacific Standard Time"/],
    ["duration", { duration: "04:00" }, /longer than the maximum of 03:55/],
    ["duration", { duration: "03:56" }, /longer than the maximum of 03:55/],
    ["duration", { duration: "00:00" }, /at least a minute/],
    ["duration", { duration: "3:00" }, /not a duration "HH:mm"/],
    ["duration", { duration: "04:60" }, /minutes must be 00 to 59/],
    ["duration", { duration: "PT3H" }, /not a duration "HH:mm"/],
    ["startDateTime", { startDateTime: "2027-01-02T22:00" }, /not a local date and time "yyyy-MM-dd HH:mm"/],
    ["startDateTime", { startDateTime: "2027-01-02 22:00:00" }, /not a local date and time/],
    ["startDateTime", { startDateTime: "2027-02-30 10:00" }, /2027-02-30 is not a date/],
    ["startDateTime", { startDateTime: "2027-13-01 10:00" }, /is not a date/],
    ["startDateTime", { startDateTime: "2027-01-02 24:00" }, /not a time of day/],
    ["expirationDateTime", { expirationDateTime: "2027-12-31" }, /not a local date and time/],
    ["expirationDateTime", { expirationDateTime: "2027-04-31 10:00" }, /2027-04-31 is not a date/],
    ["expirationDateTime", { expirationDateTime: "2027-01-01 10:00" }, /must lie after startDateTime "2027-01-01 10:00"/],
    ["expirationDateTime", { expirationDateTime: "2026-12-31 23:00" }, /must lie after startDateTime/],
  ])("refuses a bad %s (%j), naming the field and the reason", (name, fields, reason) => {
    const error = refusal(() => windowOf({ recurEvery: "Day", ...fields }), "E_USAGE");
    expect(error.message.startsWith(`E_USAGE: maintenanceWindow.${name} ${JSON.stringify(Object.values(fields)[0])}: `)).toBe(true);
    expect(error.message).toMatch(reason);
  });

  it("accepts the longest duration, 03:55, and names fields under the prefix it is given", () => {
    expect(windowOf({ recurEvery: "Day", duration: "03:55" }).durationMinutes).toBe(235);
    const error = refusal(
      () => parseMaintenanceWindow({ startDateTime: "2027-01-01 10:00", duration: "05:00", timeZone: "UTC", recurEvery: "Day" }, "properties.maintenanceWindow"),
      "E_USAGE",
    );
    expect(error.message).toMatch(/^E_USAGE: properties\.maintenanceWindow\.duration "05:00": /);
  });
});

describe("random valid windows (fast-check)", () => {
  const ZONES = {
    "Pacific Standard Time": "America/Los_Angeles",
    "W. Europe Standard Time": "Europe/Berlin",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Lord Howe Standard Time": "Australia/Lord_Howe", // a 30-minute daylight saving shift
    "India Standard Time": "Asia/Kolkata",
    UTC: "Etc/UTC",
  };
  const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const two = (n: number) => String(n).padStart(2, "0");
  const recurrenceArb = fc.oneof(
    fc.constantFrom("Day", "2Days"), // every day of the year: often on a daylight saving change
    fc.integer({ min: 1, max: 10 }).map((n) => `${n}Days`),
    fc.tuple(fc.integer({ min: 1, max: 4 }), fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 })).map(([n, days]) => `${n}Weeks ${days.join(",")}`),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.uniqueArray(fc.integer({ min: 1, max: 31 }), { minLength: 1, maxLength: 4 })).map(([n, days]) => `${n}Months ${days.map((d) => `day${d}`).join(",")}`),
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom("First", "Second", "Third", "Fourth", "Last"), fc.constantFrom(...WEEKDAYS), fc.integer({ min: -6, max: 6 }))
      .map(([n, ordinal, day, offset]) => `${n}Months ${ordinal} ${day} Offset${offset}`),
  );
  const windowArb = fc.record({
    timeZone: fc.constantFrom(...Object.keys(ZONES)),
    day: fc.integer({ min: 0, max: 4 * 365 }), // from 2026-01-01
    hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constantFrom(1, 2, 3)), // often near the daylight saving changes
    minute: fc.constantFrom(0, 15, 30, 45, 59),
    durationMinutes: fc.integer({ min: 1, max: 235 }),
    expiresAfterDays: fc.option(fc.integer({ min: 1, max: 400 })),
    recurEvery: recurrenceArb,
    askFromDays: fc.integer({ min: -30, max: 400 }),
  });
  const localText = (day: number, hour: number, minute: number) => {
    const date = DateTime.utc(2026, 1, 1).plus({ days: day });
    return `${date.toFormat("yyyy-MM-dd")} ${two(hour)}:${two(minute)}`;
  };

  it("produce ascending occurrences at the start's wall time (or later by a gap) that nextWindow agrees with", () => {
    fc.assert(
      fc.property(windowArb, (w) => {
        const input = {
          timeZone: w.timeZone,
          startDateTime: localText(w.day, w.hour, w.minute),
          duration: `${two(Math.floor(w.durationMinutes / 60))}:${two(w.durationMinutes % 60)}`,
          expirationDateTime: w.expiresAfterDays === null ? null : localText(w.day + w.expiresAfterDays, w.hour, w.minute),
          recurEvery: w.recurEvery,
        };
        // Every input is valid: counts up to 3 months visit a 31-day month, and the expiration is a day or more later.
        const window = parseMaintenanceWindow(input);
        const zone = ZONES[w.timeZone as keyof typeof ZONES];
        const tz = IANAZone.create(zone);
        const start = DateTime.fromJSDate(window.start.toJSDate(), { zone });
        const from = start.plus({ days: w.askFromDays }).toJSDate();
        const to = start.plus({ days: w.askFromDays + 370 }).toJSDate();
        const found = windowsBetween(window, from, to);
        for (const [i, o] of found.entries()) {
          if (i > 0) expect(o.start.getTime()).toBeGreaterThan(found[i - 1].start.getTime());
          expect(o.start.getTime()).toBeGreaterThanOrEqual(Math.max(from.getTime(), window.start.toMillis()));
          expect(o.start.getTime()).toBeLessThan(Math.min(to.getTime(), window.expiration?.getTime() ?? Number.POSITIVE_INFINITY));
          expect(o.end.getTime() - o.start.getTime()).toBe(w.durationMinutes * 60_000);
          const local = DateTime.fromJSDate(o.start, { zone });
          const shownMinutes = local.hour * 60 + local.minute;
          const wallMinutes = w.hour * 60 + w.minute;
          if (shownMinutes !== wallMinutes) {
            // A gap: the clock jumped by (offset now - offset a day before), and the shown time is later by exactly that.
            const gap = tz.offset(o.start.getTime()) - tz.offset(o.start.getTime() - 86_400_000);
            expect(gap).toBeGreaterThan(0);
            expect((shownMinutes - wallMinutes + 1440) % 1440).toBe(gap);
          } else {
            // No earlier instant of the same day shows the same wall time (the earlier of two is taken).
            for (const back of [30, 60]) {
              const earlier = DateTime.fromMillis(o.start.getTime() - back * 60_000, { zone });
              expect(earlier.toFormat("yyyy-MM-dd HH:mm")).not.toBe(local.toFormat("yyyy-MM-dd HH:mm"));
            }
          }
          expect(nextWindow(window, o.start)).toEqual(o);
          const following = nextWindow(window, new Date(o.start.getTime() + 1));
          if (i + 1 < found.length) expect(following).toEqual(found[i + 1]);
        }
        const first = nextWindow(window, from);
        if (found.length > 0) expect(first).toEqual(found[0]);
        else expect(first === undefined || first.start.getTime() >= to.getTime()).toBe(true);
      }),
      { seed: 20270314, numRuns: 200 },
    );
  });
});
