/**
 * assessPatches / installPatches as ARM long-running operations, as
 * @azure/arm-compute (24.x) drives them with @azure/core-lro:
 *
 * - `POST …/virtualMachines/:vm/assessPatches` and `…/installPatches` check
 *   the api-version, the group (404 ResourceGroupNotFound), the VM in it
 *   (404 ResourceNotFound), the body (400 InvalidParameter with `target`)
 *   and that no operation of the kind runs or waits on the VM (409 Conflict
 *   naming it; an assessment also waits for no install), then record the
 *   operation and answer 202 with `Azure-AsyncOperation` (the status URL),
 *   `Location` (the same URL with `monitor=true`) and `Retry-After`.
 * - `GET …/locations/:location/operations/:id` is the status:
 *   OperationStatusResponse `{ name, status, startTime, endTime?, error?,
 *   properties?: { output } }`, always 200, as Compute answers it (a Failed
 *   operation is 200 with status Failed and the error).
 * - With `monitor=true` it is the Location URL: 202 (Location, Retry-After)
 *   while InProgress, 200 with the bare result when Succeeded (the SDK's
 *   final GET, which it deserializes), and the ARM error body with the
 *   error's own HTTP status when Failed.
 *
 * How the SDK ends: core-lro polls Azure-AsyncOperation until the status is
 * terminal; on Succeeded it GETs Location and returns that body; on Failed
 * `await poller` rejects with an Error whose message is
 * "The long-running operation has failed. <code>. <message>" (core-lro does
 * not make a RestError of a status body; the ARM code is in the message).
 *
 * installPatches body (VirtualMachineInstallPatchesParameters):
 * `maximumDuration` (ISO 8601, required), `rebootSetting` (IfRequired,
 * NeverReboot, AlwaysReboot; required), `windowsParameters`:
 * `classificationsToInclude` (ARM's names), `kbNumbersToInclude`,
 * `kbNumbersToExclude` (KBs the catalog has at the request's time; "5012170"
 * is read as "KB5012170"), `excludeKbsRequiringReboot` and
 * `maxPatchPublishDate`. The last two are applied by an assessment run just
 * before the install (it is recorded, as Azure's install assesses too): the
 * offered KBs that always require a reboot, or were published after the
 * date, are added to the exclusions (they show as Excluded).
 *
 * The same two operations exist for Arc-enabled servers
 * (`…/Microsoft.HybridCompute/machines/:m/assessPatches|installPatches`, the
 * HybridCompute api-versions), with their status under
 * `/subscriptions/:s/providers/Microsoft.HybridCompute/locations/:l/operationStatuses/:id`.
 *
 * Events: "assessment" and "installation" with the result's summary, and
 * "hotpatch.applied" per hotpatch applied live, with its apply time.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import {
  assessVm,
  findUpdate,
  type InstallRequest,
  installUpdates,
  parseClassificationList,
  parseDuration,
  parseRebootSetting,
  type VmRecord,
} from "../../manage/index.ts";
import { checkApiVersion } from "../api-version.ts";
import { ArmError, groupNotFound, invalidParameter, notFound } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import type { Operation, OperationKind } from "../operations.ts";
import { ARM_CLASSIFICATIONS, assessPatchesResult, installPatchesResult } from "../patch-results.ts";
import { publishAssessment, publishInstallation } from "../publish.ts";
import { getGroup, getVmArm, inGroup } from "../resources.ts";
import { type ArmQuery, type Json, optionalBoolean, optionalObject, optionalString, optionalStringArray, readObject, requiredString } from "./validate.ts";

interface VmParams {
  subscriptionId: string;
  resourceGroupName: string;
  vmName: string;
}

interface OperationParams {
  subscriptionId: string;
  location: string;
  operationId: string;
}

type OperationQuery = ArmQuery & { monitor?: string };

/** The two kinds of machine the operations run on: Compute VMs and Arc-enabled servers (VM records with host arc). */
const MACHINES = [
  {
    provider: "Microsoft.Compute",
    path: "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/microsoft.compute/virtualmachines/:vmName",
    operations: "/subscriptions/:subscriptionId/providers/microsoft.compute/locations/:location/operations/:operationId",
    type: "Microsoft.Compute/virtualMachines",
    resourceType: "virtualMachines",
    arc: false,
  },
  {
    provider: "Microsoft.HybridCompute",
    path: "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName/providers/microsoft.hybridcompute/machines/:vmName",
    operations: "/subscriptions/:subscriptionId/providers/microsoft.hybridcompute/locations/:location/operationStatuses/:operationId",
    type: "Microsoft.HybridCompute/machines",
    resourceType: "machines",
    arc: true,
  },
] as const;

