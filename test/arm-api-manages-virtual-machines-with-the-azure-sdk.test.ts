import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComputeManagementClient, type VirtualMachine } from "@azure/arm-compute";
import { ResourceManagementClient } from "@azure/arm-resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call as callServer, sdkCredential, sdkRefusal } from "./serve-helpers.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const RG = "rg-hotpatch";
const API = "api-version=2026-03-01";
const PASSWORD = "S3cret-Never-Shown!";
const POLL = { updateIntervalInMs: 10 };

let dir: string;
let server: RunningServer;
let ca: string;
let compute: ComputeManagementClient;
let resources: ResourceManagementClient;
const answers: string[] = [];

interface Answer {
  status: number;
  text: string;
  body: unknown;
}

/** One HTTPS request (test/serve-helpers.ts), its text kept to check that no answer carries the password. */
async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const answer = await callServer({ url: server.url, ca }, method, path, body === undefined ? {} : { body });
  answers.push(answer.body);
  return { status: answer.status, text: answer.body, body: answer.body === "" ? undefined : answer.json() };
}

const errorOf = (a: Answer) => (a.body as { error: { code: string; message: string; target?: string } }).error;

/** The ARM (wire) body of a PUT. */
function vmBody(sku: string, patchSettings: Record<string, unknown>, tags: Record<string, string> = {}) {
  return {
    location: "eastus",
    tags,
    properties: {
      hardwareProfile: { vmSize: "Standard_D2s_v5" },
      storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku, version: "latest" } },
      osProfile: {
        computerName: "web01",
        adminUsername: "azureuser",
        adminPassword: PASSWORD,
        windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true, patchSettings },
      },
    },
  };
}

/** The same as the SDK's (flattened) model. */
function sdkBody(sku: string, patchSettings: Record<string, unknown>, tags: Record<string, string> = {}): VirtualMachine {
  const { properties, ...rest } = vmBody(sku, patchSettings, tags);
  return { ...rest, ...properties } as VirtualMachine;
}

