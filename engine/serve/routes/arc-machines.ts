/**
 * Microsoft.HybridCompute machines (Arc-enabled servers) and their license
 * profile, as @azure/arm-resources' generic client drives them: machine PUT
 * (create 201 / update 200), GET, DELETE (200, or 204 when there was none),
 * the lists of a group and of a subscription; and
 * `…/machines/{m}/licenseProfiles/default` PUT (201 / 200), PATCH (200; 404
 * without one) and GET (404 without one). The mapping lives in ../arc-resource.ts.
 *
 * Every change runs in `context.serial` and one store transaction. Each
 * answer reads the hotpatch status at the emulated clock, so a license
 * profile answers Enabling and, once `POST /hotpatch/clock/advance` has moved
 * the clock 10 minutes past the enrolment, Enabled. A name held by a Compute
 * VM is a 409 here (and an Arc machine's name a 409 on the Compute routes).
 */
import type { FastifyInstance } from "fastify";
import { createVm, deleteVm, setVm, type VmRecord, vmStatus } from "../../manage/index.ts";
import { checkApiVersion } from "../api-version.ts";
import { type ArcLicenseDoc, arcResource, checkArcImageUnchanged, checkHotpatchIntent, DEFAULT_ARC_IMAGE, licenseProfileResource, parseArcPut, parseLicensePut } from "../arc-resource.ts";
import { ArmError, groupNotFound, notFound } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { bootVm, forgetVm } from "../live-vms.ts";
import { defaultVmArm, deleteVmArm, getGroup, getVmArm, inGroup, listVmArm, putVmArm, type VmArmDoc, vmIdOf } from "../resources.ts";
import type { ArmQuery, Json } from "./validate.ts";

interface MachineParams {
  subscriptionId: string;
  resourceGroupName: string;
  machineName: string;
}

const TYPE = "Microsoft.HybridCompute/machines";
const GROUP_MACHINES = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/Microsoft.HybridCompute/machines";
const MACHINE = `${GROUP_MACHINES}/:machineName`;
const LICENSE = `${MACHINE}/licenseProfiles/default`;
const LICENSE_KIND = "arcLicense";