type Machines = (typeof MACHINES)[number];
const REBOOT_SETTINGS = ["IfRequired", "NeverReboot", "AlwaysReboot"] as const;

export function registerPatchRoutes(app: FastifyInstance, context: ServeContext, options: { retryAfterSeconds: number }): void {
  const { store } = context;
  const versionOf = (kb: string): string => {
    try {
      return findUpdate(kb, emulatedNow(context), context.session.catalog).osBuild;
    } catch {
      return "";
    }
  };

  /** The machine's placement, or ARM's 404s (a Compute VM is not an Arc machine, nor the other way round). */
  const placed = (params: VmParams, machines: Machines) => {
    const { subscriptionId, resourceGroupName, vmName } = params;
    if (getGroup(store, subscriptionId, resourceGroupName) === undefined) throw groupNotFound(resourceGroupName);
    const doc = getVmArm(store, vmName);
    const isArc = store.vm<VmRecord>(doc?.vm ?? vmName)?.host === "arc";
    if (doc === undefined || !inGroup(doc, subscriptionId, resourceGroupName) || isArc !== machines.arc) throw notFound(machines.type, vmName, resourceGroupName);
    return doc;
  };

  const refuseBusy = (vm: string, kind: OperationKind, kinds: readonly OperationKind[]) => {
    for (const other of kinds) {
      const running = context.operations.busy(vm, other);
      if (running !== undefined) {
        throw new ArmError(409, "Conflict", `The operation '${kind}' on virtual machine '${vm}' is not allowed: operation '${running.kind}' (${running.id}) is already in progress on it.`);
      }
    }
  };

  const accepted = (reply: FastifyReply, op: Operation, apiVersion: string) => {
    const status = statusUrl(context.baseUrl, op);
    return reply
      .status(202)
      .header("azure-asyncoperation", `${status}?api-version=${apiVersion}`)
      .header("location", `${status}?monitor=true&api-version=${apiVersion}`)
      .header("retry-after", String(options.retryAfterSeconds))
      .send();
  };

  for (const machines of MACHINES) {
    registerMachineOperations(machines);
    registerOperationStatus(app, context, machines, options);
  }

  function registerMachineOperations(machines: Machines): void {
    app.post<{ Params: VmParams; Querystring: ArmQuery }>(`${machines.path}/assesspatches`, async (request, reply) => {
      const apiVersion = request.query["api-version"];
      checkApiVersion(machines.provider, machines.resourceType, apiVersion);
      const doc = placed(request.params, machines);
      refuseBusy(doc.vm, "assessPatches", ["assessPatches", "installPatches"]);
      const op = context.operations.start(spec(doc, "assessPatches", machines.provider), async () => {
        const now = emulatedNow(context);
        const result = assessVm(context.session, doc.vm, now);
        publishAssessment(context, result, { trigger: "OnDemand", operationId: op.id });
        return assessPatchesResult(result, versionOf);
      });
      return accepted(reply, op, apiVersion as string);
    });

    app.post<{ Params: VmParams; Querystring: ArmQuery }>(`${machines.path}/installpatches`, async (request, reply) => {
      const apiVersion = request.query["api-version"];
      checkApiVersion(machines.provider, machines.resourceType, apiVersion);
      const doc = placed(request.params, machines);
      const parsed = parseInstallBody(request.body, (kb) => findUpdate(kb, emulatedNow(context), context.session.catalog));
      refuseBusy(doc.vm, "installPatches", ["installPatches"]);
      const op = context.operations.start(spec(doc, "installPatches", machines.provider), async () => {
        const now = emulatedNow(context);
        const exclude = [...(parsed.request.exclude ?? [])];
        if (parsed.excludeKbsRequiringReboot || parsed.maxPatchPublishDate !== undefined) {
          const assessment = assessVm(context.session, doc.vm, now);
          publishAssessment(context, assessment, { trigger: "OnDemand", operationId: op.id });
          for (const p of assessment.availablePatches) {
            const late = parsed.maxPatchPublishDate !== undefined && new Date(p.publishedDate).getTime() > parsed.maxPatchPublishDate.getTime();
            if ((parsed.excludeKbsRequiringReboot && p.rebootBehavior === "AlwaysRequiresReboot") || late) exclude.push(p.kbId);
          }
        }
        const result = await installUpdates(context.session, doc.vm, { ...parsed.request, exclude }, now);
        publishInstallation(context, result, { trigger: "OnDemand", operationId: op.id });
        return installPatchesResult(result, versionOf);
      });
      return accepted(reply, op, apiVersion as string);
    });
  }
}