const HOTPATCH = { patchMode: "AutomaticByPlatform", enableHotpatching: true, assessmentMode: "AutomaticByPlatform", automaticByPlatformSettings: { rebootSetting: "IfRequired" } };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-vms-"));
  server = await startServer({ statePath: join(dir, "state.db"), port: 0, now: "2026-01-05T12:00:00Z", retryAfterSeconds: 0 });
  ca = readFileSync(server.certPath, "utf8");
  compute = new ComputeManagementClient(sdkCredential, SUB, { endpoint: server.url, tlsOptions: { ca } });
  resources = new ResourceManagementClient(sdkCredential, SUB, { endpoint: server.url, $host: server.url, tlsOptions: { ca } });
  await resources.resourceGroups.createOrUpdate(RG, { location: "eastus" });
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the ARM API manages virtual machines through @azure/arm-compute", () => {
  it("creates a hotpatch VM with createOrUpdate and answers its ARM shape", async () => {
    const vm = await compute.virtualMachines.createOrUpdate(RG, "web01", sdkBody("2022-datacenter-azure-edition-core", HOTPATCH, { "hotpatch-processes": "1" }), POLL);
    expect(vm.id).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web01`);
    expect(vm.name).toBe("web01");
    expect(vm.type).toBe("Microsoft.Compute/virtualMachines");
    expect(vm.location).toBe("eastus");
    expect(vm.tags).toEqual({ "hotpatch-processes": "1" });
    expect(vm.provisioningState).toBe("Succeeded");
    expect(vm.vmId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(vm.timeCreated).toEqual(new Date("2026-01-05T12:00:00Z"));
    const image = vm.storageProfile?.imageReference;
    expect(image).toMatchObject({ publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" });
    expect(image?.exactVersion).toMatch(/^20348\.\d+$/);
    expect(vm.storageProfile?.osDisk?.osType).toBe("Windows");
    expect(vm.hardwareProfile?.vmSize).toBe("Standard_D2s_v5");
    const os = vm.osProfile;
    expect(os?.computerName).toBe("web01");
    expect(os?.adminUsername).toBe("azureuser");
    expect(os?.adminPassword).toBeUndefined();
    expect(os?.windowsConfiguration?.patchSettings).toMatchObject({
      patchMode: "AutomaticByPlatform",
      enableHotpatching: true,
      assessmentMode: "AutomaticByPlatform",
      automaticByPlatformSettings: { rebootSetting: "IfRequired", bypassPlatformSafetyChecksOnUserSchedule: false },
    });
  });

  it("refuses hotpatch on an ineligible image with 400 InvalidParameter, the engine's reason kept", async () => {
    const error = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "old01", sdkBody("2019-datacenter", HOTPATCH), POLL));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("InvalidParameter");
    expect(error.message).toMatch(/cannot run hotpatch/);
    const get = await call("GET", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/old01?${API}`);
    expect(get.status).toBe(404);
  });

  it("refuses enableHotpatching with patchMode AutomaticByOS, and bypassing safety checks without AutomaticByPlatform", async () => {
    const byOs = await sdkRefusal(
      compute.virtualMachines.createOrUpdate(RG, "os01", sdkBody("2022-datacenter-azure-edition-core", { patchMode: "AutomaticByOS", enableHotpatching: true }), POLL),
    );
    expect(byOs.statusCode).toBe(400);
    expect(byOs.code).toBe("InvalidParameter");
    expect(byOs.message).toBe("EnableHotpatching cannot be set to true. For enableHotpatching, the 'provisionVMAgent' must be set to true and 'patchMode' must be set to 'AutomaticByPlatform'.");
    const bypass = await call(
      "PUT",
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/by01?${API}`,
      vmBody("2022-datacenter-azure-edition-core", { patchMode: "AutomaticByOS", enableHotpatching: false, automaticByPlatformSettings: { bypassPlatformSafetyChecksOnUserSchedule: true } }),
    );
    expect(bypass.status).toBe(400);
    expect(errorOf(bypass)).toMatchObject({
      code: "InvalidParameter",
      target: "properties.osProfile.windowsConfiguration.patchSettings.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule",
    });
    const wrongType = await call("PUT", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/by01?${API}`, {
      ...vmBody("2022-datacenter-azure-edition-core", { ...HOTPATCH, enableHotpatching: "yes" }),
    });
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType).target).toBe("properties.osProfile.windowsConfiguration.patchSettings.enableHotpatching");
  });

  it("gets the VM with its instance view, and the instance view alone", async () => {
    const vm = await compute.virtualMachines.get(RG, "web01", { expand: "instanceView" });
    const view = vm.instanceView;
    expect(view?.computerName).toBe("web01");
    expect(view?.osName).toBe("Windows Server 2022 Datacenter: Azure Edition");
    expect(view?.osVersion).toBe(vm.storageProfile?.imageReference?.exactVersion);
    expect(view?.patchStatus?.availablePatchSummary?.status).toBe("Unknown");
    expect(view?.patchStatus?.lastPatchInstallationSummary?.status).toBe("Unknown");
    expect(view?.patchStatus?.availablePatchSummary?.criticalAndSecurityPatchCount).toBeUndefined();

    await compute.virtualMachines.assessPatches(RG, "web01", POLL);
    const alone = await compute.virtualMachines.instanceView(RG, "web01");
    expect(alone.vmAgent?.vmAgentVersion).toBe("2.7.41491.1010");
    expect(alone.statuses?.map((s) => s.code)).toEqual(["ProvisioningState/succeeded", "PowerState/running"]);
    const summary = alone.patchStatus?.availablePatchSummary;
    expect(summary?.status).toBe("Succeeded");
    expect(summary?.assessmentActivityId).toBeTruthy();
    expect(typeof summary?.criticalAndSecurityPatchCount).toBe("number");
    expect(summary?.startTime).toBeInstanceOf(Date);
    expect(alone.patchStatus?.configurationStatuses?.[0]?.code).toBe("PatchModeConfigurationState/Ready");
  });

  it("creates with a PUT answering 201, updates with one answering 200, through the management plane", async () => {
    const created = await call(
      "PUT",
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web03?${API}`,
      vmBody("2022-datacenter-azure-edition-core", HOTPATCH, { "hotpatch-timezone": "Europe/Berlin" }),
    );
    expect(created.status).toBe(201);
    expect(server.context.store.vm<{ timeZone: string }>("web03")?.timeZone).toBe("Europe/Berlin");
    const removed = await call("DELETE", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web03?${API}`);
    expect(removed.status).toBe(200);
    const put = await call(
      "PUT",
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web01?${API}`,
      vmBody("2022-datacenter-azure-edition-core", { patchMode: "AutomaticByPlatform", enableHotpatching: false }, { env: "prod", "hotpatch-window": "23:00-05:00" }),
    );
    expect(put.status).toBe(200);
    const vm = await compute.virtualMachines.get(RG, "web01");
    expect(vm.osProfile?.windowsConfiguration?.patchSettings?.enableHotpatching).toBe(false);
    expect(vm.tags).toEqual({ env: "prod", "hotpatch-window": "23:00-05:00" });
    expect(server.context.store.vm<{ window: string; hotpatch: boolean }>("web01")).toMatchObject({ window: "23:00-05:00", hotpatch: false });
  });

  it("refuses a PUT in a missing group and a name another group holds", async () => {
    const missing = await call(
      "PUT",
      `/subscriptions/${SUB}/resourceGroups/nowhere/providers/Microsoft.Compute/virtualMachines/x01?${API}`,
      vmBody("2022-datacenter-azure-edition-core", HOTPATCH),
    );
    expect(missing.status).toBe(404);
    expect(errorOf(missing)).toEqual({ code: "ResourceGroupNotFound", message: "Resource group 'nowhere' could not be found." });

    await resources.resourceGroups.createOrUpdate("rg-other", { location: "eastus" });
    const taken = await call(
      "PUT",
      `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/web01?${API}`,
      vmBody("2022-datacenter-azure-edition-core", HOTPATCH),
    );
    expect(taken.status).toBe(409);
    expect(errorOf(taken).code).toBe("Conflict");
    expect(errorOf(taken).message).toContain(RG);
    const elsewhere = await call("GET", `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/web01?${API}`);
    expect(elsewhere.status).toBe(404);
    expect(errorOf(elsewhere).code).toBe("ResourceNotFound");
  });

  it("lists the group's and the subscription's VMs", async () => {
    await compute.virtualMachines.createOrUpdate(RG, "web02", sdkBody("2022-datacenter-azure-edition-hotpatch", HOTPATCH), POLL);
    const inGroup: string[] = [];
    for await (const vm of compute.virtualMachines.list(RG)) inGroup.push(vm.name ?? "");
    expect(inGroup.sort()).toEqual(["web01", "web02"]);
    const all: string[] = [];
    for await (const vm of compute.virtualMachines.listAll()) all.push(vm.name ?? "");
    expect(all.sort()).toEqual(["web01", "web02"]);
  });

  it("places a VM in an availability set, never in a set and a zone at once, and keeps its placement", async () => {
    const setId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/availabilitySets/web`;
    await compute.availabilitySets.createOrUpdate(RG, "web", { location: "eastus" });
    const inSet = await compute.virtualMachines.createOrUpdate(RG, "set01", { ...sdkBody("2022-datacenter-azure-edition-core", HOTPATCH), availabilitySet: { id: setId } }, POLL);
    expect(inSet.availabilitySet).toEqual({ id: setId });
    expect((await compute.virtualMachines.get(RG, "set01")).availabilitySet).toEqual({ id: setId });
    const both = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "set02", { ...sdkBody("2022-datacenter-azure-edition-core", HOTPATCH), zones: ["1"], availabilitySet: { id: setId } }, POLL));
    expect([both.statusCode, both.code]).toEqual([400, "InvalidParameter"]);
    expect(both.message).toMatch(/both an availability zone and an availability set/);
    const badId = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "set02", { ...sdkBody("2022-datacenter-azure-edition-core", HOTPATCH), availabilitySet: { id: "web" } }, POLL));
    expect([badId.statusCode, badId.code]).toEqual([400, "InvalidParameter"]);
    const moved = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "set01", { ...sdkBody("2022-datacenter-azure-edition-core", HOTPATCH), availabilitySet: { id: `${setId}2` } }, POLL));
    expect([moved.statusCode, moved.code, moved.message]).toEqual([409, "PropertyChangeNotAllowed", "Changing property 'availabilitySet.id' is not allowed."]);
    expect(server.context.store.vm("set02")).toBeUndefined();
    await compute.virtualMachines.delete(RG, "set01", POLL);
  });

  it("deletes a VM: gone from GET (404 ResourceNotFound), a second delete answers 204", async () => {
    await compute.virtualMachines.delete(RG, "web02", POLL);
    const error = await sdkRefusal(compute.virtualMachines.get(RG, "web02"));
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe("ResourceNotFound");
    expect(server.context.store.vm("web02")).toBeUndefined();
    const again = await call("DELETE", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web02?${API}`);
    expect(again.status).toBe(204);
  });

  it("never returns or stores the admin password", async () => {
    const get = await call("GET", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web01?${API}&$expand=instanceView`);
    const list = await call("GET", `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines?${API}`);
    expect(get.status).toBe(200);
    expect(list.status).toBe(200);
    for (const text of answers) expect(text).not.toContain(PASSWORD);
    expect(readFileSync(join(dir, "state.db")).includes(PASSWORD)).toBe(false);
  });
});
