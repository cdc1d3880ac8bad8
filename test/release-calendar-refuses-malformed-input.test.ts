import { describe, expect, it } from "vitest";
import { kbFor, latestReleaseAt, osBuildFor, parseMonth, releasesBetween } from "../engine/manage/calendar.ts";
import { releaseSchedule } from "../engine/manage/index.ts";
import { usageError } from "./usage-error.ts";

describe("release calendar input checks", () => {
  it.each([2021, 2100, 1999, 2027.5, Number.NaN])("refuses the year %s", (year) => {
    const error = usageError(() => releaseSchedule({ year }));
    expect(error.message).toContain(String(year));
    expect(error.message).toContain("2022 to 2099");
  });

  it.each(["2027-13", "2027-00", "2027-5", "27-05", "2027/05", "", "2027-05-01", " 2027-05", "May 2027"])(
    "refuses the malformed unplanned month %j",
    (month) => {
      const error = usageError(() => releaseSchedule({ year: 2027, unplanned: [month] }));
      expect(error.message).toContain(`"${month}"`);
    },
  );

  it("refuses an unplanned month outside the year", () => {
    const error = usageError(() => releaseSchedule({ year: 2027, unplanned: ["2026-05"] }));
    expect(error.message).toMatch(/2026-05 is not in 2027/);
  });

  it.each(["2027-01", "2027-04", "2027-07", "2027-10"])("refuses %s, already a planned baseline, as unplanned", (month) => {
    const error = usageError(() => releaseSchedule({ year: 2027, unplanned: [month] }));
    expect(error.message).toContain("already a planned baseline");
  });

  it("refuses an unplanned month listed twice", () => {
    const error = usageError(() => releaseSchedule({ year: 2027, unplanned: ["2027-05", "2027-08", "2027-05"] }));
    expect(error.message).toContain("2027-05 is listed twice");
  });

  it("refuses a range that ends before it starts, and malformed range ends", () => {
    expect(usageError(() => releasesBetween("2028-02", "2027-11")).message).toContain("ends before it starts");
    usageError(() => releasesBetween("2027-1", "2027-12"));
    usageError(() => releasesBetween("2027-01", "2100-01"));
    usageError(() => releasesBetween("2027-01", "2027-03", ["2027-02", "2027-02"]));
    usageError(() => releasesBetween("2027-01", "2027-03", ["2030-04"]));
  });

  it("refuses malformed months in the KB and build helpers", () => {
    usageError(() => kbFor("2027-1"));
    usageError(() => osBuildFor("2021-12"));
    usageError(() => parseMonth("2027-13"));
  });

  it("refuses invalid instants and instants after 2099", () => {
    usageError(() => latestReleaseAt(new Date(Number.NaN)));
    usageError(() => latestReleaseAt(new Date("2100-03-01T00:00:00Z")));
  });
});
