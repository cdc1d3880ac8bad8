/**
 * The emulator's own endpoints, under /hotpatch/ (not ARM: no api-version;
 * the same bearer token):
 * - `GET /hotpatch/clock` → `{ clock }`, the emulated time;
 * - `POST /hotpatch/clock/advance` `{ duration: "P1D" }` → the advance report:
 *   the assessments and automatic installs due meanwhile run exactly as
 *   `hotpatch clock advance` runs them (through the serial queue);
 * - `GET /hotpatch/vms/{vm}/processes` → the VM's running processes
 *   (live-vms.ts boots them if they are not running yet): counters, recent
 *   request latency, installed patches and the slot table; also for the
 *   story VMs that are not in the state (the demo's, demo-story.ts);
 * - `GET /hotpatch/events` → Server-Sent Events of what happens (events.ts),
 *   resuming after `Last-Event-ID`.
 */
import type { FastifyInstance } from "fastify";
import { advanceClock, iso, parseDuration, type VmRecord } from "../../manage/index.ts";
import { ArmError } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";
import type { ServerEvent } from "../events.ts";
import { bootVm, LOAD_INTERVAL_MS, LOAD_ROUND_REQUESTS } from "../live-vms.ts";
import { publishInstallation } from "../publish.ts";
import { readObject, requiredString } from "./validate.ts";

export function registerEmulatorRoutes(app: FastifyInstance, context: ServeContext): void {
  // Open event streams end when the server closes (a stream never ends by itself, and would hold the close).
  const streams = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });
  app.get("/hotpatch/clock", async () => ({ clock: iso(emulatedNow(context)) }));

  app.post("/hotpatch/clock/advance", async (request) => {
    const body = readObject(request.body, "body");
    const millis = parseDuration(requiredString(body, "duration"));
    return context.serial.run(async () => {
      const from = emulatedNow(context);
      const report = await advanceClock(context.session, from, new Date(from.getTime() + millis), (e) => {
        if (e.installation !== undefined) publishInstallation(context, e.installation, { trigger: e.installation.trigger, summary: e.summary, ...maintenanceOf(e.installation) });
        else if (e.maintenance !== undefined) context.events.publish("maintenance", new Date(e.at), { kind: e.type, summary: e.summary, run: e.maintenance });
        else context.events.publish(e.type === "Assessment" ? "assessment" : "installation", new Date(e.at), { trigger: "Automatic", summary: e.summary }, e.vm);
      });
      context.events.publish("clock", emulatedNow(context), { from: report.from, to: report.to });
      return report;
    });
  });

  app.get<{ Params: { vmName: string } }>("/hotpatch/vms/:vmName/processes", async (request) => {
    const name = request.params.vmName;
    const inState = context.store.vm<VmRecord>(name) !== undefined;
    const story = inState ? undefined : context.storyVms.get(name);
    if (!inState && story === undefined) throw new ArmError(404, "ResourceNotFound", `The virtual machine '${name}' was not found in the emulator's state.`);
    // A read waits for nothing: only a VM that is not running yet is booted (through the change queue).
    if (inState && context.session.bootedRuntime(name) === undefined) await bootVm(context, name);
    const runtime = story?.alive ? story : inState ? context.session.bootedRuntime(name) : undefined;
    const snapshot = runtime === undefined ? undefined : await runtime.snapshot();
    const error =
      context.bootErrors.get(name) ?? (story !== undefined && !story.alive ? "its worker thread ended" : snapshot?.loadError === undefined ? undefined : `load: ${snapshot.loadError}`);
    return {
      vm: name,
      running: runtime !== undefined,
      ...(error === undefined ? {} : { error }),
      load: { intervalMillis: LOAD_INTERVAL_MS, requestsPerRound: LOAD_ROUND_REQUESTS, served: snapshot?.served ?? 0, failed: snapshot?.failed ?? 0 },
      processes: snapshot?.processes ?? [],
    };
  });

  app.get("/hotpatch/events", (request, reply) => {
    const last = Number(request.headers["last-event-id"] ?? 0);
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-ms-request-id": request.id });
    const send = (e: ServerEvent) => out.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    for (const e of context.events.since(Number.isFinite(last) ? last : 0)) send(e);
    const unsubscribe = context.events.subscribe(send);
    const keepAlive = setInterval(() => out.write(": keep-alive\n\n"), 15_000);
    const end = () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(end);
      out.end();
    };
    streams.add(end);
    request.raw.on("close", end);
  });
}

function maintenanceOf(result: { maintenanceConfigurationId?: string }): Record<string, string> {
  return result.maintenanceConfigurationId === undefined ? {} : { maintenanceConfigurationId: result.maintenanceConfigurationId };
}
