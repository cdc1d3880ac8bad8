/**
 * The emulator's fleet endpoints (not ARM: no api-version; the same bearer
 * token), as `hotpatch fleet …` on a served state (fleet.ts has the rules):
 * - `PUT /hotpatch/fleet` with a fleet spec (docs/fleets.md) → 201
 *   `{ vms, regions }`; 409 FleetExists when the state has one;
 * - `GET /hotpatch/fleet` → the fleet: image, window, sets, scale sets, every VM's
 *   placement with its OS build and whether its processes run, and a line
 *   per rollout;
 * - `POST /hotpatch/fleet/rollouts` `{ release: "YYYY-MM", defectiveRelease?:
 *   "trap" | "wrong-revision" }` → 202 with the planned report and a
 *   Location header to poll;
 * - `GET /hotpatch/fleet/rollouts` (a line each) and
 *   `GET /hotpatch/fleet/rollouts/{month}` → `{ status, ...report }` (the
 *   shape of `hotpatch fleet rollout --json`), status Running, Completed,
 *   Halted or Stopped;
 * - `POST /hotpatch/fleet/rollouts/{month}/resume` (202) and `…/stop` (200):
 *   only a Halted rollout (409 RolloutNotHalted otherwise).
 */
import type { FastifyInstance } from "fastify";
import { parseFleetSpec, rolloutsOf, storedRollout } from "../../fleet/index.ts";
import { osBuildOf, type ReleaseDefect, type VmRecord } from "../../manage/index.ts";
import { ArmError } from "../arm-error.ts";
import type { ServeContext } from "../context.ts";
import { createServedFleet, resumeRollout, servedFleet, startRollout, stopRollout } from "../fleet.ts";
import { optionalString, readObject, requiredString } from "./validate.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const DEFECTS: Record<string, ReleaseDefect> = { trap: "traps", "wrong-revision": "wrong-revision" };

export function registerFleetRoutes(app: FastifyInstance, context: ServeContext): void {
  app.put("/hotpatch/fleet", async (request, reply) => {
    const spec = parseFleetSpec(readObject(request.body, "body"));
    const created = await context.serial.run(() => createServedFleet(context, spec));
    return reply.status(201).send(created);
  });

  app.get("/hotpatch/fleet", async () => {
    const fleet = servedFleet(context);
    const vms = fleet.vms.map((placement) => {
      const vm = context.store.vm<VmRecord>(placement.name);
      return {
        ...placement,
        osBuild: vm === undefined ? null : osBuildOf(vm, context.session.catalog),
        osMonth: vm?.osMonth ?? null,
        running: context.session.bootedRuntime(placement.name) !== undefined,
        bootError: context.bootErrors.get(placement.name) ?? null,
      };
    });
    const regions = Object.fromEntries([...new Set(vms.map((v) => v.region))].map((r) => [r, vms.filter((v) => v.region === r).length]));
    return { image: fleet.image, processes: fleet.processes, window: fleet.window, regions, sets: fleet.sets, scaleSets: fleet.scaleSets, vms, rollouts: rolloutsOf(context.session) };
  });

  app.post("/hotpatch/fleet/rollouts", async (request, reply) => {
    const body = readObject(request.body, "body");
    const month = monthOf(requiredString(body, "release"));
    const kind = optionalString(body, "defectiveRelease");
    const defect = kind !== undefined && Object.hasOwn(DEFECTS, kind) ? DEFECTS[kind] : undefined;
    if (kind !== undefined && defect === undefined) throw new ArmError(400, "InvalidParameter", `'defectiveRelease' must be 'trap' or 'wrong-revision', not '${kind.slice(0, 40)}'.`, "defectiveRelease");
    const report = startRollout(context, month, defect);
    return reply.status(202).header("location", `${context.baseUrl}/hotpatch/fleet/rollouts/${month}`).send({ status: "Running", ...report });
  });

  app.get("/hotpatch/fleet/rollouts", async () => {
    servedFleet(context);
    return { value: rolloutsOf(context.session) };
  });

  app.get<{ Params: { month: string } }>("/hotpatch/fleet/rollouts/:month", async (request) => {
    servedFleet(context);
    const month = monthOf(request.params.month);
    const stored = storedRollout(context.session, month);
    if (stored === undefined) throw new ArmError(404, "RolloutNotFound", `No rollout of ${month} was started.`);
    return { status: stored.status, ...stored.report };
  });

  app.post<{ Params: { month: string } }>("/hotpatch/fleet/rollouts/:month/resume", async (request, reply) => {
    const month = monthOf(request.params.month);
    const report = resumeRollout(context, month);
    return reply.status(202).header("location", `${context.baseUrl}/hotpatch/fleet/rollouts/${month}`).send({ status: "Running", ...report });
  });

  app.post<{ Params: { month: string } }>("/hotpatch/fleet/rollouts/:month/stop", async (request) => {
    const report = stopRollout(context, monthOf(request.params.month));
    return { status: "Stopped", ...report };
  });
}

function monthOf(value: string): string {
  if (!MONTH.test(value)) throw new ArmError(400, "InvalidParameter", `'release' must be a month as YYYY-MM, not '${value.slice(0, 40)}'.`, "release");
  return value;
}
