import { describe, expect, it } from "vitest";
import { DEFAULT_OFF_PEAK_WINDOW, formatWindow, isInOffPeak, nextOffPeakWindow, parseWindow, windowsBetween } from "../engine/manage/offpeak.ts";
import { refusal } from "./refusal.ts";

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

/** The window as ISO strings and its length in hours. */
function next(after: string, tz: string, window?: string) {
  const w = nextOffPeakWindow(at(after), tz, window);
  return { start: w.start.toISOString(), end: w.end.toISOString(), hours: (w.end.getTime() - w.start.getTime()) / HOUR };
}

// 2027 transitions, worked out by hand:
// America/New_York: spring forward Sun 2027-03-14 02:00 EST -> 03:00 EDT (07:00Z);
//                   fall back     Sun 2027-11-07 02:00 EDT -> 01:00 EST (06:00Z).
// Europe/Berlin:    spring forward Sun 2027-03-28 02:00 CET -> 03:00 CEST (01:00Z);
//                   fall back     Sun 2027-10-31 03:00 CEST -> 02:00 CET (01:00Z).

describe("the default window", () => {
  it("is 22:00-06:00 local", () => {
    expect(formatWindow(DEFAULT_OFF_PEAK_WINDOW)).toBe("22:00-06:00");
  });
});

describe("America/New_York", () => {
  const NY = "America/New_York";

  it("lasts 8 hours on an ordinary winter night (22:00 EST = 03:00Z)", () => {
    expect(next("2027-01-12T12:00:00Z", NY)).toEqual({
      start: "2027-01-13T03:00:00.000Z",
      end: "2027-01-13T11:00:00.000Z",
      hours: 8,
    });
  });

  it("lasts 7 hours on the spring-forward night", () => {
    expect(next("2027-03-13T12:00:00Z", NY)).toEqual({
      start: "2027-03-14T03:00:00.000Z", // 22:00 EST
      end: "2027-03-14T10:00:00.000Z", // 06:00 EDT
      hours: 7,
    });
  });

  it("lasts 9 hours on the fall-back night", () => {
    expect(next("2027-11-06T12:00:00Z", NY)).toEqual({
      start: "2027-11-07T02:00:00.000Z", // 22:00 EDT
      end: "2027-11-07T11:00:00.000Z", // 06:00 EST
      hours: 9,
    });
  });

  it("moves a start in the skipped hour to 03:00 EDT, the first valid instant", () => {
    expect(next("2027-03-13T12:00:00Z", NY, "02:30-05:00")).toEqual({
      start: "2027-03-14T07:00:00.000Z",
      end: "2027-03-14T09:00:00.000Z",
      hours: 2,
    });
  });

  it("moves an end in the skipped hour to 03:00 EDT too", () => {
    expect(next("2027-03-13T12:00:00Z", NY, "01:00-02:30")).toEqual({
      start: "2027-03-14T06:00:00.000Z", // 01:00 EST
      end: "2027-03-14T07:00:00.000Z",
      hours: 1,
    });
  });

  it("skips a night whose whole window falls in the skipped hour", () => {
    expect(next("2027-03-14T00:00:00Z", NY, "02:15-02:45")).toEqual({
      start: "2027-03-15T06:15:00.000Z", // 02:15 EDT the next night
      end: "2027-03-15T06:45:00.000Z",
      hours: 0.5,
    });
  });

  it("uses the first occurrence of a repeated time for a start", () => {
    expect(next("2027-11-06T12:00:00Z", NY, "01:30-03:00")).toEqual({
      start: "2027-11-07T05:30:00.000Z", // 01:30 EDT, not 01:30 EST
      end: "2027-11-07T08:00:00.000Z", // 03:00 EST
      hours: 2.5,
    });
  });

  it("uses the first occurrence of a repeated time for an end", () => {
    expect(next("2027-11-06T12:00:00Z", NY, "00:00-01:30")).toEqual({
      start: "2027-11-07T04:00:00.000Z",
      end: "2027-11-07T05:30:00.000Z",
      hours: 1.5,
    });
    // 06:00Z reads 01:00 EST, the second pass of that hour: the window is over.
    expect(isInOffPeak(at("2027-11-07T05:29:00Z"), NY, "00:00-01:30")).toBe(true);
    expect(isInOffPeak(at("2027-11-07T06:00:00Z"), NY, "00:00-01:30")).toBe(false);
  });

  it("lists the nights around the spring change with their real lengths", () => {
    const windows = windowsBetween(at("2027-03-13T00:00:00Z"), at("2027-03-16T00:00:00Z"), NY);
    expect(windows.map((w) => w.start.toISOString())).toEqual([
      "2027-03-13T03:00:00.000Z", // Friday night, already open at `from`
      "2027-03-14T03:00:00.000Z",
      "2027-03-15T02:00:00.000Z", // 22:00 EDT
    ]);
    expect(windows.map((w) => (w.end.getTime() - w.start.getTime()) / HOUR)).toEqual([8, 7, 8]);
  });
});

