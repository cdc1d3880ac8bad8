import { describe, expect, it } from "vitest";
import { kbFor, latestReleaseAt, osBuildFor, releaseFor, type ReleaseMonth, releasesBetween } from "../engine/manage/calendar.ts";
import { releaseSchedule } from "../engine/manage/index.ts";

/** "B" planned baseline, "U" unplanned baseline, "H" hotpatch — one letter per month. */
function shape(schedule: ReleaseMonth[]): string {
  return schedule.map((r) => (r.type === "hotpatch" ? "H" : r.planned ? "B" : "U")).join("");
}

describe("releaseSchedule without unplanned baselines", () => {
  const year = releaseSchedule({ year: 2027 });

  it("has a planned baseline in January, April, July and October and hotpatches in between", () => {
    expect(year.map((r) => r.month)).toEqual([
      "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06",
      "2027-07", "2027-08", "2027-09", "2027-10", "2027-11", "2027-12",
    ]);
    expect(shape(year)).toBe("BHHBHHBHHBHH");
    expect(year.every((r) => r.planned)).toBe(true);
  });

  it("requires a reboot for baselines only", () => {
    expect(year.map((r) => r.reboot)).toEqual([
      true, false, false, true, false, false, true, false, false, true, false, false,
    ]);
  });

  it("builds each hotpatch against its quarter's baseline", () => {
    expect(year.map((r) => r.baselineMonth)).toEqual([
      "2027-01", "2027-01", "2027-01", "2027-04", "2027-04", "2027-04",
      "2027-07", "2027-07", "2027-07", "2027-10", "2027-10", "2027-10",
    ]);
  });

  it("dates each release on Patch Tuesday at 18:00 UTC", () => {
    expect(year[0].releaseDate).toBe("2027-01-12T18:00:00Z");
    expect(year[4].releaseDate).toBe("2027-05-11T18:00:00Z");
    expect(year[8].releaseDate).toBe("2027-09-14T18:00:00Z");
  });

  it("names KBs and builds by the documented rules", () => {
    expect(year[0].kb).toBe("KB5270100");
    expect(year[11].kb).toBe("KB5271200");
    expect(year[0].osBuild).toBe("20348.4100"); // 2700 + 50 * 28 months after 2024-09
    expect(year[11].osBuild).toBe("20348.4650");
  });
});

describe("releaseSchedule with unplanned baselines", () => {
  it("makes May an unplanned baseline, June a hotpatch on May, and keeps July a planned baseline", () => {
    const year = releaseSchedule({ year: 2027, unplanned: ["2027-05"] });
    expect(shape(year)).toBe("BHHBUHBHHBHH");
    const [may, june, july] = year.slice(4, 7);
    expect(may).toMatchObject({ month: "2027-05", type: "baseline", planned: false, reboot: true, baselineMonth: "2027-05" });
    expect(june).toMatchObject({ month: "2027-06", type: "hotpatch", planned: true, reboot: false, baselineMonth: "2027-05" });
    expect(july).toMatchObject({ month: "2027-07", type: "baseline", planned: true, reboot: true, baselineMonth: "2027-07" });
  });

  it("keeps the KB and build of a month whatever its type", () => {
    const may = releaseSchedule({ year: 2027, unplanned: ["2027-05"] })[4];
    expect(may.kb).toBe("KB5270500");
    expect(may.osBuild).toBe("20348.4300");
  });

  it("handles several unplanned baselines, including the last month of a quarter", () => {
    const year = releaseSchedule({ year: 2027, unplanned: ["2027-11", "2027-02", "2027-09"] });
    expect(shape(year)).toBe("BUHBHHBHUBUH");
    expect(year.map((r) => r.baselineMonth)).toEqual([
      "2027-01", "2027-02", "2027-02", "2027-04", "2027-04", "2027-04",
      "2027-07", "2027-07", "2027-09", "2027-10", "2027-11", "2027-11",
    ]);
  });
});

describe("KB and build numbers", () => {
  it("follows KB5 + YY + MM + 00", () => {
    expect(kbFor("2022-01")).toBe("KB5220100");
    expect(kbFor("2030-06")).toBe("KB5300600");
    expect(kbFor("2099-12")).toBe("KB5991200");
  });

  it("gives every month of every supported year a distinct KB", () => {
    const all = releasesBetween("2022-01", "2099-12");
    expect(all).toHaveLength(78 * 12);
    expect(new Set(all.map((r) => r.kb)).size).toBe(78 * 12);
  });

  it("numbers builds 20348.2700 in 2024-09 and 50 more each month", () => {
    expect(osBuildFor("2024-09")).toBe("20348.2700");
    expect(osBuildFor("2024-10")).toBe("20348.2750");
    expect(osBuildFor("2025-09")).toBe("20348.3300");
    expect(osBuildFor("2022-01")).toBe("20348.1100");
    expect(osBuildFor("2099-12")).toBe("20348.47850");
  });

  it("makes builds strictly increase month after month", () => {
    const minors = releasesBetween("2022-01", "2099-12").map((r) => Number(r.osBuild.split(".")[1]));
    for (let i = 1; i < minors.length; i++) expect(minors[i]).toBeGreaterThan(minors[i - 1]);
  });
});

describe("releasesBetween", () => {
  it("runs across a year end with a planned January baseline", () => {
    const span = releasesBetween("2027-11", "2028-02");
    expect(span.map((r) => [r.month, r.type, r.baselineMonth])).toEqual([
      ["2027-11", "hotpatch", "2027-10"],
      ["2027-12", "hotpatch", "2027-10"],
      ["2028-01", "baseline", "2028-01"],
      ["2028-02", "hotpatch", "2028-01"],
    ]);
    expect(span[2].releaseDate).toBe("2028-01-11T18:00:00Z"); // 2028-01-01 is a Saturday
  });

  it("lets an unplanned baseline before the range decide the first hotpatch's baseline", () => {
    const span = releasesBetween("2027-06", "2027-07", ["2027-05"]);
    expect(span.map((r) => [r.month, r.type, r.baselineMonth])).toEqual([
      ["2027-06", "hotpatch", "2027-05"],
      ["2027-07", "baseline", "2027-07"],
    ]);
  });

  it("returns a single month when from equals to", () => {
    expect(releasesBetween("2027-03", "2027-03")).toHaveLength(1);
    expect(releaseFor("2027-12", ["2027-11"])).toMatchObject({ type: "hotpatch", baselineMonth: "2027-11" });
  });
});

describe("latestReleaseAt", () => {
  it("switches to the new month's release exactly at 18:00 UTC on Patch Tuesday", () => {
    expect(latestReleaseAt(new Date("2027-01-12T17:59:59.999Z"))?.month).toBe("2026-12");
    expect(latestReleaseAt(new Date("2027-01-12T18:00:00Z"))?.month).toBe("2027-01");
    expect(latestReleaseAt(new Date("2027-02-01T00:00:00Z"))?.month).toBe("2027-01");
  });

  it("honours unplanned baselines", () => {
    expect(latestReleaseAt(new Date("2027-05-20T00:00:00Z"), ["2027-05"])).toMatchObject({
      month: "2027-05",
      type: "baseline",
      planned: false,
    });
  });

  it("has nothing before the first release of 2022 (2022-01-11)", () => {
    expect(latestReleaseAt(new Date("2021-06-01T00:00:00Z"))).toBeUndefined();
    expect(latestReleaseAt(new Date("2022-01-11T17:00:00Z"))).toBeUndefined();
    expect(latestReleaseAt(new Date("2022-01-11T18:00:00Z"))?.month).toBe("2022-01");
  });
});