export function registerArcMachineRoutes(app: FastifyInstance, context: ServeContext): void {
  const { store } = context;
  const version = (query: ArmQuery, type = "machines") => checkApiVersion("Microsoft.HybridCompute", type, query["api-version"]);
  const licenseOf = (vm: string) => store.resource<ArcLicenseDoc>(LICENSE_KIND, vm.toLowerCase());
  const resource = (vm: VmRecord, doc: VmArmDoc): Json => arcResource(vm, doc, vmStatus(context.session, vm.name), context.session.catalog);

  const find = (params: MachineParams): { vm: VmRecord; doc: VmArmDoc } => {
    const doc = getVmArm(store, params.machineName);
    // ARM names are case-insensitive: the VM is the one the ARM document names (its own spelling).
    const vm = store.vm<VmRecord>(doc?.vm ?? params.machineName);
    if (doc === undefined || vm === undefined || vm.host !== "arc" || !inGroup(doc, params.subscriptionId, params.resourceGroupName)) {
      throw notFound(TYPE, params.machineName, params.resourceGroupName);
    }
    return { vm, doc };
  };

  app.put<{ Params: MachineParams; Querystring: ArmQuery }>(MACHINE, async (request, reply) => {
    version(request.query);
    const { subscriptionId, resourceGroupName, machineName } = request.params;
    const put = parseArcPut(request.body);
    return context.serial.run(() => {
      const group = getGroup(store, subscriptionId, resourceGroupName);
      if (group === undefined) throw groupNotFound(resourceGroupName);
      const existingDoc = getVmArm(store, machineName);
      const existing = store.vm<VmRecord>(existingDoc?.vm ?? machineName);
      if ((existingDoc !== undefined && !inGroup(existingDoc, subscriptionId, resourceGroupName)) || (existing !== undefined && existing.host !== "arc")) {
        throw new ArmError(409, "Conflict", `The name '${machineName}' is taken by another machine or virtual machine in the emulator's state (names are unique across groups and resource types).`, "name");
      }
      const now = emulatedNow(context);
      if (existing === undefined) {
        checkHotpatchIntent(machineName, put, false);
        const { vm, doc } = store.tx(() => {
          const vm = createVm(store, { name: machineName, image: put.image ?? DEFAULT_ARC_IMAGE, host: "arc", ...settings(put) }, now, context.session.catalog);
          const base = defaultVmArm(vm, { subscription: subscriptionId, resourceGroup: group.name, location: put.location.toLowerCase() });
          const doc: VmArmDoc = { ...base, vmId: vmIdOf(subscriptionId, vm.name), tags: put.tags ?? {}, assessmentMode: put.assessmentMode ?? base.assessmentMode, rebootSetting: put.rebootSetting ?? base.rebootSetting };
          putVmArm(store, doc);
          return { vm, doc };
        });
        void bootVm(context, vm.name);
        return reply.status(201).send(resource(vm, doc));
      }
      checkHotpatchIntent(machineName, put, existing.hotpatch);
      checkArcImageUnchanged(put, existing);
      const current = existingDoc ?? defaultVmArm(existing, { subscription: subscriptionId, resourceGroup: group.name, location: put.location.toLowerCase() });
      const { vm, doc } = store.tx(() => {
        const vm = setVm(store, existing.name, settings(put), now);
        const doc: VmArmDoc = { ...current, tags: put.tags ?? current.tags, assessmentMode: put.assessmentMode ?? current.assessmentMode, rebootSetting: put.rebootSetting ?? current.rebootSetting };
        putVmArm(store, doc);
        return { vm, doc };
      });
      return reply.status(200).send(resource(vm, doc));
    });
  });

  app.get<{ Params: MachineParams; Querystring: ArmQuery }>(MACHINE, async (request) => {
    version(request.query);
    const { vm, doc } = find(request.params);
    return resource(vm, doc);
  });

  app.delete<{ Params: MachineParams; Querystring: ArmQuery }>(MACHINE, async (request, reply) => {
    version(request.query);
    return context.serial.run(() => {
      const doc = getVmArm(store, request.params.machineName);
      const vm = store.vm<VmRecord>(doc?.vm ?? request.params.machineName);
      if (doc === undefined || vm?.host !== "arc" || !inGroup(doc, request.params.subscriptionId, request.params.resourceGroupName)) return reply.status(204).send();
      store.tx(() => {
        forgetVm(context, doc.vm);
        deleteVm(store, doc.vm);
        deleteVmArm(store, doc.vm);
        store.deleteResource(LICENSE_KIND, doc.vm.toLowerCase());
      });
      return reply.status(200).send();
    });
  });

  const listed = (docs: VmArmDoc[]): { value: Json[] } => ({
    value: docs.flatMap((doc) => {
      const vm = store.vm<VmRecord>(doc.vm);
      return vm?.host === "arc" ? [resource(vm, doc)] : [];
    }),
  });

  app.get<{ Params: Omit<MachineParams, "machineName">; Querystring: ArmQuery }>(GROUP_MACHINES, async (request) => {
    version(request.query);
    const { subscriptionId, resourceGroupName } = request.params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    return listed(listVmArm(store).filter((doc) => inGroup(doc, subscriptionId, resourceGroupName)));
  });

  app.get<{ Params: { subscriptionId: string }; Querystring: ArmQuery }>("/subscriptions/:subscriptionId/providers/Microsoft.HybridCompute/machines", async (request) => {
    version(request.query);
    const subscription = request.params.subscriptionId.toLowerCase();
    return listed(listVmArm(store).filter((doc) => doc.subscription.toLowerCase() === subscription));
  });

  const license = (method: "PUT" | "PATCH") => async (request: { params: MachineParams; query: ArmQuery; body: unknown }, reply: { status(code: number): { send(body: Json): unknown } }) => {
    version(request.query, "machines/licenseProfiles");
    const body = parseLicensePut(request.body, method === "PATCH");
    return context.serial.run(() => {
      const { vm, doc } = find(request.params);
      const existing = licenseOf(vm.name);
      if (method === "PATCH" && existing === undefined) throw notFound(`${TYPE}/licenseProfiles`, `${vm.name}/default`, request.params.resourceGroupName);
      const now = emulatedNow(context);
      const next = store.tx(() => {
        const changed = body.hotpatch === undefined ? vm : setVm(store, vm.name, { hotpatch: body.hotpatch }, now);
        const lic: ArcLicenseDoc = {
          vm: vm.name,
          location: body.location?.toLowerCase() ?? existing?.location ?? doc.location,
          softwareAssuranceCustomer: body.softwareAssuranceCustomer ?? existing?.softwareAssuranceCustomer ?? null,
          createdAt: existing?.createdAt ?? now.toISOString(),
        };
        store.putResource(LICENSE_KIND, vm.name.toLowerCase(), lic);
        return { vm: changed, lic };
      });
      return reply.status(existing === undefined ? 201 : 200).send(licenseProfileResource(next.vm, doc, next.lic, vmStatus(context.session, vm.name)));
    });
  };
  app.put<{ Params: MachineParams; Querystring: ArmQuery }>(LICENSE, license("PUT"));
  app.patch<{ Params: MachineParams; Querystring: ArmQuery }>(LICENSE, license("PATCH"));

  app.get<{ Params: MachineParams; Querystring: ArmQuery }>(LICENSE, async (request) => {
    version(request.query, "machines/licenseProfiles");
    const { vm, doc } = find(request.params);
    const lic = licenseOf(vm.name);
    if (lic === undefined) throw notFound(`${TYPE}/licenseProfiles`, `${vm.name}/default`, request.params.resourceGroupName);
    return licenseProfileResource(vm, doc, lic, vmStatus(context.session, vm.name));
  });
}

/** The management plane's settings a machine PUT names. */
function settings(put: ReturnType<typeof parseArcPut>) {
  return {
    ...(put.patchMode === undefined ? {} : { patchMode: put.patchMode }),
    ...(put.vbs === undefined ? {} : { vbs: put.vbs }),
    ...(put.timeZone === undefined ? {} : { timeZone: put.timeZone }),
    ...(put.window === undefined ? {} : { window: put.window }),
    ...(put.processes === undefined ? {} : { processes: put.processes }),
    ...(put.bypassPlatformSafetyChecksOnUserSchedule === undefined ? {} : { bypassPlatformSafetyChecksOnUserSchedule: put.bypassPlatformSafetyChecksOnUserSchedule }),
  };
}