describe("Europe/Berlin", () => {
  const BERLIN = "Europe/Berlin";

  it("lasts 7 hours on the spring-forward night", () => {
    expect(next("2027-03-27T12:00:00Z", BERLIN)).toEqual({
      start: "2027-03-27T21:00:00.000Z", // 22:00 CET
      end: "2027-03-28T04:00:00.000Z", // 06:00 CEST
      hours: 7,
    });
  });

  it("lasts 9 hours on the fall-back night", () => {
    expect(next("2027-10-30T12:00:00Z", BERLIN)).toEqual({
      start: "2027-10-30T20:00:00.000Z", // 22:00 CEST
      end: "2027-10-31T05:00:00.000Z", // 06:00 CET
      hours: 9,
    });
  });

  it("moves 02:30 on the spring-forward day to 03:00 CEST", () => {
    expect(next("2027-03-27T12:00:00Z", BERLIN, "02:30-04:00")).toEqual({
      start: "2027-03-28T01:00:00.000Z",
      end: "2027-03-28T02:00:00.000Z",
      hours: 1,
    });
  });

  it("reads 02:30 on the fall-back day as its first occurrence, 02:30 CEST", () => {
    expect(next("2027-10-30T12:00:00Z", BERLIN, "02:30-04:00")).toEqual({
      start: "2027-10-31T00:30:00.000Z",
      end: "2027-10-31T03:00:00.000Z", // 04:00 CET
      hours: 2.5,
    });
  });
});

describe("Asia/Tokyo (UTC+9, no daylight saving)", () => {
  const TOKYO = "Asia/Tokyo";

  it("opens at 13:00Z and closes at 21:00Z", () => {
    expect(next("2027-03-14T00:00:00Z", TOKYO)).toEqual({
      start: "2027-03-14T13:00:00.000Z",
      end: "2027-03-14T21:00:00.000Z",
      hours: 8,
    });
  });

  it("returns the open window when asked from inside it", () => {
    expect(next("2027-03-14T15:00:00Z", TOKYO).start).toBe("2027-03-14T13:00:00.000Z");
    expect(next("2027-03-14T13:00:00Z", TOKYO).start).toBe("2027-03-14T13:00:00.000Z");
  });

  it("moves on to the next night exactly at a window's end", () => {
    expect(next("2027-01-01T21:00:00Z", TOKYO).start).toBe("2027-01-02T13:00:00.000Z");
  });

  it("keeps every night of March 8 hours long", () => {
    const windows = windowsBetween(at("2027-03-01T00:00:00Z"), at("2027-04-01T00:00:00Z"), TOKYO);
    expect(windows).toHaveLength(31);
    for (const w of windows) expect(w.end.getTime() - w.start.getTime()).toBe(8 * HOUR);
  });

  it("lists the windows overlapping a range, and none for an empty range", () => {
    const windows = windowsBetween(at("2027-01-01T00:00:00Z"), at("2027-01-04T00:00:00Z"), TOKYO);
    expect(windows.map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ["2027-01-01T13:00:00.000Z", "2027-01-01T21:00:00.000Z"],
      ["2027-01-02T13:00:00.000Z", "2027-01-02T21:00:00.000Z"],
      ["2027-01-03T13:00:00.000Z", "2027-01-03T21:00:00.000Z"],
    ]);
    expect(windowsBetween(at("2027-01-04T00:00:00Z"), at("2027-01-01T00:00:00Z"), TOKYO)).toEqual([]);
  });

  it("handles a daytime window that does not cross midnight", () => {
    expect(next("2027-01-01T00:00:00Z", TOKYO, "09:00-17:00")).toEqual({
      start: "2027-01-01T00:00:00.000Z",
      end: "2027-01-01T08:00:00.000Z",
      hours: 8,
    });
  });
});

describe("Asia/Kolkata (UTC+5:30)", () => {
  const KOLKATA = "Asia/Kolkata";

  it("finds the window containing 23:30 IST", () => {
    expect(next("2027-01-12T18:00:00Z", KOLKATA)).toEqual({
      start: "2027-01-12T16:30:00.000Z", // 22:00 IST
      end: "2027-01-13T00:30:00.000Z", // 06:00 IST
      hours: 8,
    });
  });

  it("includes the start and excludes the end", () => {
    expect(isInOffPeak(at("2027-01-12T16:29:59Z"), KOLKATA)).toBe(false);
    expect(isInOffPeak(at("2027-01-12T16:30:00Z"), KOLKATA)).toBe(true);
    expect(isInOffPeak(at("2027-01-13T00:29:59Z"), KOLKATA)).toBe(true);
    expect(isInOffPeak(at("2027-01-13T00:30:00Z"), KOLKATA)).toBe(false);
  });
});

describe("off-peak input checks", () => {
  it("parses HH:MM-HH:MM", () => {
    expect(parseWindow("23:15-04:45")).toEqual({ start: { hour: 23, minute: 15 }, end: { hour: 4, minute: 45 } });
  });

  it.each(["22:00", "22:00-6:00", "24:00-06:00", "22:60-06:00", "22:00-22:00", "abc", "22:00–06:00", "22.00-06.00", ""])(
    "refuses the window %j",
    (text) => {
      refusal(() => parseWindow(text), "E_USAGE");
    },
  );

  it("refuses an impossible zone, an invalid date and a bad window object", () => {
    expect(refusal(() => nextOffPeakWindow(at("2027-01-01T00:00:00Z"), "Mars/Olympus"), "E_USAGE").message).toContain(
      "Mars/Olympus",
    );
    refusal(() => nextOffPeakWindow(new Date(Number.NaN), "Asia/Tokyo"), "E_USAGE");
    refusal(() => isInOffPeak(at("2027-01-01T00:00:00Z"), "Asia/Tokyo", { start: { hour: 25, minute: 0 }, end: { hour: 6, minute: 0 } }), "E_USAGE");
    refusal(() => windowsBetween(at("2027-01-01T00:00:00Z"), new Date(Number.NaN), "Asia/Tokyo"), "E_USAGE");
  });
});
