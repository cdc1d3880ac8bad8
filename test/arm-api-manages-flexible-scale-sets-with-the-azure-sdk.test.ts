
import { ComputeManagementClient, type VirtualMachine } from "@azure/arm-compute";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer, } from "../engine/serve/server.ts";
import { call, sdkCredential, sdkRefusal, type SdkServer, sdkServer } from "./serve-helpers.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const FLEET_SUB = "00000000-0000-0000-0000-000000000000";
const RG = "rg-flex";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const POLL = { updateIntervalInMs: 10 };
const SCALE_SET_ID = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;

let served: SdkServer;
let server: RunningServer;
let ca: string;
let compute: ComputeManagementClient;

function vm(scaleSet: string | undefined, extra: Partial<VirtualMachine> = {}): VirtualMachine {
  return {
    location: "eastus",
    tags: { "hotpatch-processes": "1" },
    ...(scaleSet === undefined ? {} : { virtualMachineScaleSet: { id: SCALE_SET_ID(scaleSet) } }),
    storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" } },
    osProfile: { computerName: "app", windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true } } },
    ...extra,
  } as VirtualMachine;
}

beforeAll(async () => {
  served = await sdkServer(SUB, RG, "2026-01-05T12:00:00Z");
  ({ server, ca, compute } = served);
});

afterAll(() => served?.close());

