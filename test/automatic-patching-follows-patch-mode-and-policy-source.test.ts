import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { advanceClock, createVm, getVm, setClock } from "../engine/manage/index.ts";
import { runCli } from "./cli-runner.ts";
import { CORE, freshSession, removeTempFolders, STANDARD, tempFolder } from "./manage-fixtures.ts";

afterAll(removeTempFolders);

const at = (iso: string) => new Date(iso);

describe("who installs automatically, and when (S7, S9)", () => {
  it("AutomaticByOS and the HCI policy sources install at 03:00 local; ThirdParty and Manual never do", async () => {
    const session = freshSession();
    const { store } = session;
    // Before February's Patch Tuesday (Tue 2027-02-09 18:00Z).
    const start = at("2027-02-09T12:00:00Z");
    store.tx(() => {
      createVm(store, { name: "byos", image: STANDARD, timeZone: "America/New_York", processes: 1 }, start, []);
      createVm(store, { name: "hci-gp", image: CORE, host: "azure-stack-hci", policySource: "GroupPolicy", timeZone: "Europe/Berlin", processes: 1 }, start, []);
      createVm(store, { name: "hci-sconfig", image: CORE, host: "azure-stack-hci", policySource: "sconfig", processes: 1 }, start, []);
      createVm(store, { name: "hci-3p", image: CORE, host: "azure-stack-hci", policySource: "ThirdParty", processes: 1 }, start, []);
      createVm(store, { name: "manual", image: STANDARD, patchMode: "AutomaticByPlatform", processes: 1 }, start, []);
      setClock(store, start);
    });
    store.tx(() => store.putVm("manual", { ...getVm(store, "manual"), patchMode: "Manual" })); // via AutomaticByPlatform, as Azure requires
    expect(getVm(store, "byos")).toMatchObject({ hotpatch: false, patchMode: "AutomaticByOS" });

    const report = await advanceClock(session, start, at("2027-02-12T00:00:00Z"));
    const runs = report.events.filter((e) => e.type === "Installation").map((e) => [e.vm, e.at, e.installation!.trigger, e.installation!.rebootStatus]);
    expect(runs).toEqual([
      // 03:00 CET = 02:00Z; a hotpatch, live.
      ["hci-gp", "2027-02-10T02:00:00Z", "PolicySource", "NotNeeded"],
      // 03:00 UTC.
      ["hci-sconfig", "2027-02-10T03:00:00Z", "PolicySource", "NotNeeded"],
      // 03:00 EST = 08:00Z; hotpatch off: the month's cumulative update, with a reboot.
      ["byos", "2027-02-10T08:00:00Z", "AutomaticByOS", "Completed"],
    ]);
    expect(getVm(store, "byos")).toMatchObject({ imageMonth: "2027-02", osMonth: "2027-02" });
    expect(getVm(store, "hci-gp")).toMatchObject({ imageMonth: "2027-01", osMonth: "2027-02" });
    for (const name of ["hci-3p", "manual"]) expect(getVm(store, name).osMonth).toBe("2027-01");
    // Assessments still run for every VM, whoever installs.
    for (const name of ["byos", "hci-gp", "hci-sconfig", "hci-3p", "manual"]) expect(getVm(store, name).lastAssessmentAt).not.toBeNull();
  });
});

describe("hotpatch schedule --svg", () => {
  it("writes an SVG with the year's twelve month boxes, the unplanned baseline marked", async () => {
    const file = join(tempFolder(), "calendar.svg");
    const result = await runCli(["schedule", "--year", "2027", "--unplanned", "2027-05", "--svg", file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^2027-05 May {2}BASELINE \[R\] UNPLANNED KB5270500/m);
    expect(existsSync(file)).toBe(true);
    const svg = readFileSync(file, "utf8");
    const boxes = [...svg.matchAll(/<rect class="month" data-month="(\d{4}-\d{2})" data-type="(\w+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(boxes).toHaveLength(12);
    expect(boxes.filter((b) => b.endsWith(":baseline"))).toEqual(["2027-01:baseline", "2027-04:baseline", "2027-05:baseline", "2027-07:baseline", "2027-10:baseline"]);
    expect(svg).toMatch(/stroke-dasharray/); // the unplanned one is dashed
  });

  it("refuses a file it cannot write with E_IO", async () => {
    const result = await runCli(["schedule", "--year", "2027", "--svg", join(tempFolder(), "missing", "folder", "c.svg"), "--json"]);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe("E_IO");
  });
});
