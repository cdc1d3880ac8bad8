
import type { ComputeManagementClient, VirtualMachine } from "@azure/arm-compute";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer, } from "../engine/serve/server.ts";
import { call, sdkRefusal, type SdkServer, sdkServer } from "./serve-helpers.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const RG = "rg-sets";
const POLL = { updateIntervalInMs: 10 };
const SET_ID = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/availabilitySets/${name}`;

let served: SdkServer;
let server: RunningServer;
let ca: string;
let compute: ComputeManagementClient;

function vm(set: string | undefined, location = "eastus"): VirtualMachine {
  return {
    location,
    tags: { "hotpatch-processes": "1" },
    ...(set === undefined ? {} : { availabilitySet: { id: SET_ID(set) } }),
    storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" } },
    osProfile: {
      computerName: "web",
      adminUsername: "azureuser",
      windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true } },
    },
  } as VirtualMachine;
}

beforeAll(async () => {
  served = await sdkServer(SUB, RG, "2026-01-05T12:00:00Z");
  ({ server, ca, compute } = served);
});

afterAll(() => served?.close());

describe("availability sets through @azure/arm-compute", () => {
  it("creates a set with ARM's defaults (5 update domains, 2 fault domains, Aligned) and lists it", async () => {
    const set = await compute.availabilitySets.createOrUpdate(RG, "web", { location: "eastus", tags: { tier: "web" } });
    expect(set).toMatchObject({ id: SET_ID("web"), name: "web", type: "Microsoft.Compute/availabilitySets", location: "eastus", tags: { tier: "web" } });
    expect([set.platformUpdateDomainCount, set.platformFaultDomainCount, set.sku?.name]).toEqual([5, 2, "Aligned"]);
    expect(set.virtualMachines).toEqual([]);
    const wide = await compute.availabilitySets.createOrUpdate(RG, "db", { location: "eastus", platformUpdateDomainCount: 3, platformFaultDomainCount: 3 });
    expect([wide.platformUpdateDomainCount, wide.platformFaultDomainCount]).toEqual([3, 3]);
    const listed: string[] = [];
    for await (const s of compute.availabilitySets.list(RG)) listed.push(s.name!);
    expect(listed.sort()).toEqual(["db", "web"]);
    const bySubscription: string[] = [];
    for await (const s of compute.availabilitySets.listBySubscription()) bySubscription.push(s.name!);
    expect(bySubscription.sort()).toEqual(["db", "web"]);
  });

  it("refuses domain counts outside ARM's ranges with 400 InvalidParameter naming the field, and writes nothing", async () => {
    for (const [field, value, range] of [
      ["platformUpdateDomainCount", 21, "1 to 20"],
      ["platformUpdateDomainCount", 0, "1 to 20"],
      ["platformFaultDomainCount", 4, "1 to 3"],
    ] as const) {
      const error = await sdkRefusal(compute.availabilitySets.createOrUpdate(RG, "bad", { location: "eastus", [field]: value }));
      expect([error.statusCode, error.code]).toEqual([400, "InvalidParameter"]);
      expect(error.message).toContain(`must fall in the range ${range}`);
    }
    const get = await sdkRefusal(compute.availabilitySets.get(RG, "bad"));
    expect([get.statusCode, get.code]).toEqual([404, "ResourceNotFound"]);
  });

  it("gives VMs that join a set their update and fault domains round-robin, in the instance view and the set", async () => {
    for (const name of ["web-1", "web-2", "web-3"]) await compute.virtualMachines.createOrUpdate(RG, name, vm("web"), POLL);
    const domains = [];
    for (const name of ["web-1", "web-2", "web-3"]) {
      const view = await compute.virtualMachines.instanceView(RG, name);
      domains.push([view.platformUpdateDomain, view.platformFaultDomain]);
    }
    expect(domains).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
    ]);
    const set = await compute.availabilitySets.get(RG, "web");
    expect(set.virtualMachines?.map((v) => v.id?.split("/").pop())).toEqual(["web-1", "web-2", "web-3"]);
    const standalone = await compute.virtualMachines.createOrUpdate(RG, "solo-1", vm(undefined), POLL);
    expect(standalone.availabilitySet).toBeUndefined();
    const view = await compute.virtualMachines.instanceView(RG, "solo-1");
    expect([view.platformUpdateDomain, view.platformFaultDomain]).toEqual([undefined, undefined]);
  });

  it("fills the least-filled domain when a member left", async () => {
    await compute.virtualMachines.delete(RG, "web-2", POLL);
    await compute.virtualMachines.createOrUpdate(RG, "web-4", vm("web"), POLL);
    const view = await compute.virtualMachines.instanceView(RG, "web-4");
    expect([view.platformUpdateDomain, view.platformFaultDomain]).toEqual([1, 1]);
  });

  it("refuses a VM naming a set that does not exist (404) or sits in another location (400), creating nothing", async () => {
    const missing = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "lost-1", vm("nowhere"), POLL));
    expect([missing.statusCode, missing.code]).toEqual([404, "NotFound"]);
    expect(missing.message).toContain("availabilitySets/nowhere");
    const away = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "lost-2", vm("web", "westus"), POLL));
    expect([away.statusCode, away.code]).toEqual([400, "InvalidParameter"]);
    expect(away.message).toContain("is in location 'eastus'");
    expect(server.context.store.vm("lost-1")).toBeUndefined();
    expect(server.context.store.vm("lost-2")).toBeUndefined();
  });

  it("keeps a set's counts once it has VMs (409), lets tags change, and refuses to delete it while VMs are in it", async () => {
    const fixed = await sdkRefusal(compute.availabilitySets.createOrUpdate(RG, "web", { location: "eastus", platformUpdateDomainCount: 10 }));
    expect([fixed.statusCode, fixed.code]).toEqual([409, "PropertyChangeNotAllowed"]);
    const updated = await compute.availabilitySets.update(RG, "web", { tags: { tier: "front" } });
    expect([updated.tags, updated.platformUpdateDomainCount]).toEqual([{ tier: "front" }, 5]);
    const busy = await sdkRefusal(compute.availabilitySets.delete(RG, "web"));
    expect([busy.statusCode, busy.code]).toEqual([409, "OperationNotAllowed"]);
    expect(busy.message).toContain("web-1");
    const empty = await compute.availabilitySets.createOrUpdate(RG, "db", { location: "eastus", platformUpdateDomainCount: 7 });
    expect(empty.platformUpdateDomainCount).toBe(7); // no VMs yet: still free to change
    await compute.availabilitySets.delete(RG, "db");
    const again = await call({ url: server.url, ca }, "DELETE", `${SET_ID("db")}?api-version=2026-03-01`);
    expect(again.status).toBe(204);
  });
});
