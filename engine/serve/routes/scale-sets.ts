/**
 * Microsoft.Compute virtual machine scale sets in Flexible orchestration, as
 * @azure/arm-compute drives them: PUT (create 201, update 200, answered with
 * provisioningState Succeeded, so the SDK's poller ends at once), GET, DELETE
 * (200, 204 when there was none, 409 while VMs are in it), and the lists of a
 * group and of a subscription. The document and its rules live in
 * ../scale-sets.ts; a VM joins by naming the scale set at creation
 * (`properties.virtualMachineScaleSet.id`).
 */
import type { FastifyInstance } from "fastify";
import { checkApiVersion } from "../api-version.ts";
import { ArmError, groupNotFound, notFound } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { getGroup } from "../resources.ts";
import {
  applyScaleSetPut,
  deleteScaleSet,
  getScaleSet,
  listScaleSets,
  parseScaleSetPut,
  putScaleSet,
  SCALE_SET_TYPE,
  type ScaleSetDoc,
  scaleSetMembers,
  scaleSetResource,
} from "../scale-sets.ts";
import type { ArmQuery } from "./validate.ts";

interface ScaleSetParams {
  subscriptionId: string;
  resourceGroupName: string;
  vmScaleSetName: string;
}

const GROUP_SCALE_SETS = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/Microsoft.Compute/virtualMachineScaleSets";
const SCALE_SET_PATH = `${GROUP_SCALE_SETS}/:vmScaleSetName`;

export function registerScaleSetRoutes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  const version = (query: ArmQuery) => checkApiVersion("Microsoft.Compute", "virtualMachineScaleSets", query["api-version"]);

  app.put<{ Params: ScaleSetParams; Querystring: ArmQuery }>(SCALE_SET_PATH, async (request, reply) => {
    version(request.query);
    const put = parseScaleSetPut(request.body);
    const { subscriptionId, resourceGroupName, vmScaleSetName } = request.params;
    return context.serial.run(() => {
      const group = getGroup(store, subscriptionId, resourceGroupName);
      if (group === undefined) throw groupNotFound(resourceGroupName);
      const existing = getScaleSet(store, subscriptionId, resourceGroupName, vmScaleSetName);
      const members = existing === undefined ? 0 : scaleSetMembers(store, existing).length;
      const at = { subscription: subscriptionId, group: group.name, name: vmScaleSetName, now: emulatedNow(context).toISOString() };
      const set = applyScaleSetPut(existing, put, at, members);
      store.tx(() => putScaleSet(store, set));
      return reply.status(existing === undefined ? 201 : 200).send(scaleSetResource(set));
    });
  });

  app.get<{ Params: ScaleSetParams; Querystring: ArmQuery }>(SCALE_SET_PATH, async (request) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, vmScaleSetName } = request.params;
    const set = getScaleSet(store, subscriptionId, resourceGroupName, vmScaleSetName);
    if (set === undefined) throw notFound(SCALE_SET_TYPE, vmScaleSetName, resourceGroupName);
    return scaleSetResource(set);
  });

  app.delete<{ Params: ScaleSetParams; Querystring: ArmQuery }>(SCALE_SET_PATH, async (request, reply) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, vmScaleSetName } = request.params;
    return context.serial.run(() => {
      const set = getScaleSet(store, subscriptionId, resourceGroupName, vmScaleSetName);
      if (set === undefined) return reply.status(204).send();
      const members = scaleSetMembers(store, set);
      if (members.length > 0) {
        throw new ArmError(409, "OperationNotAllowed", `The scale set '${set.name}' cannot be deleted while it has virtual machines (${members.map((m) => m.vm).slice(0, 5).join(", ")}${members.length > 5 ? ", …" : ""}).`);
      }
      store.tx(() => deleteScaleSet(store, set));
      return reply.status(200).send();
    });
  });

  app.get<{ Params: Omit<ScaleSetParams, "vmScaleSetName">; Querystring: ArmQuery }>(GROUP_SCALE_SETS, async (request) => {
    version(request.query);
    const { subscriptionId, resourceGroupName } = request.params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    const here = (s: ScaleSetDoc) => s.subscription.toLowerCase() === subscriptionId.toLowerCase() && s.resourceGroup.toLowerCase() === resourceGroupName.toLowerCase();
    return { value: listScaleSets(store).filter(here).map(scaleSetResource) };
  });

  app.get<{ Params: { subscriptionId: string }; Querystring: ArmQuery }>("/subscriptions/:subscriptionId/providers/Microsoft.Compute/virtualMachineScaleSets", async (request) => {
    version(request.query);
    const subscription = request.params.subscriptionId.toLowerCase();
    return { value: listScaleSets(store).filter((s) => s.subscription.toLowerCase() === subscription).map(scaleSetResource) };
  });
}