/** The operations' status (and, with monitor=true, their Location URL) for one machine kind. */
function registerOperationStatus(app: FastifyInstance, context: ServeContext, machines: Machines, options: { retryAfterSeconds: number }): void {
  app.get<{ Params: OperationParams; Querystring: OperationQuery }>(machines.operations, async (request, reply) => {
    checkApiVersion(machines.provider, "locations/operations", request.query["api-version"]);
    const { subscriptionId, location, operationId } = request.params;
    const op = context.operations.get(operationId);
    const provider = op?.provider ?? "Microsoft.Compute";
    if (op === undefined || provider !== machines.provider || op.subscription.toLowerCase() !== subscriptionId.toLowerCase() || op.location.toLowerCase() !== location.toLowerCase()) {
      throw new ArmError(404, "NotFound", `The operation '${operationId}' was not found in location '${location}'.`);
    }
    if (request.query.monitor?.toLowerCase() !== "true") return reply.status(200).send(statusBody(op));
    if (op.status === "InProgress") {
      return reply
        .status(202)
        .header("location", `${statusUrl(context.baseUrl, op)}?monitor=true&api-version=${request.query["api-version"]}`)
        .header("retry-after", String(options.retryAfterSeconds))
        .send();
    }
    if (op.status === "Succeeded") return reply.status(200).send(op.result);
    const error = op.error ?? { code: "OperationFailed", message: `The operation ${op.kind} on '${op.vm}' ${op.status.toLowerCase()}.` };
    return reply.status(op.errorStatus ?? 500).send({ error });
  });
}

function spec(doc: { vm: string; subscription: string; resourceGroup: string; location: string }, kind: OperationKind, provider: Machines["provider"]) {
  return { kind, subscription: doc.subscription, resourceGroup: doc.resourceGroup, vm: doc.vm, location: doc.location, ...(provider === "Microsoft.Compute" ? {} : { provider }) };
}

function statusUrl(baseUrl: string, op: Operation): string {
  if (op.provider === "Microsoft.HybridCompute") return `${baseUrl}/subscriptions/${op.subscription}/providers/Microsoft.HybridCompute/locations/${op.location}/operationStatuses/${op.id}`;
  return `${baseUrl}/subscriptions/${op.subscription}/providers/Microsoft.Compute/locations/${op.location}/operations/${op.id}`;
}

