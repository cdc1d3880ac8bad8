/**
 * Microsoft.Resources resource groups, as @azure/arm-resources drives them:
 * PUT (create or update: 201 / 200), GET, HEAD (checkExistence: 204 / 404),
 * DELETE (200, or 204 when there was none; deletes the group's VMs and
 * availability sets and scale sets with it, as ARM does), and the subscription's list.
 *
 * Body: `{ location (required), tags? }`; the answer
 * `{ id, name, type, location, tags, properties: { provisioningState } }`.
 */
import type { FastifyInstance } from "fastify";
import { deleteVm } from "../../manage/index.ts";
import { checkApiVersion } from "../api-version.ts";
import { deleteAvailabilitySet, listAvailabilitySets } from "../availability-sets.ts";
import { deleteScaleSet, listScaleSets } from "../scale-sets.ts";
import { groupNotFound } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { forgetVm } from "../live-vms.ts";
import { deleteGroupDoc, deleteVmArm, getGroup, inGroup, listGroups, listVmArm, putGroup, type ResourceGroupDoc } from "../resources.ts";
import { type ArmQuery, optionalTags, readObject, requiredString } from "./validate.ts";

interface GroupParams {
  subscriptionId: string;
  resourceGroupName: string;
}

const GROUP_PATH = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName";

export function registerResourceGroupRoutes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  app.put<{ Params: GroupParams; Querystring: ArmQuery }>(GROUP_PATH, async (request, reply) => {
    checkApiVersion("Microsoft.Resources", "resourceGroups", request.query["api-version"]);
    const { subscriptionId, resourceGroupName } = request.params;
    const body = readObject(request.body, "parameters");
    const location = requiredString(body, "location");
    const tags = optionalTags(body);
    return context.serial.run(() => {
      const existing = getGroup(store, subscriptionId, resourceGroupName);
      const group: ResourceGroupDoc = existing
        ? { ...existing, tags: tags ?? existing.tags }
        : { subscription: subscriptionId, name: resourceGroupName, location: location.toLowerCase(), tags: tags ?? {}, createdAt: emulatedNow(context).toISOString() };
      putGroup(store, group);
      return reply.status(existing ? 200 : 201).send(groupResource(group));
    });
  });

  app.get<{ Params: GroupParams; Querystring: ArmQuery }>(GROUP_PATH, async (request) => {
    checkApiVersion("Microsoft.Resources", "resourceGroups", request.query["api-version"]);
    const group = getGroup(store, request.params.subscriptionId, request.params.resourceGroupName);
    if (group === undefined) throw groupNotFound(request.params.resourceGroupName);
    return groupResource(group);
  });

  app.head<{ Params: GroupParams; Querystring: ArmQuery }>(GROUP_PATH, async (request, reply) => {
    checkApiVersion("Microsoft.Resources", "resourceGroups", request.query["api-version"]);
    const group = getGroup(store, request.params.subscriptionId, request.params.resourceGroupName);
    return reply.status(group === undefined ? 404 : 204).send();
  });

  app.delete<{ Params: GroupParams; Querystring: ArmQuery }>(GROUP_PATH, async (request, reply) => {
    checkApiVersion("Microsoft.Resources", "resourceGroups", request.query["api-version"]);
    const { subscriptionId, resourceGroupName } = request.params;
    return context.serial.run(() => {
      const group = getGroup(store, subscriptionId, resourceGroupName);
      if (group === undefined) return reply.status(204).send();
      store.tx(() => {
        for (const doc of listVmArm(store)) {
          if (!inGroup(doc, subscriptionId, resourceGroupName)) continue;
          forgetVm(context, doc.vm);
          deleteVm(store, doc.vm);
          deleteVmArm(store, doc.vm);
        }
        const here = (r: { subscription: string; resourceGroup: string }) => r.subscription.toLowerCase() === subscriptionId.toLowerCase() && r.resourceGroup.toLowerCase() === resourceGroupName.toLowerCase();
        for (const set of listAvailabilitySets(store)) if (here(set)) deleteAvailabilitySet(store, set);
        for (const set of listScaleSets(store)) if (here(set)) deleteScaleSet(store, set);
        deleteGroupDoc(store, subscriptionId, resourceGroupName);
      });
      return reply.status(200).send();
    });
  });

  app.get<{ Params: { subscriptionId: string }; Querystring: ArmQuery }>("/subscriptions/:subscriptionId/resourcegroups", async (request) => {
    checkApiVersion("Microsoft.Resources", "resourceGroups", request.query["api-version"]);
    return { value: listGroups(store, request.params.subscriptionId).map(groupResource) };
  });
}

export function groupResource(group: ResourceGroupDoc): Record<string, unknown> {
  return {
    id: `/subscriptions/${group.subscription}/resourceGroups/${group.name}`,
    name: group.name,
    type: "Microsoft.Resources/resourceGroups",
    location: group.location,
    tags: group.tags,
    properties: { provisioningState: "Succeeded" },
  };
}
