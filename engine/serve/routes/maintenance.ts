/**
 * Microsoft.Maintenance as the Azure SDK drives it (shapes in ../maintenance.ts):
 * - maintenanceConfigurations: PUT (create or replace, 200), GET, DELETE
 *   (200; 204 when there was none), lists of a group and a subscription;
 * - configurationAssignments of a VM or an Arc-enabled server (under
 *   Microsoft.Compute/virtualMachines or Microsoft.HybridCompute/machines:
 *   PUT/GET/DELETE/list) and of a subscription (dynamic scopes:
 *   PUT/GET/DELETE/list);
 * - applyUpdates of a configuration: its runs (GET one or all; PUT
 *   `{ properties: { status: "Cancel" } }` cancels one);
 * - the emulator's own webhooks for pre/post-maintenance events
 *   (`/hotpatch/maintenanceWebhooks/{name}`: PUT { url, eventTypes?,
 *   maintenanceConfigurationId? }, GET, DELETE, list);
 * - `GET /hotpatch/maintenance`: every configuration with its window in
 *   words, the machines it would patch now, its past runs and next windows
 *   (the portal's Maintenance view).
 * Every change runs through the serial queue at the emulated time.
 */
import type { FastifyInstance } from "fastify";
import {
  assignConfiguration,
  cancelRun,
  configurationId,
  deleteConfiguration,
  deleteDynamicScope,
  deleteWebhook,
  formatWindowSummary,
  getAssignment,
  getConfiguration,
  getDynamicScope,
  listAssignments,
  listConfigurations,
  listDynamicScopes,
  listWebhooks,
  machinesOf,
  parseConfigurationId,
  parseMaintenanceWindow,
  putConfiguration,
  putDynamicScope,
  putWebhook,
  runsOf,
  unassignConfiguration,
  type VmRecord,
} from "../../manage/index.ts";
import { checkApiVersion } from "../api-version.ts";
import { ArmError, groupNotFound, invalidParameter, notFound } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { applyUpdateResource, assignmentResource, CONFIGURATION_TYPE, configurationResource, parseAssignmentPut, parseConfigurationPut, scopeResource } from "../maintenance.ts";
import { getGroup, getVmArm, inGroup } from "../resources.ts";
import { arcResourceId } from "../arc-resource.ts";
import { vmResourceId } from "../vm-resource.ts";
import { type ArmQuery, optionalString, optionalStringArray, readObject, requiredString } from "./validate.ts";

interface ConfigParams {
  subscriptionId: string;
  resourceGroupName: string;
  configName: string;
}

interface VmParams {
  subscriptionId: string;
  resourceGroupName: string;
  vmName: string;
  assignmentName: string;
}

const GROUP = "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName";
const CONFIGS = `${GROUP}/providers/Microsoft.Maintenance/maintenanceConfigurations`;
const CONFIG = `${CONFIGS}/:configName`;
const RUNS = `${CONFIG}/providers/Microsoft.Maintenance/applyUpdates`;
/** Assignments live under a machine: a Compute VM or an Arc-enabled server (a VM record with host arc), each at its own path. */
const MACHINE_KINDS = [
  { path: `${GROUP}/providers/Microsoft.Compute/virtualMachines/:vmName/providers/Microsoft.Maintenance/configurationAssignments`, type: "Microsoft.Compute/virtualMachines", arc: false, idOf: vmResourceId },
  { path: `${GROUP}/providers/Microsoft.HybridCompute/machines/:vmName/providers/Microsoft.Maintenance/configurationAssignments`, type: "Microsoft.HybridCompute/machines", arc: true, idOf: arcResourceId },
] as const;
const SCOPES = "/subscriptions/:subscriptionId/providers/Microsoft.Maintenance/configurationAssignments";

type Query = { Querystring: ArmQuery };