/** Compute's OperationStatusResponse, with the result under properties.output once it succeeded. */
export function statusBody(op: Operation): Record<string, unknown> {
  return {
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime === undefined ? {} : { endTime: op.endTime }),
    ...(op.error === undefined ? {} : { error: op.error }),
    ...(op.status === "Succeeded" ? { properties: { output: op.result } } : {}),
  };
}

interface ParsedInstall {
  request: InstallRequest;
  excludeKbsRequiringReboot: boolean;
  maxPatchPublishDate?: Date;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/** VirtualMachineInstallPatchesParameters, checked; `checkKb` throws for a KB the catalog does not have. */
export function parseInstallBody(body: unknown, checkKb: (kb: string) => unknown): ParsedInstall {
  const input = readObject(body, "installPatchesInput");
  const duration = requiredString(input, "maximumDuration");
  const maxDurationMillis = usage(() => parseDuration(duration), "maximumDuration");
  if (!(maxDurationMillis > 0)) throw invalidParameter(`'maximumDuration' must be longer than zero (got '${duration}').`, "maximumDuration");
  const rebootText = requiredString(input, "rebootSetting");
  if (!REBOOT_SETTINGS.some((s) => s.toLowerCase() === rebootText.toLowerCase())) {
    throw invalidParameter(`'rebootSetting' has the value '${rebootText}'; allowed values are ${REBOOT_SETTINGS.join(", ")}.`, "rebootSetting");
  }
  const reboot = parseRebootSetting(rebootText);
  const windows: Json = optionalObject(input, "windowsParameters") ?? {};
  const w = (key: string) => `windowsParameters.${key}`;
  const classes = optionalStringArray(windows, "classificationsToInclude", w("classificationsToInclude"));
  classes?.forEach((c, i) => {
    if (!ARM_CLASSIFICATIONS.some((a) => a.toLowerCase() === c.toLowerCase())) {
      throw invalidParameter(`'${w("classificationsToInclude")}[${i}]' has the value '${c}'; allowed values are ${ARM_CLASSIFICATIONS.join(", ")}.`, `${w("classificationsToInclude")}[${i}]`);
    }
  });
  const kbs = (key: string) =>
    optionalStringArray(windows, key, w(key))?.map((text, i) => {
      const kb = /^\d+$/.test(text.trim()) ? `KB${text.trim()}` : text.trim().toUpperCase();
      usage(() => checkKb(kb), `${w(key)}[${i}]`);
      return kb;
    });
  const include = kbs("kbNumbersToInclude");
  const exclude = kbs("kbNumbersToExclude");
  const excludeKbsRequiringReboot = optionalBoolean(windows, "excludeKbsRequiringReboot", w("excludeKbsRequiringReboot")) ?? false;
  const dateText = optionalString(windows, "maxPatchPublishDate", w("maxPatchPublishDate"));
  let maxPatchPublishDate: Date | undefined;
  if (dateText !== undefined) {
    maxPatchPublishDate = new Date(dateText);
    if (!ISO_INSTANT.test(dateText) || Number.isNaN(maxPatchPublishDate.getTime())) {
      throw invalidParameter(`'${w("maxPatchPublishDate")}' must be an ISO 8601 date-time (got '${dateText}').`, w("maxPatchPublishDate"));
    }
  }
  return {
    request: {
      ...(classes === undefined || classes.length === 0 ? {} : { classifications: parseClassificationList(classes.join(",")) }),
      ...(include === undefined ? {} : { include }),
      ...(exclude === undefined ? {} : { exclude }),
      maxDurationMillis,
      reboot,
    },
    excludeKbsRequiringReboot,
    ...(maxPatchPublishDate === undefined ? {} : { maxPatchPublishDate }),
  };
}

/** Runs a management-plane parser; its refusal becomes 400 InvalidParameter naming `target`. */
function usage<T>(fn: () => T, target: string): T {
  try {
    return fn();
  } catch (error) {
    throw invalidParameter(`'${target}' is invalid: ${(error as Error).message}.`, target);
  }
}

