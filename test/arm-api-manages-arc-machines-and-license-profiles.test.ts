/**
 * The ARM API's Microsoft.HybridCompute machines and their license profile
 * (engine/serve/routes/arc-machines.ts), driven by @azure/arm-resources'
 * generic client (no HybridCompute SDK here knows license profiles): create,
 * get, list, delete; enrolment through licenseProfiles/default answering
 * Enabling, then Enabled once the emulated clock has moved ten minutes;
 * every refusal as an ARM error body.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type SdkServer, sdkCredential, sdkRefusal, sdkServer } from "./serve-helpers.ts";

const SUB = "22222222-3333-4444-5555-666666666666";
const RG = "rg-arc";
const API = "2025-01-13";
const POLL = { updateIntervalInMs: 10 };
const MACHINES = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.HybridCompute/machines`;

let sdk: SdkServer;
let resources: ResourceManagementClient;

const machine = (tags: Record<string, string>, patchSettings: Record<string, unknown> = {}) => ({
  location: "westeurope",
  tags: { "hotpatch-processes": "1", ...tags },
  properties: { osProfile: { windowsConfiguration: { patchSettings: { assessmentMode: "AutomaticByPlatform", ...patchSettings } } } },
});
const license = (subscriptionStatus: string) => ({
  location: "westeurope",
  properties: { productProfile: { productType: "WindowsServer", subscriptionStatus, productFeatures: [{ name: "Hotpatch", subscriptionStatus }] } },
});
const server = () => ({ url: sdk.server.url, ca: sdk.ca });
const advance = (duration: string) => call(server(), "POST", "/hotpatch/clock/advance", { body: { duration } });
// biome-ignore lint/suspicious/noExplicitAny: ARM answers read field by field, as the SDK returns them untyped
type Props = Record<string, any>;

beforeAll(async () => {
  sdk = await sdkServer(SUB, RG, "2026-01-20T12:00:00Z");
  resources = new ResourceManagementClient(sdkCredential, SUB, { endpoint: sdk.server.url, $host: sdk.server.url, tlsOptions: { ca: sdk.ca } });
});

afterAll(async () => {
  await sdk?.close();
});

describe("Microsoft.HybridCompute machines through the generic resources client", () => {
  it("creates an Arc machine and answers its HybridCompute shape", async () => {
    const created = await resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/arc01`, API, machine({ "hotpatch-vbs": "running" }, { patchMode: "AutomaticByOS" }), POLL);
    expect(created).toMatchObject({ id: `${MACHINES}/arc01`, name: "arc01", type: "Microsoft.HybridCompute/machines", location: "westeurope" });
    const p = created.properties as Props;
    expect(p).toMatchObject({ provisioningState: "Succeeded", status: "Connected", osName: "windows", osType: "windows", osVersion: "10.0.26100.3494", osSku: "Windows Server 2025 Datacenter" });
    expect(p.osProfile.windowsConfiguration.patchSettings).toMatchObject({ assessmentMode: "AutomaticByPlatform", patchMode: "AutomaticByOS", enableHotpatching: false, status: { hotpatchEnablementStatus: "Unknown" } });
    expect(p.licenseProfile.productProfile).toEqual({ subscriptionStatus: "Disabled", productType: "WindowsServer", productFeatures: [] });
  });

  it("lists Arc machines in the group and the subscription, and not among Compute VMs", async () => {
    const group = await call(server(), "GET", `${MACHINES}?api-version=${API}`);
    expect(group.json().value.map((m: Props) => m.name)).toEqual(["arc01"]);
    const subscription = await call(server(), "GET", `/subscriptions/${SUB}/providers/Microsoft.HybridCompute/machines?api-version=${API}`);
    expect(subscription.json().value.map((m: Props) => m.name)).toEqual(["arc01"]);
    expect((await sdk.compute.virtualMachines.list(RG).byPage().next()).value).toEqual([]);
    const asVm = await sdkRefusal(sdk.compute.virtualMachines.get(RG, "arc01"));
    expect(asVm.statusCode).toBe(404);
  });

  it("answers no license profile before one is created (404)", async () => {
    const error = await sdkRefusal(resources.resources.getById(`${MACHINES}/arc01/licenseProfiles/default`, API));
    expect(error).toMatchObject({ statusCode: 404, code: "ResourceNotFound" });
  });

  it("refuses enableHotpatching on a machine that is not enrolled, naming the reason", async () => {
    const error = await sdkRefusal(resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/arc01`, API, machine({ "hotpatch-vbs": "running" }, { enableHotpatching: true }), POLL));
    expect(error).toMatchObject({ statusCode: 400, code: "InvalidParameter" });
    expect(error.message).toContain("the machine is not enrolled in hotpatch; enrol through its license profile");
  });

  it("enrols through the license profile: Enabling until ten emulated minutes have passed, then Enabled", async () => {
    const id = `${MACHINES}/arc01/licenseProfiles/default`;
    const put = await resources.resources.beginCreateOrUpdateByIdAndWait(id, API, license("Enabled"), POLL);
    expect(put).toMatchObject({ id, name: "default", type: "Microsoft.HybridCompute/machines/licenseProfiles" });
    expect((put.properties as Props).productProfile).toEqual({
      subscriptionStatus: "Enabling",
      productType: "WindowsServer",
      enrollmentDate: "2026-01-20T12:00:00Z",
      productFeatures: [{ name: "Hotpatch", subscriptionStatus: "Enabling", enrollmentDate: "2026-01-20T12:00:00Z" }],
    });
    const pending = await resources.resources.getById(`${MACHINES}/arc01`, API);
    expect((pending.properties as Props).osProfile.windowsConfiguration.patchSettings.status.hotpatchEnablementStatus).toBe("PendingEvaluation");
    await advance("PT9M");
    expect(((await resources.resources.getById(id, API)).properties as Props).productProfile.subscriptionStatus).toBe("Enabling");
    await advance("PT1M");
    const enabled = ((await resources.resources.getById(id, API)).properties as Props).productProfile;
    expect(enabled).toMatchObject({ subscriptionStatus: "Enabled", billingStartDate: "2026-01-20T12:10:00Z", productFeatures: [{ name: "Hotpatch", subscriptionStatus: "Enabled" }] });
    const p = (await resources.resources.getById(`${MACHINES}/arc01`, API)).properties as Props;
    expect(p.osProfile.windowsConfiguration.patchSettings).toMatchObject({ enableHotpatching: true, status: { hotpatchEnablementStatus: "Enabled" } });
  });

  it("turns ActionRequired when the machine's VBS stops, with the reason in the status error", async () => {
    const updated = await resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/arc01`, API, machine({ "hotpatch-vbs": "off" }), POLL);
    const status = (updated.properties as Props).osProfile.windowsConfiguration.patchSettings.status;
    expect(status.hotpatchEnablementStatus).toBe("ActionRequired");
    expect(status.error.details).toEqual([{ code: "HotpatchPrerequisite", message: "virtualization-based security (VBS) is not running; turn it on (vm set --vbs running)" }]);
    await resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/arc01`, API, machine({ "hotpatch-vbs": "running" }), POLL);
  });

  it("disenrols with PATCH 'Disable' and records the date", async () => {
    const id = `${MACHINES}/arc01/licenseProfiles/default`;
    const patched = await resources.resources.beginUpdateByIdAndWait(id, API, { properties: { productProfile: { productFeatures: [{ name: "Hotpatch", subscriptionStatus: "Disable" }] } } }, POLL);
    expect((patched.properties as Props).productProfile).toMatchObject({ subscriptionStatus: "Disabled", disenrollmentDate: "2026-01-20T12:10:00Z", productFeatures: [{ name: "Hotpatch", subscriptionStatus: "Disabled" }] });
  });

  it("refuses enrolment of an Azure Edition image, a machine without VBS, and unknown product features", async () => {
    await resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/ae01`, API, machine({ "hotpatch-image": "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition" }), POLL);
    const edition = await sdkRefusal(resources.resources.beginCreateOrUpdateByIdAndWait(`${MACHINES}/ae01/licenseProfiles/default`, API, license("Enable"), POLL));
    expect(edition).toMatchObject({ statusCode: 400, code: "InvalidParameter" });
    expect(edition.message).toContain("is an Azure Edition, which runs hotpatch in Azure");
    expect(edition.message).toContain("virtualization-based security (VBS) is not running");
    const feature = await call(server(), "PUT", `${MACHINES}/ae01/licenseProfiles/default?api-version=${API}`, { body: { location: "westeurope", properties: { productProfile: { productFeatures: [{ name: "Backup", subscriptionStatus: "Enable" }] } } } });
    expect(feature.status).toBe(400);
    expect(feature.json().error).toMatchObject({ code: "InvalidParameter", target: "properties.productProfile.productFeatures[0].name" });
    const patchMissing = await call(server(), "PATCH", `${MACHINES}/ae01/licenseProfiles/default?api-version=${API}`, { body: license("Enable") });
    expect(patchMissing.status).toBe(404);
  });

  it("refuses an unknown api-version, a bad VBS tag, and a Compute VM's name", async () => {
    const version = await call(server(), "GET", `${MACHINES}/arc01?api-version=2021-05-20`);
    expect(version.json().error.code).toBe("NoRegisteredProviderFound");
    const vbs = await call(server(), "PUT", `${MACHINES}/arc02?api-version=${API}`, { body: machine({ "hotpatch-vbs": "maybe" }) });
    expect(vbs.json().error).toMatchObject({ code: "InvalidParameter", target: "tags.hotpatch-vbs" });
    const compute = await call(server(), "PUT", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/arc01?api-version=2026-03-01`, {
      body: { location: "westeurope", properties: { storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2025-datacenter-azure-edition-core" } } } },
    });
    expect(compute.status).toBe(409);
  });

  it("assesses and installs on an Arc machine as long-running operations under Microsoft.HybridCompute", async () => {
    const lro = async (path: string, body?: unknown): Promise<Props> => {
      const started = await call(server(), "POST", `${MACHINES}/arc01/${path}?api-version=${API}`, body === undefined ? {} : { body });
      expect(started.status).toBe(202);
      const status = new URL(String(started.headers["azure-asyncoperation"]));
      expect(status.pathname).toMatch(/^\/subscriptions\/.+\/providers\/Microsoft\.HybridCompute\/locations\/westeurope\/operationStatuses\//);
      for (let i = 0; i < 200; i++) {
        const polled = (await call(server(), "GET", status.pathname + status.search)).json();
        if (polled.status !== "InProgress") {
          expect(polled.status).toBe("Succeeded");
          const location = new URL(String(started.headers.location));
          return (await call(server(), "GET", location.pathname + location.search)).json();
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`${path} did not end`);
    };
    const assessment = await lro("assessPatches");
    expect(assessment.status).toBe("Succeeded");
    const install = await lro("installPatches", { maximumDuration: "PT2H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"] } });
    expect(install).toMatchObject({ status: "Succeeded", maintenanceWindowExceeded: false });
    const asCompute = await call(server(), "POST", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/arc01/assessPatches?api-version=2026-03-01`);
    expect(asCompute.status).toBe(404);
    const wrongVersion = await call(server(), "POST", `${MACHINES}/arc01/assessPatches?api-version=2026-03-01`);
    expect(wrongVersion.json().error.code).toBe("NoRegisteredProviderFound");
  });

  it("reads machine names case-insensitively, as ARM does: ARC01 is arc01", async () => {
    const got = await call(server(), "GET", `${MACHINES}/ARC01?api-version=${API}`);
    expect(got.status).toBe(200);
    expect(got.json().name).toBe("arc01");
    const put = await call(server(), "PUT", `${MACHINES}/ARC01?api-version=${API}`, { body: machine({ "hotpatch-vbs": "running" }) });
    expect(put.status).toBe(200);
    const group = await call(server(), "GET", `${MACHINES}?api-version=${API}`);
    expect(group.json().value.map((m: Props) => m.name).filter((n: string) => n.toLowerCase() === "arc01")).toEqual(["arc01"]);
    const assess = await call(server(), "POST", `${MACHINES}/ARC01/assessPatches?api-version=${API}`);
    expect(assess.status).toBe(202);
    const asCompute = await call(server(), "POST", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/ARC01/assessPatches?api-version=2026-03-01`);
    expect(asCompute.status).toBe(404);
  });

  it("assigns a maintenance configuration to an Arc machine under Microsoft.HybridCompute, not under Compute", async () => {
    const config = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Maintenance/maintenanceConfigurations/arc-nights`;
    const window = { startDateTime: "2026-02-07 22:00", duration: "03:00", timeZone: "W. Europe Standard Time", recurEvery: "Week Saturday" };
    expect((await call(server(), "PUT", `${config}?api-version=2023-04-01`, { body: { location: "westeurope", properties: { maintenanceWindow: window } } })).status).toBe(200);
    const path = `${MACHINES}/arc01/providers/Microsoft.Maintenance/configurationAssignments/nightly?api-version=2023-04-01`;
    const assigned = await call(server(), "PUT", path, { body: { properties: { maintenanceConfigurationId: config } } });
    expect(assigned.status).toBe(200);
    expect(assigned.json().properties).toEqual({ maintenanceConfigurationId: config, resourceId: `${MACHINES}/arc01` });
    expect((await call(server(), "GET", path)).json().name).toBe("nightly");
    const asCompute = await call(server(), "GET", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/arc01/providers/Microsoft.Maintenance/configurationAssignments?api-version=2023-04-01`);
    expect(asCompute.status).toBe(404);
    const missing = await call(server(), "PUT", path, { body: { properties: { maintenanceConfigurationId: `${config}-nope` } } });
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe("ResourceNotFound");
  });

  it("deletes the machine (200, then 204) with its license profile", async () => {
    await resources.resources.beginDeleteByIdAndWait(`${MACHINES}/arc01`, API, POLL);
    const again = await call(server(), "DELETE", `${MACHINES}/arc01?api-version=${API}`);
    expect(again.status).toBe(204);
    const error = await sdkRefusal(resources.resources.getById(`${MACHINES}/arc01`, API));
    expect(error.statusCode).toBe(404);
  });
});
