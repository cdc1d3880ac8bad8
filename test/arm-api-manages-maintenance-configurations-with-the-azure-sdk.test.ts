/**
 * Microsoft.Maintenance through `hotpatch serve`, driven by the real Azure SDK:
 * @azure/arm-resources' generic by-id operations (the registry here has no
 * @azure/arm-maintenance), with the 2023-04-01 shapes. A configuration, a VM
 * assignment and a dynamic scope patch two VMs in their window; the runs, the
 * cancellation cut-off, the webhooks and the event stream are checked.
 */
import type { VirtualMachine } from "@azure/arm-compute";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call as callServer, type SdkServer, sdkRefusal, sdkServer } from "./serve-helpers.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const RG = "patching";
const API = "2023-04-01";
const CONFIG_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Maintenance/maintenanceConfigurations/sat-night`;
const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;

let env: SdkServer;
let hook: Server;
let hookUrl = "";
const received: { eventType: string; subject: string; data: Record<string, unknown> }[] = [];

function vm(name: string, bypass: boolean, tags: Record<string, string> = {}): VirtualMachine {
  return {
    location: "eastus",
    tags,
    hardwareProfile: { vmSize: "Standard_D2s_v5" },
    storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" } },
    osProfile: {
      computerName: name,
      adminUsername: "azureuser",
      adminPassword: "Pa55w0rd!Pa55w0rd",
      windowsConfiguration: {
        provisionVMAgent: true,
        patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true, automaticByPlatformSettings: { bypassPlatformSafetyChecksOnUserSchedule: bypass } },
      },
    },
  };
}

const configuration = (duration = "03:00") => ({
  location: "eastus",
  properties: {
    maintenanceScope: "InGuestPatch",
    extensionProperties: { InGuestPatchMode: "User" },
    visibility: "Custom",
    maintenanceWindow: { startDateTime: "2027-02-06 22:00", duration, timeZone: "Pacific Standard Time", recurEvery: "Week Saturday" },
    installPatches: { rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"] } },
  },
});

const call = (method: string, path: string, body?: unknown) => callServer({ url: env.server.url, ca: env.ca }, method, path, body === undefined ? {} : { body });

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += String(d);
    });
    req.on("end", () => {
      received.push(...(JSON.parse(body) as typeof received));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`;
  // Monday 2027-02-01: the first window opens Saturday 22:00 PST = 2027-02-07T06:00Z.
  env = await sdkServer(SUB, RG, "2027-02-01T00:00:00Z");
  await env.compute.virtualMachines.beginCreateOrUpdateAndWait(RG, "sched01", vm("sched01", true));
  await env.compute.virtualMachines.beginCreateOrUpdateAndWait(RG, "tagged01", vm("tagged01", true, { ring: "canary" }));
  await env.compute.virtualMachines.beginCreateOrUpdateAndWait(RG, "auto01", vm("auto01", false, { ring: "canary" }));
}, 60_000);

afterAll(async () => {
  await env?.close();
  await new Promise((resolve) => hook?.close(resolve));
});

