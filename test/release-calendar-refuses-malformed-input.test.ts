import { describe, expect, it } from "vitest";
import { kbFor, latestReleaseAt, osBuildFor, parseMonth, releasesBetween } from "../engine/manage/calendar.ts";
import { releaseSchedule } from "../engine/manage/index.ts";
import { refusal } from "./refusal.ts";

describe("release calendar input checks", () => {
  it.each([2021, 2100, 1999, 2027.5, Number.NaN])("refuses the year %s", (year) => {
    const error = refusal(() => releaseSchedule({ year }), "E_USAGE");
    expect(error.message).toContain(String(year));
    expect(error.message).toContain("2022 to 2099");
  });

  it.each(["2027-13", "2027-00", "2027-5", "27-05", "2027/05", "", "2027-05-01", " 2027-05", "May 2027"])(
    "refuses the malformed unplanned month %j",
    (month) => {
      const error = refusal(() => releaseSchedule({ year: 2027, unplanned: [month] }), "E_USAGE");
      expect(error.message).toContain(`"${month}"`);
    },
  );

  it("refuses an unplanned month outside the year", () => {
    const error = refusal(() => releaseSchedule({ year: 2027, unplanned: ["2026-05"] }), "E_USAGE");
    expect(error.message).toMatch(/2026-05 is not in 2027/);
  });

  it.each(["2027-01", "2027-04", "2027-07", "2027-10"])("refuses %s, already a planned baseline, as unplanned", (month) => {
    const error = refusal(() => releaseSchedule({ year: 2027, unplanned: [month] }), "E_USAGE");
    expect(error.message).toContain("already a planned baseline");
  });

  it("refuses an unplanned month listed twice", () => {
    const error = refusal(() => releaseSchedule({ year: 2027, unplanned: ["2027-05", "2027-08", "2027-05"] }), "E_USAGE");
    expect(error.message).toContain("2027-05 is listed twice");
  });

  it("refuses a range that ends before it starts, and malformed range ends", () => {
    expect(refusal(() => releasesBetween("2028-02", "2027-11"), "E_USAGE").message).toContain("ends before it starts");
    refusal(() => releasesBetween("2027-1", "2027-12"), "E_USAGE");
    refusal(() => releasesBetween("2027-01", "2100-01"), "E_USAGE");
    refusal(() => releasesBetween("2027-01", "2027-03", ["2027-02", "2027-02"]), "E_USAGE");
    refusal(() => releasesBetween("2027-01", "2027-03", ["2030-04"]), "E_USAGE");
  });

  it("refuses malformed months in the KB and build helpers", () => {
    refusal(() => kbFor("2027-1"), "E_USAGE");
    refusal(() => osBuildFor("2021-12"), "E_USAGE");
    refusal(() => parseMonth("2027-13"), "E_USAGE");
  });

  it("refuses invalid instants and instants after 2099", () => {
    refusal(() => latestReleaseAt(new Date(Number.NaN)), "E_USAGE");
    refusal(() => latestReleaseAt(new Date("2100-03-01T00:00:00Z")), "E_USAGE");
  });
});
