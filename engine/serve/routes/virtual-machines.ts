/**
 * Microsoft.Compute virtual machines, as @azure/arm-compute drives them:
 * PUT (create 201 / update 200, the answer's provisioningState Succeeded so
 * the SDK's poller ends at once), GET (`$expand=instanceView`), GET
 * …/instanceView, DELETE (200, or 204 when there was none), and the lists of
 * a group and of a subscription. The mapping lives in ../vm-resource.ts.
 *
 * An Arc-enabled server (a VM with host "arc") is not a Compute VM: these
 * routes answer 404 for it, leave it out of their lists, and a PUT of its
 * name is a 409 (arc-machines.ts serves it).
 *
 * Every change runs in `context.serial` and in one store transaction: the
 * management plane's VM and its ARM document are written together or not at all.
 */
import type { FastifyInstance } from "fastify";
import { createVm, deleteVm, setVm, type VmRecord, vmStatus } from "../../manage/index.ts";
import { checkApiVersion } from "../api-version.ts";
import { bootVm, forgetVm } from "../live-vms.ts";
import { ArmError, groupNotFound, notFound } from "../arm-error.ts";
import { placeInSet } from "../availability-sets.ts";
import { placeInScaleSet } from "../scale-sets.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { defaultVmArm, deleteVmArm, getGroup, getVmArm, inGroup, listVmArm, putVmArm, type VmArmDoc, vmIdOf } from "../resources.ts";
import { applyPut, changeOf, checkImageUnchanged, checkPatchRules, checkPlacementUnchanged, createRequestOf, instanceViewOf, latestActivities, parseVmPut, vmResource } from "../vm-resource.ts";
import type { ArmQuery, Json } from "./validate.ts";

interface VmParams {
  subscriptionId: string;
  resourceGroupName: string;
  vmName: string;
}

const TYPE = "Microsoft.Compute/virtualMachines";
const GROUP_VMS = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/Microsoft.Compute/virtualMachines";
const VM_PATH = `${GROUP_VMS}/:vmName`;

