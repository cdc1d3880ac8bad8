/**
 * Windows Server 2025 VMs end to end: `hotpatch simulate --history` runs a
 * 2025 pair through Microsoft's recorded months (real images and hotpatches
 * whose guests report the 26100 revision), and the ARM API creates a VM from
 * a 2025 imageReference whose instance view shows the 26100 build.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.ts";
import { SHARED_ARTIFACTS } from "./manage-fixtures.ts";
import { type SdkServer, sdkServer } from "./serve-helpers.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const RG = "rg-ws2025";
let sdk: SdkServer;

beforeAll(async () => {
  sdk = await sdkServer(SUB, RG, "2027-02-01T00:00:00Z");
});

afterAll(async () => {
  await sdk?.close();
});

describe("Windows Server 2025 VMs", () => {
  it("simulate --history replays the recorded 2025 months with real hotpatches", async () => {
    const image = "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition-core";
    const run = await runCli(["simulate", "--image", image, "--from", "2025-01-20", "--months", "3", "--history", "--quiet", "--processes", "1", "--artifacts", SHARED_ARTIFACTS, "--json"]);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.period).toMatchObject({ os: "2025", history: true, releases: 3 });
    expect(report.hotpatchVm.releases.map((r: { kb: string; source: string; installedAs: string }) => [r.kb, r.source, r.installedAs])).toEqual([
      ["KB5052105", "recorded", "hotpatch"],
      ["KB5250350", "synthetic", "hotpatch"],
      ["KB5055523", "recorded", "baseline"],
    ]);
    expect(report.hotpatchVm).toMatchObject({ reboots: 1, hotpatchesApplied: 2, unhealthyRuns: 0, failedRuns: 0 });
    expect(report.hotpatchVm.vm).toMatchObject({ provisionedBuild: "26100.2894", finalBuild: "26100.3775" });
    expect(report.standardVm).toMatchObject({ reboots: 3, hotpatchesApplied: 0 });
    const text = await runCli(["simulate", "--fleet", "x.json", "--from", "2025-01", "--months", "1", "--history", "--json"]);
    expect(JSON.parse(text.stdout).error).toMatchObject({ code: "E_USAGE", message: expect.stringContaining("--history") });
  }, 120_000);

  it("the ARM API creates a VM from a 2025 imageReference and shows its 26100 build", async () => {
    const vm = await sdk.compute.virtualMachines.beginCreateOrUpdateAndWait(
      RG,
      "web25",
      {
        location: "eastus",
        tags: { "hotpatch-processes": "1" },
        hardwareProfile: { vmSize: "Standard_D2s_v5" },
        storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2025-datacenter-azure-edition", version: "latest" } },
        osProfile: { computerName: "web25", adminUsername: "azureuser", adminPassword: "S3cret-Never-Shown!", windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true } } },
      },
      { updateIntervalInMs: 10 },
    );
    expect(vm.storageProfile?.imageReference).toMatchObject({ sku: "2025-datacenter-azure-edition", exactVersion: "26100.4094" });
    expect(vm.osProfile?.windowsConfiguration?.patchSettings).toMatchObject({ enableHotpatching: true, patchMode: "AutomaticByPlatform" });
    const view = await sdk.compute.virtualMachines.instanceView(RG, "web25");
    expect(view).toMatchObject({ osName: "Windows Server 2025 Datacenter: Azure Edition", osVersion: "26100.4094" });
  }, 60_000);
});
