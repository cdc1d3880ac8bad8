/**
 * Microsoft.Compute availability sets, as @azure/arm-compute drives them:
 * PUT (create or update: 200 both, as ARM's spec answers; the SDK refuses a
 * 201), PATCH (update: tags, sku, counts), GET,
 * DELETE (200, 204 when there was none, 409 while VMs are in it: ARM refuses
 * that too), and the lists of a group and of a subscription. The document and
 * its rules live in ../availability-sets.ts; a VM joins a set by naming it at
 * creation (`properties.availabilitySet.id`).
 */
import type { FastifyInstance } from "fastify";
import { checkApiVersion } from "../api-version.ts";
import { ArmError, groupNotFound, notFound } from "../arm-error.ts";
import {
  type AvailabilitySetDoc,
  applyAvailabilitySetPut,
  availabilitySetResource,
  deleteAvailabilitySet,
  getAvailabilitySet,
  listAvailabilitySets,
  membersOf,
  parseAvailabilitySetPut,
  putAvailabilitySet,
  TYPE,
} from "../availability-sets.ts";
import type { ServeContext } from "../context.ts";
import { getGroup } from "../resources.ts";
import { type ArmQuery, type Json, readObject } from "./validate.ts";

interface SetParams {
  subscriptionId: string;
  resourceGroupName: string;
  availabilitySetName: string;
}

const GROUP_SETS = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/Microsoft.Compute/availabilitySets";
const SET_PATH = `${GROUP_SETS}/:availabilitySetName`;

export function registerAvailabilitySetRoutes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  const version = (query: ArmQuery) => checkApiVersion("Microsoft.Compute", "availabilitySets", query["api-version"]);
  const shown = (set: AvailabilitySetDoc) => availabilitySetResource(set, membersOf(store, set));
  const find = (p: SetParams): AvailabilitySetDoc => {
    const set = getAvailabilitySet(store, p.subscriptionId, p.resourceGroupName, p.availabilitySetName);
    if (set === undefined) throw notFound(TYPE, p.availabilitySetName, p.resourceGroupName);
    return set;
  };

  /** PUT and PATCH: the same rules; PATCH keeps the location and may leave everything out. */
  const write = (params: SetParams, body: Json) =>
    context.serial.run(() => {
      const { subscriptionId, resourceGroupName, availabilitySetName } = params;
      const group = getGroup(store, subscriptionId, resourceGroupName);
      if (group === undefined) throw groupNotFound(resourceGroupName);
      const existing = getAvailabilitySet(store, subscriptionId, resourceGroupName, availabilitySetName);
      const put = parseAvailabilitySetPut(body);
      const members = existing === undefined ? 0 : membersOf(store, existing).length;
      const set = applyAvailabilitySetPut(existing, put, { subscription: subscriptionId, group: group.name, name: availabilitySetName }, members);
      store.tx(() => putAvailabilitySet(store, set));
      return shown(set);
    });

  app.put<{ Params: SetParams; Querystring: ArmQuery }>(SET_PATH, async (request, reply) => {
    version(request.query);
    return reply.status(200).send(await write(request.params, readObject(request.body, "parameters")));
  });

  app.patch<{ Params: SetParams; Querystring: ArmQuery }>(SET_PATH, async (request) => {
    version(request.query);
    const current = find(request.params);
    const body = readObject(request.body, "parameters");
    return write(request.params, { ...body, location: current.location });
  });

  app.get<{ Params: SetParams; Querystring: ArmQuery }>(SET_PATH, async (request) => {
    version(request.query);
    return shown(find(request.params));
  });

  app.delete<{ Params: SetParams; Querystring: ArmQuery }>(SET_PATH, async (request, reply) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, availabilitySetName } = request.params;
    return context.serial.run(() => {
      const set = getAvailabilitySet(store, subscriptionId, resourceGroupName, availabilitySetName);
      if (set === undefined) return reply.status(204).send();
      const members = membersOf(store, set);
      if (members.length > 0) {
        throw new ArmError(409, "OperationNotAllowed", `The availability set '${set.name}' cannot be deleted while it has virtual machines (${members.map((m) => m.vm).slice(0, 5).join(", ")}${members.length > 5 ? ", …" : ""}).`);
      }
      store.tx(() => deleteAvailabilitySet(store, set));
      return reply.status(200).send();
    });
  });

  app.get<{ Params: Omit<SetParams, "availabilitySetName">; Querystring: ArmQuery }>(GROUP_SETS, async (request) => {
    version(request.query);
    const { subscriptionId, resourceGroupName } = request.params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    const inGroup = (s: AvailabilitySetDoc) => s.subscription.toLowerCase() === subscriptionId.toLowerCase() && s.resourceGroup.toLowerCase() === resourceGroupName.toLowerCase();
    return { value: listAvailabilitySets(store).filter(inGroup).map(shown) };
  });

  app.get<{ Params: { subscriptionId: string }; Querystring: ArmQuery }>("/subscriptions/:subscriptionId/providers/Microsoft.Compute/availabilitySets", async (request) => {
    version(request.query);
    const subscription = request.params.subscriptionId.toLowerCase();
    return { value: listAvailabilitySets(store).filter((s) => s.subscription.toLowerCase() === subscription).map(shown) };
  });
}