export function registerMaintenanceRoutes(app: FastifyInstance, context: ServeContext): void {
  registerConfigurations(app, context);
  registerRuns(app, context);
  for (const kind of MACHINE_KINDS) registerVmAssignments(app, context, kind);
  registerScopes(app, context);
  registerWebhooks(app, context);
  app.get("/hotpatch/maintenance", async () => ({
    configurations: listConfigurations(context.store).map((c) => ({
      id: configurationId(c),
      name: c.name,
      resourceGroup: c.resourceGroup,
      summary: formatWindowSummary(parseMaintenanceWindow(c.maintenanceWindow)),
      installPatches: c.installPatches,
      machines: machinesOf(context.session, c),
      runs: runsOf(context.session, c, emulatedNow(context)),
    })),
  }));
}

const version = (query: ArmQuery, type: string) => checkApiVersion("Microsoft.Maintenance", type, query["api-version"]);
const nameOf = (p: ConfigParams) => ({ subscription: p.subscriptionId, resourceGroup: p.resourceGroupName, name: p.configName });

function findConfiguration(context: ServeContext, p: ConfigParams) {
  try {
    return getConfiguration(context.store, nameOf(p));
  } catch {
    throw notFound(CONFIGURATION_TYPE, p.configName, p.resourceGroupName);
  }
}

function registerConfigurations(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  app.put<{ Params: ConfigParams } & Query>(CONFIG, async (request) => {
    version(request.query, "maintenanceConfigurations");
    const input = parseConfigurationPut(request.body);
    return context.serial.run(() => {
      const group = getGroup(store, request.params.subscriptionId, request.params.resourceGroupName);
      if (group === undefined) throw groupNotFound(request.params.resourceGroupName);
      const result = putConfiguration(context.session, { ...nameOf(request.params), resourceGroup: group.name }, input, emulatedNow(context));
      for (const run of result.cancelledRuns) context.events.publish("maintenance", emulatedNow(context), { kind: "RunCancelled", run }, undefined);
      return configurationResource(result.configuration);
    });
  });
  app.get<{ Params: ConfigParams } & Query>(CONFIG, async (request) => {
    version(request.query, "maintenanceConfigurations");
    return configurationResource(findConfiguration(context, request.params));
  });
  app.delete<{ Params: ConfigParams } & Query>(CONFIG, async (request, reply) => {
    version(request.query, "maintenanceConfigurations");
    return context.serial.run(() => {
      const c = listConfigurations(store).find((x) => same(x, nameOf(request.params)));
      if (c === undefined) return reply.status(204).send();
      deleteConfiguration(context.session, c);
      return reply.status(200).send(configurationResource(c));
    });
  });
  app.get<{ Params: Omit<ConfigParams, "configName"> } & Query>(CONFIGS, async (request) => {
    version(request.query, "maintenanceConfigurations");
    const { subscriptionId, resourceGroupName } = request.params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    return { value: listConfigurations(store).filter((c) => same(c, { subscription: subscriptionId, resourceGroup: resourceGroupName })).map(configurationResource) };
  });
  app.get<{ Params: { subscriptionId: string } } & Query>("/subscriptions/:subscriptionId/providers/Microsoft.Maintenance/maintenanceConfigurations", async (request) => {
    version(request.query, "maintenanceConfigurations");
    return { value: listConfigurations(store).filter((c) => same(c, { subscription: request.params.subscriptionId })).map(configurationResource) };
  });
}

function same(c: { subscription: string; resourceGroup: string; name: string }, want: { subscription: string; resourceGroup?: string; name?: string }): boolean {
  const eq = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
  return eq(c.subscription, want.subscription) && eq(c.resourceGroup, want.resourceGroup) && eq(c.name, want.name);
}