export function registerVirtualMachineRoutes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  const version = (query: ArmQuery) => checkApiVersion("Microsoft.Compute", "virtualMachines", query["api-version"]);

  /** The VM and its ARM document when it sits in this group; 404 otherwise. */
  const find = (params: VmParams): { vm: VmRecord; doc: VmArmDoc } => {
    const doc = getVmArm(store, params.vmName);
    // ARM names are case-insensitive: the VM is the one the ARM document names (its own spelling).
    const vm = store.vm<VmRecord>(doc?.vm ?? params.vmName);
    if (doc === undefined || vm === undefined || vm.host === "arc" || !inGroup(doc, params.subscriptionId, params.resourceGroupName)) {
      throw notFound(TYPE, params.vmName, params.resourceGroupName);
    }
    return { vm, doc };
  };

  const instanceView = (vm: VmRecord, doc: VmArmDoc): Json => instanceViewOf(doc, { status: vmStatus(context.session, vm.name), ...latestActivities(store, vm.name) });

  app.put<{ Params: VmParams; Querystring: ArmQuery }>(VM_PATH, async (request, reply) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, vmName } = request.params;
    const put = parseVmPut(request.body);
    return context.serial.run(() => {
      const group = getGroup(store, subscriptionId, resourceGroupName);
      if (group === undefined) throw groupNotFound(resourceGroupName);
      const existingDoc = getVmArm(store, vmName);
      if (existingDoc !== undefined && !inGroup(existingDoc, subscriptionId, resourceGroupName)) {
        throw new ArmError(
          409,
          "Conflict",
          `The virtual machine '${vmName}' already exists in resource group '${existingDoc.resourceGroup}' (subscription '${existingDoc.subscription}'); VM names are unique in the emulator's state.`,
          "name",
        );
      }
      const existing = store.vm<VmRecord>(existingDoc?.vm ?? vmName);
      if (existing?.host === "arc") throw new ArmError(409, "Conflict", `The name '${vmName}' is taken by an Arc-enabled server (Microsoft.HybridCompute/machines); VM names are unique in the emulator's state.`, "name");
      if (existing === undefined) {
        checkPatchRules(put);
        const createRequest = createRequestOf(vmName, put);
        const domains = placeInSet(store, put.availabilitySet, put.location);
        const scaleSet = placeInScaleSet(store, put.virtualMachineScaleSet, put.location, put.zones, put.platformFaultDomain);
        const { vm, doc } = store.tx(() => {
          const vm = createVm(store, createRequest, emulatedNow(context), context.session.catalog);
          const base: VmArmDoc = {
            ...defaultVmArm(vm, { subscription: subscriptionId, resourceGroup: group.name, location: put.location.toLowerCase() }),
            vmId: vmIdOf(subscriptionId, vm.name),
          };
          const doc = { ...applyPut(base, put), ...domains, ...scaleSet };
          putVmArm(store, doc);
          return { vm, doc };
        });
        void bootVm(context, vm.name); // queued behind this change: the new VM's processes start serving (live-vms.ts)
        return reply.status(201).send(vmResource(vm, doc, undefined, context.session.catalog));
      }
      const current = {
        vm: existing,
        doc: existingDoc ?? defaultVmArm(existing, { subscription: subscriptionId, resourceGroup: group.name, location: put.location.toLowerCase() }),
      };
      checkPatchRules(put, current);
      checkImageUnchanged(put, existing);
      checkPlacementUnchanged(put, current.doc);
      const { vm, doc } = store.tx(() => {
        const vm = setVm(store, existing.name, changeOf(put, existing));
        const doc = applyPut(current.doc, put);
        putVmArm(store, doc);
        return { vm, doc };
      });
      return reply.status(200).send(vmResource(vm, doc, undefined, context.session.catalog));
    });
  });

  app.get<{ Params: VmParams; Querystring: ArmQuery }>(VM_PATH, async (request) => {
    version(request.query);
    const { vm, doc } = find(request.params);
    const expand = (request.query.$expand ?? "").toLowerCase() === "instanceview";
    return vmResource(vm, doc, expand ? instanceView(vm, doc) : undefined, context.session.catalog);
  });

  app.get<{ Params: VmParams; Querystring: ArmQuery }>(`${VM_PATH}/instanceView`, async (request) => {
    version(request.query);
    const { vm, doc } = find(request.params);
    return instanceView(vm, doc);
  });

  app.delete<{ Params: VmParams; Querystring: ArmQuery }>(VM_PATH, async (request, reply) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, vmName } = request.params;
    return context.serial.run(() => {
      const doc = getVmArm(store, vmName);
      if (doc === undefined || store.vm<VmRecord>(doc.vm)?.host === "arc" || !inGroup(doc, subscriptionId, resourceGroupName)) return reply.status(204).send();
      store.tx(() => {
        forgetVm(context, doc.vm);
        if (store.vm(doc.vm) !== undefined) deleteVm(store, doc.vm);
        deleteVmArm(store, doc.vm);
      });
      return reply.status(200).send();
    });
  });

  const listed = (docs: VmArmDoc[]): { value: Json[] } => ({
    value: docs.flatMap((doc) => {
      const vm = store.vm<VmRecord>(doc.vm);
      return vm === undefined || vm.host === "arc" ? [] : [vmResource(vm, doc, undefined, context.session.catalog)];
    }),
  });

  app.get<{ Params: Omit<VmParams, "vmName">; Querystring: ArmQuery }>(GROUP_VMS, async (request) => {
    version(request.query);
    const { subscriptionId, resourceGroupName } = request.params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    return listed(listVmArm(store).filter((doc) => inGroup(doc, subscriptionId, resourceGroupName)));
  });

  app.get<{ Params: { subscriptionId: string }; Querystring: ArmQuery }>("/subscriptions/:subscriptionId/providers/Microsoft.Compute/virtualMachines", async (request) => {
    version(request.query);
    const subscription = request.params.subscriptionId.toLowerCase();
    return listed(listVmArm(store).filter((doc) => doc.subscription.toLowerCase() === subscription));
  });
}
