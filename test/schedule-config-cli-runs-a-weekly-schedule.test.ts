/**
 * `hotpatch schedule-config` end to end through bin/hotpatch.mjs, on a
 * temporary state: a VM on a user schedule, a weekly configuration in a
 * Windows time zone, its assignment and a webhook on a loopback server; the
 * clock advances over the runs, `show` and `history` report them, `cancel`
 * obeys the cut-off, and bad input changes nothing.
 *
 * Emulated times go through `--now` and the state's clock only. 2027-02-13 is
 * a Saturday; "W. Europe Standard Time" is UTC+1 in February, so the windows
 * open at 22:00Z on Saturdays. The February hotpatch KB5270200 is released on
 * 2027-02-09, March's on 2027-03-09.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliProcess } from "./cli-runner.ts";
import { CORE, removeTempFolders, tempFolder } from "./manage-fixtures.ts";

let state = "";
let server: Server;
let hookUrl = "";
const events: { eventType: string; subject: string; data: Record<string, unknown> }[] = [];

async function hotpatch(...args: string[]): Promise<{ status: number | null; json: Record<string, unknown>; stdout: string; stderr: string }> {
  const run = await runCliProcess([...args, "--state", state, "--json"]);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`hotpatch ${args.join(" ")} printed no JSON (exit ${run.status}): ${run.stdout}\n${run.stderr}`);
  }
  return { status: run.status, json, stdout: run.stdout, stderr: run.stderr };
}

const create = (name: string, o: { start?: string; duration?: string; timeZone?: string; recur?: string } = {}, ...extra: string[]) =>
  hotpatch(
    "schedule-config",
    "create",
    name,
    "--start",
    o.start ?? "2027-02-13 23:00",
    "--duration",
    o.duration ?? "03:00",
    "--time-zone",
    o.timeZone ?? "W. Europe Standard Time",
    "--recur",
    o.recur ?? "Week Saturday",
    ...extra,
  );

interface RunView {
  name: string;
  status: string;
  start: string;
  end: string;
  cancelled: { at: string; reason: string } | null;
  preEvent: { at: string; deliveries: { webhook: string; status: number | null }[] } | null;
  postEvent: { at: string; deliveries: { webhook: string; status: number | null }[] } | null;
  machines: { vm: string; outcome: string; installed: number }[];
}

async function show(): Promise<{ past: RunView[]; upcoming: RunView[] }> {
  const r = await hotpatch("schedule-config", "show", "sat");
  expect(r.status).toBe(0);
  return r.json.runs as { past: RunView[]; upcoming: RunView[] };
}

beforeAll(async () => {
  state = join(tempFolder(), "state.db");
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      events.push(...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof events));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  removeTempFolders();
});

describe("hotpatch schedule-config runs a weekly schedule", () => {
  it("creates a VM on a user schedule, a weekly configuration, its assignment and a webhook", async () => {
    const vm = await hotpatch("vm", "create", "v1", "--image", CORE, "--user-schedule", "on", "--processes", "1", "--now", "2027-02-10T00:00:00Z");
    expect(vm.status).toBe(0);
    expect(vm.json).toMatchObject({ name: "v1", patchMode: "AutomaticByPlatform", bypassPlatformSafetyChecksOnUserSchedule: true });
    expect((await hotpatch("vm", "create", "auto1", "--image", CORE, "--processes", "1")).status).toBe(0);

    const created = await create("sat");
    expect(created.status).toBe(0);
    expect(created.json).toMatchObject({ created: true, cancelledRuns: [], configuration: { name: "sat", maintenanceWindow: { timeZone: "W. Europe Standard Time", recurEvery: "Week Saturday" } } });
    expect((await hotpatch("schedule-config", "assign", "sat", "--vm", "v1")).json).toMatchObject({ vm: "v1", name: "sat" });
    expect((await hotpatch("schedule-config", "webhook", "hooks", "--url", hookUrl, "--config", "sat")).json).toMatchObject({
      name: "hooks",
      eventTypes: ["PreMaintenanceEvent", "PostMaintenanceEvent"],
    });
    const { upcoming } = await show();
    expect(upcoming.map((r) => [r.name, r.start, r.status])).toEqual([
      ["20270213220000", "2027-02-13T22:00:00Z", "Scheduled"],
      ["20270220220000", "2027-02-20T22:00:00Z", "Scheduled"],
      ["20270227220000", "2027-02-27T22:00:00Z", "Scheduled"],
    ]);
  });

  it("clock advance P15D runs the two Saturdays' windows; show and history report them", async () => {
    const advance = await hotpatch("clock", "advance", "P15D");
    expect(advance.status).toBe(0);
    const reported = (advance.json.events as { at: string; vm: string; type: string; installation?: { trigger: string } }[]).filter((e) => e.type !== "Assessment");
    expect(reported.filter((e) => e.type === "MaintenanceRun").map((e) => e.at)).toEqual(["2027-02-13T22:00:00Z", "2027-02-20T22:00:00Z"]);
    // The VM without the flag is patched automatically, in its off-peak window; v1 only by the schedule.
    expect(reported.filter((e) => e.type === "Installation").map((e) => [e.vm, e.at, e.installation?.trigger])).toEqual([
      ["auto1", "2027-02-10T00:00:00Z", "AutomaticByPlatform"],
      ["v1", "2027-02-13T22:00:00Z", "MaintenanceConfiguration"],
      ["v1", "2027-02-20T22:00:00Z", "MaintenanceConfiguration"],
    ]);

    const { past, upcoming } = await show();
    expect(past.map((r) => [r.name, r.status, r.machines.map((m) => [m.vm, m.outcome, m.installed])])).toEqual([
      ["20270213220000", "Succeeded", [["v1", "Succeeded", 1]]],
      ["20270220220000", "Succeeded", [["v1", "Succeeded", 0]]],
    ]);
    expect(past[0].preEvent).toMatchObject({ at: "2027-02-13T21:30:00Z", deliveries: [{ webhook: "hooks", status: 200 }] });
    expect(past[0].postEvent?.deliveries).toEqual([expect.objectContaining({ webhook: "hooks", status: 200 })]);
    expect(upcoming[0]).toMatchObject({ name: "20270227220000", status: "Scheduled" });

    const history = await hotpatch("history", "v1");
    expect(history.status).toBe(0);
    const entries = history.json.entries as { kb: string; result: string; trigger: string; startedAt: string; maintenanceConfigurationId?: string }[];
    expect(entries.map((e) => [e.kb, e.result, e.trigger, e.startedAt])).toEqual([["KB5270200", "Succeeded", "MaintenanceConfiguration", "2027-02-13T22:00:00Z"]]);
    expect(entries[0].maintenanceConfigurationId).toMatch(/\/providers\/Microsoft\.Maintenance\/maintenanceConfigurations\/sat$/);

    expect(events.map((e) => [e.eventType, e.subject])).toEqual([
      ["Microsoft.Maintenance.PreMaintenanceEvent", "20270213220000"],
      ["Microsoft.Maintenance.PostMaintenanceEvent", "20270213220000"],
      ["Microsoft.Maintenance.PreMaintenanceEvent", "20270220220000"],
      ["Microsoft.Maintenance.PostMaintenanceEvent", "20270220220000"],
    ]);
    expect(events[0].data).toMatchObject({ startDateTime: "2027-02-13T22:00:00Z", endDateTime: "2027-02-14T01:00:00Z", cancellationCutOffDateTime: "2027-02-13T21:50:00Z" });
  });

  it("cancels a run 11 minutes before its start and refuses 9 minutes before with E_SCHEDULE naming the cut-off", async () => {
    // The clock is at 2027-02-25T00:00Z; the next run starts 2027-02-27T22:00Z.
    expect((await hotpatch("clock", "advance", "P2DT21H49M")).status).toBe(0);
    const cancelled = await hotpatch("schedule-config", "cancel", "sat", "--run", "20270227220000");
    expect(cancelled.status).toBe(0);
    expect(cancelled.json).toMatchObject({ name: "20270227220000", status: "Cancelled", cancelled: { at: "2027-02-27T21:49:00Z" } });

    // To 2027-03-06T21:51Z: the cancelled run does nothing; the next one is 9 minutes away.
    const week = await hotpatch("clock", "advance", "P7DT2M");
    expect((week.json.events as { type: string; maintenance?: { name: string } }[]).filter((e) => e.maintenance?.name === "20270227220000")).toEqual([]);
    const refused = await hotpatch("schedule-config", "cancel", "sat", "--run", "20270306220000");
    expect(refused.status).toBe(1);
    const error = refused.json.error as { code: string; message: string };
    expect(error.code).toBe("E_SCHEDULE");
    expect(error.message).toContain("cut-off was 2027-03-06T21:50:00Z");

    expect((await hotpatch("clock", "advance", "PT12H")).status).toBe(0);
    const { past } = await show();
    expect(past.map((r) => [r.name, r.status])).toEqual([
      ["20270213220000", "Succeeded"],
      ["20270220220000", "Succeeded"],
      ["20270227220000", "Cancelled"],
      ["20270306220000", "Succeeded"],
    ]);
    const run = past[2];
    expect(run.machines).toEqual([]);
    expect(run.postEvent).toBeNull();
    // The cancelled run's pre-event had gone out (21:30) before the cancellation; no post-event followed it.
    expect(events.filter((e) => e.subject === "20270227220000").map((e) => e.eventType)).toEqual(["Microsoft.Maintenance.PreMaintenanceEvent"]);
    expect(events.filter((e) => e.subject === "20270306220000").map((e) => e.eventType)).toEqual([
      "Microsoft.Maintenance.PreMaintenanceEvent",
      "Microsoft.Maintenance.PostMaintenanceEvent",
    ]);
  });

  it("refuses a 04:00 duration, an unknown Windows time zone and 'Month Fifth Monday' with E_USAGE, changing nothing", async () => {
    const before = await hotpatch("schedule-config", "list");
    const clockBefore = (await hotpatch("clock", "show")).json.clock;
    const attempts: [string, Parameters<typeof create>[1], RegExp][] = [
      ["sat", { duration: "04:00" }, /duration/],
      ["fresh", { duration: "04:00" }, /duration/],
      ["fresh", { timeZone: "Mars Standard Time" }, /timeZone/],
      ["sat", { recur: "Month Fifth Monday" }, /recurEvery/],
    ];
    for (const [name, o, field] of attempts) {
      const r = await create(name, o, "--now", "2027-03-08T00:00:00Z");
      expect(r.status, JSON.stringify(o)).toBe(2);
      const error = r.json.error as { code: string; message: string };
      expect(error.code).toBe("E_USAGE");
      expect(error.message).toMatch(field);
    }
    const after = await hotpatch("schedule-config", "list");
    expect(after.json).toEqual(before.json);
    expect((after.json.configurations as { name: string }[]).map((c) => c.name)).toEqual(["sat"]);
    expect((await hotpatch("clock", "show")).json.clock).toBe(clockBefore);
  });
});
