import { describe, expect, it } from "vitest";
import { parseDuration } from "../engine/manage/index.ts";
import { parseInstant, validateTimeZone } from "../engine/manage/time-input.ts";
import { refusal } from "./refusal.ts";

describe("parseDuration", () => {
  it.each([
    ["PT2H", 2 * 3_600_000],
    ["P1D", 24 * 3_600_000],
    ["PT90M", 90 * 60_000],
    ["P1DT2H30M", 24 * 3_600_000 + 2 * 3_600_000 + 30 * 60_000],
    ["P1W", 7 * 24 * 3_600_000],
    ["PT1.5H", 90 * 60_000],
    ["PT0.5S", 500],
    ["PT0S", 0],
    ["pt2h", 2 * 3_600_000],
    ["PT1H0,25S", 3_600_000 + 250],
  ])("reads %s as %i ms", (text, millis) => {
    expect(parseDuration(text)).toBe(millis);
  });

  it.each(["", "P", "PT", "P1DT", "2H", "PT2H ", "PT-2H", "P1H", "PT1D", "P1.5DT2H", "PT0.0001S", "PT2HM"])(
    "refuses %j",
    (text) => {
      refusal(() => parseDuration(text), "E_USAGE");
    },
  );

  it("refuses negative durations and calendar units with a reason", () => {
    expect(refusal(() => parseDuration("-PT2H"), "E_USAGE").message).toContain("negative");
    expect(refusal(() => parseDuration("P1M"), "E_USAGE").message).toContain("years or months");
    expect(refusal(() => parseDuration("P1Y"), "E_USAGE").message).toContain("years or months");
    expect(refusal(() => parseDuration("P1Y2M3DT4H"), "E_USAGE").message).toContain("years or months");
  });
});

describe("parseInstant", () => {
  it.each([
    ["2027-01-12T18:00:00Z", Date.UTC(2027, 0, 12, 18)],
    ["2027-01-12T18:00Z", Date.UTC(2027, 0, 12, 18)],
    ["2027-01-12T19:00:00+01:00", Date.UTC(2027, 0, 12, 18)],
    ["2027-01-12T23:30:00+05:30", Date.UTC(2027, 0, 12, 18)],
    ["2027-01-12T13:00:00-0500", Date.UTC(2027, 0, 12, 18)],
    ["2027-01-12T18:00:00.250Z", Date.UTC(2027, 0, 12, 18, 0, 0, 250)],
  ])("reads %s", (text, millis) => {
    expect(parseInstant(text).getTime()).toBe(millis);
  });

  it.each([
    "2027-01-12",
    "2027-01-12T18:00:00",
    "2027-02-30T00:00:00Z",
    "2027-01-12T25:00:00Z",
    "2027-01-12T18:61:00Z",
    "yesterday",
    "",
    "1736704800000",
  ])("refuses %j", (text) => {
    refusal(() => parseInstant(text), "E_USAGE");
  });
});

describe("validateTimeZone", () => {
  it.each(["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata", "UTC"])("accepts %s", (tz) => {
    expect(validateTimeZone(tz)).toBe(tz);
  });

  it.each(["Mars/Olympus", "", "UTC+5", "New York"])("refuses %j", (tz) => {
    refusal(() => validateTimeZone(tz), "E_USAGE");
  });
});