function registerRuns(app: FastifyInstance, context: ServeContext): void {
  app.get<{ Params: ConfigParams } & Query>(RUNS, async (request) => {
    version(request.query, "applyUpdates");
    const c = findConfiguration(context, request.params);
    const { past, upcoming } = runsOf(context.session, c, emulatedNow(context));
    return { value: [...past, ...upcoming].map(applyUpdateResource) };
  });
  app.get<{ Params: ConfigParams & { runName: string } } & Query>(`${RUNS}/:runName`, async (request) => {
    version(request.query, "applyUpdates");
    const c = findConfiguration(context, request.params);
    const { past, upcoming } = runsOf(context.session, c, emulatedNow(context));
    const run = [...past, ...upcoming].find((r) => r.name === request.params.runName);
    if (run === undefined) throw notFound("Microsoft.Maintenance/applyUpdates", request.params.runName, request.params.resourceGroupName);
    return applyUpdateResource(run);
  });
  app.put<{ Params: ConfigParams & { runName: string } } & Query>(`${RUNS}/:runName`, async (request) => {
    version(request.query, "applyUpdates");
    const properties = readObject(readObject(request.body, "parameters").properties ?? {}, "properties");
    const status = requiredString(properties, "status", "properties.status");
    if (status !== "Cancel") throw invalidParameter(`properties.status '${status}' is not supported: a run can only be cancelled ("Cancel").`, "properties.status");
    return context.serial.run(() => {
      const run = cancelRun(context.session, findConfiguration(context, request.params), request.params.runName, emulatedNow(context));
      context.events.publish("maintenance", emulatedNow(context), { kind: "RunCancelled", run });
      return applyUpdateResource(run);
    });
  });
}

function registerVmAssignments(app: FastifyInstance, context: ServeContext, kind: (typeof MACHINE_KINDS)[number]): void {
  const { store } = context;
  const VM_ASSIGNMENTS = kind.path;
  const vmResourceId = kind.idOf;
  const vmOf = (p: Omit<VmParams, "assignmentName">) => {
    const doc = getVmArm(store, p.vmName);
    const isArc = doc !== undefined && store.vm<VmRecord>(doc.vm)?.host === "arc";
    if (doc === undefined || !inGroup(doc, p.subscriptionId, p.resourceGroupName) || isArc !== kind.arc) throw notFound(kind.type, p.vmName, p.resourceGroupName);
    return doc;
  };
  const findAssignment = (p: VmParams) => {
    try {
      return getAssignment(store, vmOf(p).vm, p.assignmentName);
    } catch (error) {
      if (error instanceof ArmError) throw error;
      throw notFound("Microsoft.Maintenance/configurationAssignments", p.assignmentName, p.resourceGroupName);
    }
  };
  app.put<{ Params: VmParams } & Query>(`${VM_ASSIGNMENTS}/:assignmentName`, async (request) => {
    version(request.query, "configurationAssignments");
    const body = parseAssignmentPut(request.body);
    return context.serial.run(() => {
      const doc = vmOf(request.params);
      const vmId = vmResourceId(doc);
      if (body.resourceId !== undefined && body.resourceId.toLowerCase() !== vmId.toLowerCase()) {
        throw invalidParameter(`properties.resourceId '${body.resourceId}' is not the VM this assignment is under (${vmId}).`, "properties.resourceId");
      }
      const configuration = parseConfigurationId(body.maintenanceConfigurationId, "properties.maintenanceConfigurationId");
      const a = assignConfiguration(context.session, { vm: doc.vm, name: request.params.assignmentName, configuration }, emulatedNow(context));
      return assignmentResource(a, vmId, doc.location);
    });
  });
  app.get<{ Params: VmParams } & Query>(`${VM_ASSIGNMENTS}/:assignmentName`, async (request) => {
    version(request.query, "configurationAssignments");
    const doc = vmOf(request.params);
    return assignmentResource(findAssignment(request.params), vmResourceId(doc), doc.location);
  });
  app.delete<{ Params: VmParams } & Query>(`${VM_ASSIGNMENTS}/:assignmentName`, async (request, reply) => {
    version(request.query, "configurationAssignments");
    return context.serial.run(() => {
      const doc = vmOf(request.params);
      const a = listAssignments(store, { vm: doc.vm }).find((x) => x.name.toLowerCase() === request.params.assignmentName.toLowerCase());
      if (a === undefined) return reply.status(204).send();
      unassignConfiguration(context.session, doc.vm, a.name);
      return reply.status(200).send(assignmentResource(a, vmResourceId(doc), doc.location));
    });
  });
  app.get<{ Params: Omit<VmParams, "assignmentName"> } & Query>(VM_ASSIGNMENTS, async (request) => {
    version(request.query, "configurationAssignments");
    const doc = vmOf(request.params);
    return { value: listAssignments(store, { vm: doc.vm }).map((a) => assignmentResource(a, vmResourceId(doc), doc.location)) };
  });
}

