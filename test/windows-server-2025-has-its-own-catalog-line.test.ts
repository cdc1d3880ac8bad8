/**
 * Windows Server 2025 Datacenter: Azure Edition is a second OS line: its four
 * SKUs are eligible, its builds are 26100.N and its KBs end in 50 (.NET 60),
 * while every 2022 rule stays as it was; a VM of a 2025 image boots and is
 * offered its own line, in the management plane and through the CLI.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { kbFor, latestReleaseAt, osBuildFor, releaseFor } from "../engine/manage/calendar.ts";
import { applicableUpdates, catalogLine, findUpdate, osUpdate } from "../engine/manage/catalog.ts";
import { checkHotpatchEligibility } from "../engine/manage/eligibility.ts";
import { osOfImage, parseOsGeneration } from "../engine/manage/os-generation.ts";
import { Store } from "../engine/manage/store.ts";
import { createVm, osBuildOf } from "../engine/manage/vm.ts";
import { runCli } from "./cli-runner.ts";
import { removeTempFolders, tempFolder } from "./manage-fixtures.ts";

const IMAGE_2025 = "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition-core";

afterEach(removeTempFolders);

describe("eligibility of the Windows Server 2025 images", () => {
  it.each([
    ["2025-datacenter-azure-edition", "portal"],
    ["2025-datacenter-azure-edition-smalldisk", "portal"],
    ["2025-datacenter-azure-edition-core", "image"],
    ["2025-datacenter-azure-edition-core-smalldisk", "image"],
  ])("accepts %s, on by default through the %s", (sku, defaultBy) => {
    expect(checkHotpatchEligibility(`MicrosoftWindowsServer:WindowsServer:${sku}`, { host: "azure" })).toEqual({ eligible: true, reasons: [], hotpatchDefault: true, defaultBy });
    expect(osOfImage(`MicrosoftWindowsServer:WindowsServer:${sku}`)).toBe("2025");
  });

  it.each(["2025-datacenter", "2025-datacenter-core", "2025-datacenter-azure-edition-hotpatch", "2025-datacenter-g2"])("refuses %s, listing the SKUs of both generations", (sku) => {
    const verdict = checkHotpatchEligibility(`MicrosoftWindowsServer:WindowsServer:${sku}`, { host: "azure" });
    expect(verdict.eligible).toBe(false);
    expect(verdict.reasons[0]).toContain(`the SKU ${sku} does not support hotpatch`);
    expect(verdict.reasons[0]).toContain("Windows Server 2022 2022-datacenter-azure-edition-core");
    expect(verdict.reasons[0]).toContain("Windows Server 2025 2025-datacenter-azure-edition, 2025-datacenter-azure-edition-smalldisk");
  });

  it("derives the generation from the SKU and refuses an unknown one", () => {
    expect(osOfImage("MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-hotpatch")).toBe("2022");
    expect(() => parseOsGeneration("2019")).toThrow(expect.objectContaining({ code: "E_USAGE", message: expect.stringContaining("2022 or 2025") }));
  });
});

describe("the 2025 build and KB rules", () => {
  it("anchors 26100.N at 2025-01 = 26100.2894, 50 a month", () => {
    expect(osBuildFor("2025-01", "2025")).toBe("26100.2894");
    expect(osBuildFor("2025-02", "2025")).toBe("26100.2944");
    expect(osBuildFor("2027-01", "2025")).toBe("26100.4094");
    expect(Number(osBuildFor("2099-12", "2025").split(".")[1])).toBeLessThan(65536);
  });

  it("gives KBs that end in 50 for the OS and 60 for .NET, never 2022's", () => {
    expect(kbFor("2027-01", "2025")).toBe("KB5270150");
    expect(kbFor("2027-01")).toBe("KB5270100");
    const release = releaseFor("2027-02", catalogLine(IMAGE_2025, []));
    expect(release).toMatchObject({ kb: "KB5270250", type: "hotpatch", baselineMonth: "2027-01", osBuild: "26100.4144", os: "2025" });
    expect(osUpdate(release).title).toBe("2027-02 Hotpatch Security Update for Windows Server 2025 Datacenter: Azure Edition (KB5270250)");
  });

  it("leaves every 2022 release as it was", () => {
    const release = releaseFor("2027-01");
    expect(release).toEqual({ month: "2027-01", type: "baseline", planned: true, reboot: true, kb: "KB5270100", releaseDate: "2027-01-12T18:00:00Z", baselineMonth: "2027-01", osBuild: "20348.4100" });
    expect(osUpdate(release).title).toBe("2027-01 Baseline Cumulative Update for Windows Server 2022 (KB5270100)");
  });

  it("findUpdate resolves the OS and .NET updates of both lines", () => {
    const now = new Date("2027-03-01T00:00:00Z");
    expect(findUpdate("KB5270100", now, [])).toMatchObject({ line: "os", month: "2027-01", osBuild: "20348.4100" });
    expect(findUpdate("KB5270110", now, [])).toMatchObject({ line: "dotnet", title: expect.stringContaining("for Windows Server 2022 (KB5270110)") });
    expect(findUpdate("KB5270250", now, [])).toMatchObject({ line: "os", kind: "hotpatch", osBuild: "26100.4144" });
    expect(findUpdate("kb5270160", now, [])).toMatchObject({ kb: "KB5270160", line: "dotnet", title: expect.stringContaining("Windows Server 2025 Datacenter: Azure Edition") });
    for (const kb of ["KB5270120", "KB5270350", "KB5271350"]) expect(() => findUpdate(kb, now, [])).toThrow(expect.objectContaining({ code: "E_UNKNOWN_KB" }));
  });
});

describe("a VM of a 2025 image", () => {
  it("boots the 2025 baseline and is offered the 2025 hotpatch", () => {
    const store = Store.open(join(tempFolder(), "state.db"));
    try {
      const vm = createVm(store, { name: "web25", image: IMAGE_2025 }, new Date("2027-02-01T00:00:00Z"), []);
      expect(vm).toMatchObject({ hotpatch: true, imageMonth: "2027-01", osMonth: "2027-01" });
      expect(osBuildOf(vm)).toBe("26100.4094");
      expect(store.installed<{ kb: string }>("web25").map((u) => u.kb)).toEqual(["KB5270150"]);
      const now = new Date("2027-02-10T00:00:00Z");
      const offered = applicableUpdates(vm, [{ kb: "KB5270150", line: "os", month: "2027-01", active: true }], now, catalogLine(vm.image, []));
      expect(offered.map((u) => [u.kb, u.installKind])).toEqual([["KB5270260", "non-hotpatch"], ["KB5270250", "hotpatch"]]);
      expect(latestReleaseAt(now, catalogLine(vm.image, []))?.osBuild).toBe("26100.4144");
    } finally {
      store.close();
    }
  });

  it("is created and shown by the CLI with its 26100 build", async () => {
    const state = join(tempFolder(), "state.db");
    const created = await runCli(["vm", "create", "web25", "--image", IMAGE_2025, "--state", state, "--now", "2027-02-01T00:00:00Z"]);
    expect(created.status).toBe(0);
    expect(created.stdout).toContain("web25: OS build 26100.4094, hotpatch on, AutomaticByPlatform");
    const shown = await runCli(["vm", "show", "web25", "--state", state, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ image: `${IMAGE_2025}:latest`, osBuild: "26100.4094" });
    const listed = await runCli(["catalog", "list", "--os", "2025", "--from", "2027-01", "--to", "2027-01", "--state", state, "--json"]);
    expect(JSON.parse(listed.stdout).updates.map((u: { kb: string }) => u.kb)).toEqual(["KB5270150", "KB5270160"]);
  });
});