describe("Microsoft.Maintenance through the Azure SDK", () => {
  it("creates a configuration and reads it back in ARM's shape", async () => {
    const created = await env.resources.resources.beginCreateOrUpdateByIdAndWait(CONFIG_ID, API, configuration());
    expect(created).toMatchObject({ id: CONFIG_ID, name: "sat-night", type: "Microsoft.Maintenance/maintenanceConfigurations", location: "eastus" });
    const got = await env.resources.resources.getById(CONFIG_ID, API);
    expect(got.properties).toMatchObject({
      maintenanceScope: "InGuestPatch",
      extensionProperties: { InGuestPatchMode: "User" },
      maintenanceWindow: { startDateTime: "2027-02-06 22:00", duration: "03:00", timeZone: "Pacific Standard Time", recurEvery: "Week Saturday" },
      installPatches: { rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: false } },
    });
    const list = await call("GET", `/subscriptions/${SUB}/providers/Microsoft.Maintenance/maintenanceConfigurations?api-version=${API}`);
    expect(list.json().value.map((c: { name: string }) => c.name)).toEqual(["sat-night"]);
  });

  it("refuses a window over 03:55, an unknown time zone and a missing api-version, changing nothing", async () => {
    const long = await sdkRefusal(env.resources.resources.beginCreateOrUpdateByIdAndWait(CONFIG_ID.replace("sat-night", "too-long"), API, configuration("04:00")));
    expect(long.statusCode).toBe(400);
    expect(long.code).toBe("InvalidParameter");
    expect(long.message).toMatch(/maintenanceWindow\.duration/);
    const zone = configuration();
    zone.properties.maintenanceWindow.timeZone = "Mars Standard Time";
    const badZone = await sdkRefusal(env.resources.resources.beginCreateOrUpdateByIdAndWait(CONFIG_ID.replace("sat-night", "mars"), API, zone));
    expect(badZone.message).toMatch(/Mars Standard Time/);
    const noVersion = await call("GET", `${CONFIG_ID}`);
    expect(noVersion.status).toBe(400);
    expect(noVersion.json().error.code).toBe("MissingApiVersionParameter");
    const list = await call("GET", `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Maintenance/maintenanceConfigurations?api-version=${API}`);
    expect(list.json().value).toHaveLength(1);
  });

  it("assigns the configuration to a VM and to a tag-filtered dynamic scope", async () => {
    const assignment = await env.resources.resources.beginCreateOrUpdateByIdAndWait(`${vmId("sched01")}/providers/Microsoft.Maintenance/configurationAssignments/weekly`, API, {
      location: "eastus",
      properties: { maintenanceConfigurationId: CONFIG_ID, resourceId: vmId("sched01") },
    });
    expect(assignment.properties).toMatchObject({ maintenanceConfigurationId: CONFIG_ID, resourceId: vmId("sched01") });
    const scopeId = `/subscriptions/${SUB}/providers/Microsoft.Maintenance/configurationAssignments/canaries`;
    const scope = await env.resources.resources.beginCreateOrUpdateByIdAndWait(scopeId, API, {
      properties: { maintenanceConfigurationId: CONFIG_ID, filter: { resourceTypes: ["Microsoft.Compute/virtualMachines"], tagSettings: { tags: { ring: ["canary"] }, filterOperator: "Any" } } },
    });
    expect(scope.properties).toMatchObject({ filter: { tagSettings: { tags: { ring: ["canary"] }, filterOperator: "Any" } } });
    const noFilter = await call("PUT", `${scopeId.replace("canaries", "everything")}?api-version=${API}`, { properties: { maintenanceConfigurationId: CONFIG_ID } });
    expect(noFilter.status).toBe(400);
    expect(noFilter.json().error.target).toBe("properties.filter");
    const webhook = await call("PUT", "/hotpatch/maintenanceWebhooks/ops", { url: hookUrl, maintenanceConfigurationId: CONFIG_ID });
    expect(webhook.status).toBe(200);
  });

  it("runs the window: scheduled VMs install, the unflagged one fails its prerequisites, events go out", async () => {
    const advance = await call("POST", "/hotpatch/clock/advance", { duration: "P7D" });
    expect(advance.status).toBe(200);
    const runs = await call("GET", `${CONFIG_ID}/providers/Microsoft.Maintenance/applyUpdates?api-version=${API}`);
    const first = runs.json().value.find((r: { name: string }) => r.name === "20270207060000");
    expect(first.properties.status).toBe("Completed");
    const machines = first.properties.run.machines as { vm: string; via: string; outcome: string; error: string | null }[];
    expect(machines.map((m) => [m.vm, m.via, m.outcome])).toEqual([
      ["auto01", "dynamic scope canaries", "PrerequisitesNotMet"],
      ["sched01", "assignment weekly", "Succeeded"],
      ["tagged01", "dynamic scope canaries", "Succeeded"],
    ]);
    expect(machines[0].error).toMatch(/bypassPlatformSafetyChecksOnUserSchedule/);
    expect(received.map((e) => [e.eventType, e.subject])).toEqual([
      ["Microsoft.Maintenance.PreMaintenanceEvent", "20270207060000"],
      ["Microsoft.Maintenance.PostMaintenanceEvent", "20270207060000"],
    ]);
    expect(received[0].data).toMatchObject({ maintenanceConfigurationId: CONFIG_ID, startDateTime: "2027-02-07T06:00:00Z", cancellationCutOffDateTime: "2027-02-07T05:50:00Z" });
    const kinds = env.server.context.events.since(0).filter((e) => e.type === "maintenance").map((e) => e.data.kind);
    expect(kinds).toEqual(["PreMaintenanceEvent", "MaintenanceRun", "PostMaintenanceEvent"]);
  });

  it("cancels the next run before its cut-off, and refuses after it", async () => {
    // The clock is at 2027-02-08T00:00Z; the next window starts 2027-02-14T06:00Z.
    const cancelled = await env.resources.resources.beginCreateOrUpdateByIdAndWait(`${CONFIG_ID}/providers/Microsoft.Maintenance/applyUpdates/20270214060000`, API, { properties: { status: "Cancel" } });
    expect(cancelled.properties).toMatchObject({ status: "Cancelled", resourceId: CONFIG_ID });
    await call("POST", "/hotpatch/clock/advance", { duration: "P13DT5H55M" }); // 2027-02-21T05:55Z, five minutes before the third window
    const late = await call("PUT", `${CONFIG_ID}/providers/Microsoft.Maintenance/applyUpdates/20270221060000?api-version=${API}`, { properties: { status: "Cancel" } });
    expect(late.status).toBe(409);
    expect(late.json().error.message).toMatch(/cut-off was 2027-02-21T05:50:00Z/);
    const second = await env.resources.resources.getById(`${CONFIG_ID}/providers/Microsoft.Maintenance/applyUpdates/20270214060000`, API);
    expect((second.properties as { run: { machines: unknown[] } }).run.machines).toEqual([]);
  });

  it("deletes the assignment and the configuration", async () => {
    await env.resources.resources.beginDeleteByIdAndWait(`${vmId("sched01")}/providers/Microsoft.Maintenance/configurationAssignments/weekly`, API);
    const assignments = await call("GET", `${vmId("sched01")}/providers/Microsoft.Maintenance/configurationAssignments?api-version=${API}`);
    expect(assignments.json().value).toEqual([]);
    await env.resources.resources.beginDeleteByIdAndWait(CONFIG_ID, API);
    const gone = await call("GET", `${CONFIG_ID}?api-version=${API}`);
    expect(gone.status).toBe(404);
    const scopes = await call("GET", `/subscriptions/${SUB}/providers/Microsoft.Maintenance/configurationAssignments?api-version=${API}`);
    expect(scopes.json().value).toEqual([]);
  });
});