function registerScopes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  type ScopeParams = { subscriptionId: string; scopeName: string };
  app.put<{ Params: ScopeParams } & Query>(`${SCOPES}/:scopeName`, async (request) => {
    version(request.query, "configurationAssignments");
    const body = parseAssignmentPut(request.body);
    const { subscriptionId, scopeName } = request.params;
    if (body.filter === undefined) throw invalidParameter("A configuration assignment at subscription scope is a dynamic scope and needs 'properties.filter'.", "properties.filter");
    if (body.resourceId !== undefined && body.resourceId.toLowerCase() !== `/subscriptions/${subscriptionId}`.toLowerCase()) {
      throw invalidParameter(`properties.resourceId '${body.resourceId}' is not this subscription.`, "properties.resourceId");
    }
    const configuration = parseConfigurationId(body.maintenanceConfigurationId, "properties.maintenanceConfigurationId");
    return context.serial.run(() => scopeResource(putDynamicScope(context.session, { subscription: subscriptionId, name: scopeName, configuration, filter: body.filter ?? {} }, emulatedNow(context))));
  });
  app.get<{ Params: ScopeParams } & Query>(`${SCOPES}/:scopeName`, async (request) => {
    version(request.query, "configurationAssignments");
    try {
      return scopeResource(getDynamicScope(store, request.params.subscriptionId, request.params.scopeName));
    } catch {
      throw new ArmError(404, "ResourceNotFound", `The configuration assignment '${request.params.scopeName}' was not found in subscription '${request.params.subscriptionId}'.`);
    }
  });
  app.delete<{ Params: ScopeParams } & Query>(`${SCOPES}/:scopeName`, async (request, reply) => {
    version(request.query, "configurationAssignments");
    return context.serial.run(() => {
      const { subscriptionId, scopeName } = request.params;
      const s = listDynamicScopes(store).find((x) => x.subscription.toLowerCase() === subscriptionId.toLowerCase() && x.name.toLowerCase() === scopeName.toLowerCase());
      if (s === undefined) return reply.status(204).send();
      deleteDynamicScope(context.session, s.subscription, s.name);
      return reply.status(200).send(scopeResource(s));
    });
  });
  app.get<{ Params: { subscriptionId: string } } & Query>(SCOPES, async (request) => {
    version(request.query, "configurationAssignments");
    return { value: listDynamicScopes(store).filter((s) => s.subscription.toLowerCase() === request.params.subscriptionId.toLowerCase()).map(scopeResource) };
  });
}

function registerWebhooks(app: FastifyInstance, context: ServeContext): void {
  app.put<{ Params: { name: string } }>("/hotpatch/maintenanceWebhooks/:name", async (request) => {
    const body = readObject(request.body, "body");
    const url = requiredString(body, "url");
    const eventTypes = optionalStringArray(body, "eventTypes");
    const configId = optionalString(body, "maintenanceConfigurationId");
    const configuration = configId === undefined ? null : parseConfigurationId(configId, "maintenanceConfigurationId");
    return context.serial.run(() => putWebhook(context.session, { name: request.params.name, url, eventTypes, configuration }, emulatedNow(context)));
  });
  app.get("/hotpatch/maintenanceWebhooks", async () => ({ value: listWebhooks(context.store) }));
  app.get<{ Params: { name: string } }>("/hotpatch/maintenanceWebhooks/:name", async (request) => {
    const w = listWebhooks(context.store).find((x) => x.name.toLowerCase() === request.params.name.toLowerCase());
    if (w === undefined) throw new ArmError(404, "ResourceNotFound", `No webhook named '${request.params.name}'.`);
    return w;
  });
  app.delete<{ Params: { name: string } }>("/hotpatch/maintenanceWebhooks/:name", async (request, reply) => {
    return context.serial.run(() => {
      if (!listWebhooks(context.store).some((w) => w.name.toLowerCase() === request.params.name.toLowerCase())) return reply.status(204).send();
      deleteWebhook(context.session, request.params.name);
      return reply.status(200).send({ deleted: request.params.name });
    });
  });
}
