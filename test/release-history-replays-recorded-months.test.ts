/**
 * Microsoft's recorded releases as data: the loader refuses a bad file and
 * names the entry; the catalog's history mode replays the recorded months
 * (dates, kinds, builds, KBs) and falls back to the synthetic calendar for
 * the others, marking them; an unplanned recorded month is an unplanned
 * baseline the later hotpatches stand on; schedule --history prints it all.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { releaseFor, releasesBetween } from "../engine/manage/calendar.ts";
import { findUpdate, historyMode, setHistoryMode } from "../engine/manage/catalog.ts";
import { calendarLine, parseReleaseHistory, releaseHistory } from "../engine/manage/release-history.ts";
import { revisionOf, zeroDayMonths } from "../engine/manage/release-source.ts";
import { Store } from "../engine/manage/store.ts";
import { createVm, osBuildOf } from "../engine/manage/vm.ts";
import { runCli } from "./cli-runner.ts";
import { removeTempFolders, tempFolder } from "./manage-fixtures.ts";

afterEach(removeTempFolders);

const SOURCE = { title: "Windows Server release information", url: "https://learn.microsoft.com/en-us/windows/release-health/windows-server-release-info", recorded: "2025-01, 2025-02" };
const JAN = { month: "2025-01", releaseDate: "2025-01-14T18:00:00Z", kind: "baseline", planned: true, build: "26100.2894", kb: "KB5050009" };
const FEB = { month: "2025-02", releaseDate: "2025-02-11T18:00:00Z", kind: "hotpatch", planned: true, build: "26100.3107", kb: "KB5052105" };
const doc = (releases: unknown[], extra: Record<string, unknown> = {}) => ({ os: "2025", source: SOURCE, releases, ...extra });

describe("the release history loader", () => {
  it("reads both files, naming their Microsoft source and the months recorded", () => {
    for (const os of ["2022", "2025"] as const) {
      const history = releaseHistory(os);
      expect(history.source.url).toMatch(/^https:\/\/learn\.microsoft\.com\//);
      for (const r of history.releases) expect(history.source.recorded).toContain(r.month);
    }
    expect(releaseHistory("2025").releases.map((r) => r.kb)).toEqual(["KB5050009", "KB5052105", "KB5055523", "KB5062553", "KB5066835"]);
    expect(parseReleaseHistory(doc([JAN, FEB]), "2025", "t.json").releases).toHaveLength(2);
  });

  it.each([
    ["months not ascending", doc([FEB, JAN]), /entry 1 \(2025-01\): months must be ascending/],
    ["a date that is not Patch Tuesday", doc([{ ...JAN, releaseDate: "2025-01-15T18:00:00Z" }]), /entry 0 \(2025-01\): "releaseDate" must be the month's Patch Tuesday release instant 2025-01-14T18:00:00Z/],
    ["a hotpatch in a baseline month", doc([{ ...JAN, kind: "hotpatch" }]), /entry 0 \(2025-01\): 2025-01 is a planned baseline month/],
    ["an unplanned hotpatch", doc([JAN, { ...FEB, planned: false }]), /entry 1 \(2025-02\): a hotpatch is always planned/],
    ["a planned baseline outside the quarter months", doc([JAN, { ...FEB, kind: "baseline" }]), /entry 1 \(2025-02\): a baseline in 2025-02 .* is unplanned/],
    ["a build of the other line", doc([{ ...JAN, build: "20348.2894" }]), /entry 0 \(2025-01\): "build" must be "26100.N"/],
    ["a build going back", doc([JAN, { ...FEB, build: "26100.2000" }]), /entry 1 \(2025-02\): build 26100.2000 is not after 26100.2894/],
    ["a malformed KB", doc([{ ...JAN, kb: "5050009" }]), /entry 0 \(2025-01\): "kb" must be "KB"/],
    ["a repeated KB", doc([JAN, { ...FEB, kb: "KB5050009" }]), /entry 1 \(2025-02\): KB5050009 is listed twice/],
    ["an unknown field", doc([{ ...JAN, reboot: true }]), /entry 0 \(2025-01\): unknown field\(s\) reboot/],
    ["no source", { os: "2025", releases: [JAN] }, /"source" must be/],
    ["another generation", doc([JAN], { os: "2022" }), /"os" is "2022", expected "2025"/],
    ["no releases", doc([]), /"releases" must be a non-empty array/],
  ])("refuses %s with E_FORMAT", (_what, json, message) => {
    expect(() => parseReleaseHistory(json, "2025", "t.json")).toThrow(expect.objectContaining({ code: "E_FORMAT", message: expect.stringMatching(message) }));
  });
});

describe("history mode", () => {
  const line2025 = calendarLine("2025", [], true);
  const line2022 = calendarLine("2022", [], true);

  it("replays the recorded 2025 months and marks the others synthetic", () => {
    const year = releasesBetween("2025-01", "2025-10", line2025);
    const recorded = year.filter((r) => r.source === "recorded").map((r) => [r.month, r.releaseDate, r.type, r.osBuild, r.kb]);
    expect(recorded).toEqual([
      ["2025-01", "2025-01-14T18:00:00Z", "baseline", "26100.2894", "KB5050009"],
      ["2025-02", "2025-02-11T18:00:00Z", "hotpatch", "26100.3107", "KB5052105"],
      ["2025-04", "2025-04-08T18:00:00Z", "baseline", "26100.3775", "KB5055523"],
      ["2025-07", "2025-07-08T18:00:00Z", "baseline", "26100.4652", "KB5062553"],
      ["2025-10", "2025-10-14T18:00:00Z", "baseline", "26100.6899", "KB5066835"],
    ]);
    // A month not recorded is synthetic: its KB by the rule, its build continued from the last recorded month.
    expect(releaseFor("2025-03", line2025)).toMatchObject({ source: "synthetic", type: "hotpatch", kb: "KB5250350", osBuild: "26100.3157", baselineMonth: "2025-01" });
    expect(releaseFor("2026-01", line2025)).toMatchObject({ source: "synthetic", type: "baseline", osBuild: "26100.7049" });
    expect(revisionOf("2025-02", line2025)).toBe(3107);
  });

  it("makes 2022's unplanned 2024-08 a baseline the 2024-09 hotpatch stands on", () => {
    const [aug, sep] = releasesBetween("2024-08", "2024-09", line2022);
    expect(aug).toEqual({
      month: "2024-08",
      type: "baseline",
      planned: false,
      reboot: true,
      kb: "KB5041160",
      releaseDate: "2024-08-13T18:00:00Z",
      baselineMonth: "2024-08",
      osBuild: "20348.2655",
      source: "recorded",
      note: "Baseline, initially planned as hotpatch",
    });
    expect(sep).toMatchObject({ type: "hotpatch", baselineMonth: "2024-08", source: "synthetic", kb: "KB5240900", osBuild: "20348.2705" });
    expect(zeroDayMonths(line2022)).toEqual(["2024-08"]);
    // Without history the month is the synthetic hotpatch, as before.
    expect(releaseFor("2024-08")).toMatchObject({ type: "hotpatch", kb: "KB5240800", osBuild: "20348.2650" });
  });

  it("findUpdate resolves the recorded KBs in history mode only", () => {
    const now = new Date("2025-12-01T00:00:00Z");
    expect(findUpdate("KB5052105", now, { unplanned: [], history: true })).toMatchObject({ month: "2025-02", kind: "hotpatch", osBuild: "26100.3107", title: expect.stringContaining("Windows Server 2025 Datacenter: Azure Edition") });
    expect(findUpdate("KB5041160", now, { unplanned: [], history: true })).toMatchObject({ month: "2024-08", kind: "baseline", planned: false, title: "2024-08 Unplanned Baseline Cumulative Update for Windows Server 2022 (KB5041160)" });
    expect(findUpdate("KB5250350", now, { unplanned: [], history: true })).toMatchObject({ month: "2025-03" });
    expect(findUpdate("KB5250160", now, { unplanned: [], history: true })).toMatchObject({ line: "dotnet", month: "2025-01" });
    expect(() => findUpdate("KB5250150", now, { unplanned: [], history: true })).toThrow(expect.objectContaining({ code: "E_UNKNOWN_KB" })); // 2025-01 has its real KB
    expect(() => findUpdate("KB5052105", now, [])).toThrow(expect.objectContaining({ code: "E_UNKNOWN_KB" }));
    expect(() => findUpdate("KB5066835", new Date("2025-10-14T17:59:59Z"), { unplanned: [], history: true })).toThrow(expect.objectContaining({ code: "E_UNKNOWN_KB" }));
  });

  it("is a state setting chosen before the first VM, which then boots the recorded build", () => {
    const store = Store.open(join(tempFolder(), "state.db"));
    try {
      expect(historyMode(store)).toBe(false);
      setHistoryMode(store, true);
      const catalog = { unplanned: [], history: true };
      const vm = createVm(store, { name: "web25", image: "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition" }, new Date("2025-03-01T00:00:00Z"), catalog);
      expect(osBuildOf(vm, catalog)).toBe("26100.2894");
      expect(store.installed<{ kb: string }>("web25").map((u) => u.kb)).toEqual(["KB5050009"]);
      expect(() => setHistoryMode(store, false)).toThrow(expect.objectContaining({ code: "E_USAGE", message: expect.stringContaining("1 VM(s) (web25") }));
      expect(historyMode(store)).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe("hotpatch schedule --history and hotpatch catalog history", () => {
  it("prints the recorded 2025 months with their source, synthetic months marked", async () => {
    const { status, stdout } = await runCli(["schedule", "--os", "2025", "--history"]);
    expect(status).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("Hotpatch release calendar 2025 (Windows Server 2025)");
    expect(lines[1]).toBe(`Source: ${releaseHistory("2025").source.title} <https://learn.microsoft.com/en-us/windows/release-health/windows-server-release-info>`);
    expect(stdout).toContain("2025-02 Feb  hotpatch     planned   KB5052105  2025-02-11 18:00Z  26100.3107  on 2025-01\n");
    expect(stdout).toContain("2025-03 Mar  hotpatch     planned   KB5250350  2025-03-11 18:00Z  26100.3157  on 2025-01  (synthetic)\n");
    expect(stdout).toContain("2025-10 Oct  BASELINE [R] planned   KB5066835  2025-10-14 18:00Z  26100.6899\n");
    expect(lines.filter((l) => /^\d{4}-\d{2} /.test(l))).toHaveLength(10);
  });

  it("prints 2022's unplanned baseline and a year as JSON, and keeps the 2022 default", async () => {
    const text = await runCli(["schedule", "--year", "2024", "--history"]);
    expect(text.stdout).toContain("2024-08 Aug  BASELINE [R] UNPLANNED KB5041160  2024-08-13 18:00Z  20348.2655  (Baseline, initially planned as hotpatch)\n");
    expect(text.stdout).toContain("2024-09 Sep  hotpatch     planned   KB5240900  2024-09-10 18:00Z  20348.2705  on 2024-08  (synthetic)\n");
    const json = JSON.parse((await runCli(["schedule", "--year", "2025", "--os", "2025", "--history", "--json"])).stdout);
    expect(json).toMatchObject({ year: 2025, os: "2025", source: { url: expect.stringContaining("windows-server-release-info") } });
    expect(json.months[1]).toEqual({ month: "2025-02", type: "hotpatch", planned: true, reboot: false, kb: "KB5052105", releaseDate: "2025-02-11T18:00:00Z", osBuild: "26100.3107", source: "recorded" });
    const plain = JSON.parse((await runCli(["schedule", "--year", "2027", "--json"])).stdout);
    expect(Object.keys(plain)).toEqual(["year", "months"]);
    expect(Object.keys(plain.months[0])).toEqual(["month", "type", "planned", "reboot", "kb", "releaseDate", "osBuild"]);
  });

  it("refuses a missing year without --history and an unknown generation", async () => {
    const noYear = await runCli(["schedule", "--json"]);
    expect(noYear.status).not.toBe(0);
    expect(JSON.parse(noYear.stdout).error).toMatchObject({ code: "E_USAGE", message: expect.stringContaining("--year is required") });
    const os = await runCli(["schedule", "--year", "2025", "--os", "2019", "--json"]);
    expect(JSON.parse(os.stdout).error).toMatchObject({ code: "E_USAGE", message: expect.stringContaining('"2019" is not a Windows Server generation') });
  });

  it("turns the catalog's history mode on through the CLI, then lists the recorded KBs", async () => {
    const state = join(tempFolder(), "state.db");
    expect((await runCli(["catalog", "history", "on", "--state", state, "--now", "2025-05-01T00:00:00Z", "--json"])).stdout).toContain('"history": true');
    const listed = JSON.parse((await runCli(["catalog", "list", "--os", "2025", "--from", "2025-01", "--to", "2025-02", "--state", state, "--json"])).stdout);
    expect(listed.updates.map((u: { kb: string }) => u.kb)).toEqual(["KB5050009", "KB5250160", "KB5052105", "KB5250260"]);
    const bad = await runCli(["catalog", "history", "maybe", "--state", state, "--json"]);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: "E_USAGE" });
  });
});
