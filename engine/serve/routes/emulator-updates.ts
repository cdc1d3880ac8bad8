/**
 * The emulator's update endpoints, for what ARM has no verb for (not ARM: no
 * api-version; the same bearer token). While a server holds a state file the
 * CLI refuses to change it, so these are how an operator reaches the catalog
 * and removes updates:
 * - `GET /hotpatch/catalog?from=YYYY-MM&to=YYYY-MM` → `{ unplanned, releases,
 *   updates }`: the release calendar and the catalog's updates (default: the
 *   emulated year), as `hotpatch catalog list`;
 * - `POST /hotpatch/catalog/unplanned` `{ month }` → `{ unplanned }`: declare
 *   an unplanned baseline, as `hotpatch catalog unplanned`;
 * - `POST /hotpatch/vms/{vm}/uninstall` `{ kbId }` and
 *   `POST /hotpatch/vms/{vm}/rollback` → the removal's result, as `hotpatch
 *   uninstall` and `hotpatch rollback`: a hotpatch is reverted live in the
 *   running processes, anything else reboots them.
 * Changes run through the serial queue and end in events (publish.ts).
 */
import type { FastifyInstance } from "fastify";
import { catalogBetween, declareUnplanned, formatMonth, releasesBetween, rollbackVm, setClock, uninstallUpdate, type VmRecord } from "../../manage/index.ts";
import { ArmError } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import { publishRemoval } from "../publish.ts";
import { readObject, requiredString } from "./validate.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function registerEmulatorUpdateRoutes(app: FastifyInstance, context: ServeContext): void {
  app.get<{ Querystring: { from?: string; to?: string } }>("/hotpatch/catalog", async (request) => {
    const year = emulatedNow(context).getUTCFullYear();
    const from = monthParameter(request.query.from, "from") ?? formatMonth(year, 1);
    const to = monthParameter(request.query.to, "to") ?? formatMonth(year, 12);
    const unplanned = context.session.unplanned;
    return { unplanned, releases: releasesBetween(from, to, unplanned), updates: catalogBetween(from, to, unplanned) };
  });

  app.post("/hotpatch/catalog/unplanned", async (request) => {
    const month = monthParameter(requiredString(readObject(request.body, "body"), "month"), "month")!;
    return context.serial.run(async () => {
      const now = emulatedNow(context);
      const unplanned = context.store.tx(() => {
        const next = declareUnplanned(context.store, month, now);
        setClock(context.store, now);
        return next;
      });
      context.events.publish("catalog.unplanned", now, { month, unplanned });
      return { unplanned };
    });
  });

  app.post<{ Params: { vmName: string } }>("/hotpatch/vms/:vmName/uninstall", async (request) => {
    const kb = requiredString(readObject(request.body, "body"), "kbId");
    const name = knownVm(context, request.params.vmName);
    return context.serial.run(async () => {
      const result = await uninstallUpdate(context.session, name, kb, emulatedNow(context));
      publishRemoval(context, result);
      return result;
    });
  });

  app.post<{ Params: { vmName: string } }>("/hotpatch/vms/:vmName/rollback", async (request) => {
    const name = knownVm(context, request.params.vmName);
    return context.serial.run(async () => {
      const result = await rollbackVm(context.session, name, emulatedNow(context));
      publishRemoval(context, result);
      return result;
    });
  });
}

function monthParameter(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !MONTH.test(value)) throw new ArmError(400, "InvalidParameter", `'${name}' must be a month as YYYY-MM, not '${String(value).slice(0, 40)}'.`, name);
  return value;
}

function knownVm(context: ServeContext, name: string): string {
  if (context.store.vm<VmRecord>(name) === undefined) throw new ArmError(404, "ResourceNotFound", `The virtual machine '${name}' was not found in the emulator's state.`);
  return name;
}