describe("Flexible scale sets through @azure/arm-compute", () => {
  it("creates regional and zonal Flexible scale sets, lists them, and refuses Uniform and bad fault domain counts", async () => {
    const app = await compute.virtualMachineScaleSets.createOrUpdate(RG, "app", { location: "eastus", orchestrationMode: "Flexible", platformFaultDomainCount: 3 }, POLL);
    expect(app).toMatchObject({ id: SCALE_SET_ID("app"), name: "app", type: "Microsoft.Compute/virtualMachineScaleSets", orchestrationMode: "Flexible", platformFaultDomainCount: 3, provisioningState: "Succeeded" });
    const zonal = await compute.virtualMachineScaleSets.createOrUpdate(RG, "zonal", { location: "eastus", zones: ["2", "1"], orchestrationMode: "Flexible" }, POLL);
    expect([zonal.zones, zonal.platformFaultDomainCount]).toEqual([["1", "2"], 1]);
    const names: string[] = [];
    for await (const s of compute.virtualMachineScaleSets.list(RG)) names.push(s.name!);
    expect(names.sort()).toEqual(["app", "zonal"]);
    const all: string[] = [];
    for await (const s of compute.virtualMachineScaleSets.listAll()) all.push(s.name!);
    expect(all.sort()).toEqual(["app", "zonal"]);

    const uniform = await sdkRefusal(compute.virtualMachineScaleSets.createOrUpdate(RG, "uni", { location: "eastus", orchestrationMode: "Uniform" }, POLL));
    expect([uniform.statusCode, uniform.code]).toEqual([400, "InvalidParameter"]);
    expect(uniform.message).toContain("Flexible scale sets only");
    const wide = await sdkRefusal(compute.virtualMachineScaleSets.createOrUpdate(RG, "wide", { location: "eastus", platformFaultDomainCount: 4 }, POLL));
    expect(wide.message).toContain("must fall in the range 1 to 3");
    const zonalWide = await sdkRefusal(compute.virtualMachineScaleSets.createOrUpdate(RG, "zw", { location: "eastus", zones: ["1"], platformFaultDomainCount: 2 }, POLL));
    expect(zonalWide.message).toContain("fault domain count of 1");
    await compute.virtualMachineScaleSets.createOrUpdate(RG, "spread", { location: "eastus", platformFaultDomainCount: 3 }, POLL);
    const madeZonal = await sdkRefusal(compute.virtualMachineScaleSets.createOrUpdate(RG, "spread", { location: "eastus", zones: ["1"] }, POLL)); // the result is checked, not only the body
    expect(madeZonal.message).toContain("fault domain count of 1");
    await compute.virtualMachineScaleSets.delete(RG, "spread", POLL);
    expect((await sdkRefusal(compute.virtualMachineScaleSets.get(RG, "uni"))).statusCode).toBe(404);
  });

  it("gives members of a regional scale set their fault domains round-robin; a zonal one's members name one of its zones", async () => {
    for (const name of ["app-1", "app-2", "app-3", "app-4"]) await compute.virtualMachines.createOrUpdate(RG, name, vm("app"), POLL);
    const domains: (number | undefined)[] = [];
    for (const name of ["app-1", "app-2", "app-3", "app-4"]) domains.push((await compute.virtualMachines.instanceView(RG, name)).platformFaultDomain);
    expect(domains).toEqual([0, 1, 2, 0]);
    const member = await compute.virtualMachines.get(RG, "app-1");
    expect([member.virtualMachineScaleSet?.id, member.platformFaultDomain]).toEqual([SCALE_SET_ID("app"), 0]);
    // A member may ask for its fault domain (properties.platformFaultDomain), one the scale set has, and keep it.
    await compute.virtualMachines.createOrUpdate(RG, "app-9", vm("app", { platformFaultDomain: 2 }), POLL);
    expect((await compute.virtualMachines.instanceView(RG, "app-9")).platformFaultDomain).toBe(2);
    const moved = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "app-9", vm("app", { platformFaultDomain: 1 }), POLL));
    expect([moved.statusCode, moved.code]).toEqual([409, "PropertyChangeNotAllowed"]);
    const outside = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "app-10", vm("app", { platformFaultDomain: 3 }), POLL));
    expect([outside.statusCode, outside.message]).toEqual([400, expect.stringContaining("has 3 fault domain(s)")]);
    const alone = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "solo-9", vm(undefined, { platformFaultDomain: 0 }), POLL));
    expect(alone.message).toContain("is for a virtual machine in a scale set");
    await compute.virtualMachines.delete(RG, "app-9", POLL);
    expect(server.context.store.vm<{ scaleSet: string }>("app-1")?.scaleSet).toBe("Flexible");

    const unzoned = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "z-0", vm("zonal"), POLL));
    expect([unzoned.statusCode, unzoned.message]).toEqual([400, expect.stringContaining("names one of them in 'zones'")]);
    const zoned = await compute.virtualMachines.createOrUpdate(RG, "z-1", vm("zonal", { zones: ["2"] }), POLL);
    expect(zoned.zones).toEqual(["2"]);
    const both = await sdkRefusal(
      compute.virtualMachines.createOrUpdate(RG, "both-1", vm("app", { availabilitySet: { id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/availabilitySets/x` } }), POLL),
    );
    expect(both.message).toContain("cannot be in an availability set");
    const missing = await sdkRefusal(compute.virtualMachines.createOrUpdate(RG, "lost-1", vm("nowhere"), POLL));
    expect([missing.statusCode, missing.code]).toEqual([404, "NotFound"]);
    for (const name of ["z-0", "both-1", "lost-1"]) expect(server.context.store.vm(name)).toBeUndefined();
  });

  it("keeps a scale set's placement once it has VMs and refuses to delete it until they are gone", async () => {
    const fixed = await sdkRefusal(compute.virtualMachineScaleSets.createOrUpdate(RG, "app", { location: "eastus", platformFaultDomainCount: 2 }, POLL));
    expect([fixed.statusCode, fixed.code]).toEqual([409, "PropertyChangeNotAllowed"]);
    const busy = await sdkRefusal(compute.virtualMachineScaleSets.delete(RG, "zonal", POLL));
    expect([busy.statusCode, busy.code]).toEqual([409, "OperationNotAllowed"]);
    await compute.virtualMachines.delete(RG, "z-1", POLL);
    await compute.virtualMachineScaleSets.delete(RG, "zonal", POLL);
    expect((await sdkRefusal(compute.virtualMachineScaleSets.get(RG, "zonal"))).statusCode).toBe(404);
  });

  it("makes a fleet spec's scale set into the same resources, patched one fault domain at a time", async () => {
    const spec = { image: CORE, groups: [{ region: "westus", scaleSet: "batch", faultDomains: 2, count: 4 }, { region: "westus", scaleSet: "edge", zone: "3", count: 2 }] };
    expect((await call({ url: server.url, ca }, "PUT", "/hotpatch/fleet", { body: spec })).status).toBe(201);
    const fleetCompute = new ComputeManagementClient(sdkCredential, FLEET_SUB, { endpoint: server.url, tlsOptions: { ca } });
    const batch = await fleetCompute.virtualMachineScaleSets.get("fleet-westus", "batch");
    expect([batch.orchestrationMode, batch.platformFaultDomainCount]).toEqual(["Flexible", 2]);
    expect((await fleetCompute.virtualMachineScaleSets.get("fleet-westus", "edge")).zones).toEqual(["3"]);
    const view = await fleetCompute.virtualMachines.instanceView("fleet-westus", "batch-2");
    expect(view.platformFaultDomain).toBe(1);
    const edge = await fleetCompute.virtualMachines.get("fleet-westus", "edge-1");
    expect([edge.zones, edge.virtualMachineScaleSet?.id?.split("/").pop()]).toEqual([["3"], "edge"]);
    const asked = (await call({ url: server.url, ca }, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-01" } })).json();
    expect(asked.phases[0].batches.map((b: { unit: string; vms: string[] }) => `${b.unit}: ${b.vms.join(" ")}`)).toEqual([
      "zone 3: edge-1",
      "zone 3: edge-2",
      "scale set batch, fault domain 0: batch-1",
      "scale set batch, fault domain 0: batch-3",
      "scale set batch, fault domain 1: batch-2",
      "scale set batch, fault domain 1: batch-4",
    ]);
  });
});
