/**
 * Fleets through `hotpatch serve` (engine/serve/fleet.ts): a fleet spec PUT
 * becomes ARM resource groups per region, availability sets and VMs with
 * their zones and domains, whose processes run in the server's pool; a
 * release's rollout is asked for, polled while it runs, halted by a defective
 * release after its first batch (the patched VMs keep the release), resumed
 * (halting again: the defect is still there), stopped; a sound release rolls
 * out to every VM live. A server stopped during a rollout halts it before its
 * next round; one killed during it leaves it Running, and the next start
 * records it Halted; both resume. Bad requests get ARM error bodies.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RolloutReport, storedRollout, storeRollout } from "../engine/fleet/index.ts";
import { recordedDefects, Session, Store } from "../engine/manage/index.ts";
import { SERVER_KILLED, SERVER_STOPPED } from "../engine/serve/fleet.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call } from "./serve-helpers.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const SUB = "00000000-0000-0000-0000-000000000000";
const API = "api-version=2024-11-01";
const SPEC = {
  image: CORE,
  timezone: "America/New_York",
  groups: [
    { region: "eastus", availabilitySet: "web", updateDomains: 3, faultDomains: 2, count: 4 },
    { region: "eastus", zone: "1", count: 2 },
    { region: "westus", count: 2, timezone: "America/Los_Angeles" },
  ],
};

let dir: string;
let statePath: string;
let server: RunningServer;
let api: { url: string; ca: string };

/** A server on the state; `now` only for a new state (a restart keeps the state's clock). */
async function start(now?: string): Promise<void> {
  server = await startServer({ statePath, port: 0, ...(now === undefined ? {} : { now }), retryAfterSeconds: 0 });
  api = { url: server.url, ca: readFileSync(server.certPath, "utf8") };
}

/** Polls the rollout until it is no longer Running. */
async function settled(month: string): Promise<RolloutReport & { status: string }> {
  for (;;) {
    const answer = await call(api, "GET", `/hotpatch/fleet/rollouts/${month}`);
    expect(answer.status).toBe(200);
    if (answer.json().status !== "Running") return answer.json();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (report: RolloutReport, outcome: string) => report.vms.filter((v) => v.outcome === outcome).length;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-fleet-"));
  statePath = join(dir, "state.db");
  await start("2026-02-09T12:00:00Z");
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a fleet through hotpatch serve", () => {
  it("creates the spec's fleet as ARM resources, once, and refuses a bad spec naming the field", async () => {
    const bad = await call(api, "PUT", "/hotpatch/fleet", { body: { ...SPEC, groups: [{ region: "eastus", zone: "1", availabilitySet: "web", count: 1 }] } });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ code: "InvalidParameter" });
    expect(bad.json().error.message).toContain("groups[0]");
    const huge = await call(api, "PUT", "/hotpatch/fleet", { body: { ...SPEC, processes: 2, groups: [{ region: "eastus", count: 5001 }] } });
    expect([huge.status, huge.json().error.message]).toEqual([400, expect.stringContaining("10002 guest processes (5001 VMs × 2)")]);
    expect((await call(api, "GET", "/hotpatch/fleet")).json().error.code).toBe("FleetNotFound");

    const created = await call(api, "PUT", "/hotpatch/fleet", { body: SPEC });
    expect(created.status).toBe(201);
    expect(created.json()).toEqual({ vms: 8, regions: ["eastus", "westus"] });
    const again = await call(api, "PUT", "/hotpatch/fleet", { body: SPEC });
    expect(again.status).toBe(409);
    expect(again.json().error.code).toBe("FleetExists");

    const set = (await call(api, "GET", `/subscriptions/${SUB}/resourceGroups/fleet-eastus/providers/Microsoft.Compute/availabilitySets/web?${API}`)).json();
    expect(set.properties).toMatchObject({ platformUpdateDomainCount: 3, platformFaultDomainCount: 2 });
    expect(set.properties.virtualMachines).toHaveLength(4);
    const web4 = (await call(api, "GET", `/subscriptions/${SUB}/resourceGroups/fleet-eastus/providers/Microsoft.Compute/virtualMachines/web-4/instanceView?${API}`)).json();
    expect(web4).toMatchObject({ platformUpdateDomain: 0, platformFaultDomain: 1 }); // VM 3 (from 0): 3 mod 3, 3 mod 2
    const zoned = (await call(api, "GET", `/subscriptions/${SUB}/resourceGroups/fleet-eastus/providers/Microsoft.Compute/virtualMachines/eastus-1?${API}`)).json();
    expect(zoned).toMatchObject({ location: "eastus", zones: ["1"] });
    const west = (await call(api, "GET", `/subscriptions/${SUB}/resourceGroups/fleet-westus/providers/Microsoft.Compute/virtualMachines?${API}`)).json();
    expect(west.value.map((v: { name: string }) => v.name)).toEqual(["westus-1", "westus-2"]);
  });

  it("runs every fleet VM's processes in the server", async () => {
    for (;;) {
      const fleet = (await call(api, "GET", "/hotpatch/fleet")).json();
      expect(fleet.vms.every((v: { bootError: string | null }) => v.bootError === null)).toBe(true);
      if (fleet.vms.every((v: { running: boolean }) => v.running)) {
        expect(fleet).toMatchObject({ image: CORE, window: "22:00-06:00", regions: { eastus: 6, westus: 2 }, rollouts: [] });
        expect(fleet.vms.every((v: { osMonth: string }) => v.osMonth === "2026-01")).toBe(true);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("refuses rollouts it cannot run, with the reason", async () => {
    const late = await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2025-12" } });
    expect(late.status).toBe(400);
    expect(late.json().error.message).toMatch(/had to end by 2026-01-08.*30 days/);
    const installed = await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-01", defectiveRelease: "trap" } });
    expect(installed.status).toBe(409);
    expect(installed.json().error).toMatchObject({ code: "ReleaseAlreadyInstalled", target: "defectiveRelease" });
    for (const name of ["slow", "constructor", "__proto__"]) {
      const kind = await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-02", defectiveRelease: name } });
      expect(kind.json().error, name).toMatchObject({ code: "InvalidParameter", target: "defectiveRelease" });
    }
    const month = await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-13" } });
    expect(month.json().error.code).toBe("InvalidParameter");
    expect((await call(api, "GET", "/hotpatch/fleet/rollouts/2026-02")).json().error.code).toBe("RolloutNotFound");
  });

  it("halts a defective release after its first batch; resume halts again; stop ends it", async () => {
    const asked = await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-02", defectiveRelease: "trap" } });
    expect(asked.status).toBe(202);
    expect(asked.headers.location).toBe(`${api.url}/hotpatch/fleet/rollouts/2026-02`);
    expect(asked.json()).toMatchObject({ status: "Running", release: "2026-02", halted: false });
    expect((await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-02" } })).json().error.code).toBe("RolloutExists");

    const first = await settled("2026-02");
    expect(first).toMatchObject({ status: "Halted", halted: true });
    expect(first.haltReason).toMatch(/ended unhealthy after installing KB/);
    const batches = first.phases.flatMap((p) => p.batches).filter((b) => b.outcome !== "NotStarted");
    expect(batches).toHaveLength(1);
    expect(batches[0].outcome).toBe("Unhealthy");
    expect(count(first, "NotStarted")).toBe(8 - batches[0].vms.length);
    const fleet = (await call(api, "GET", "/hotpatch/fleet")).json();
    for (const name of batches[0].vms) expect(fleet.vms.find((v: { name: string }) => v.name === name).osMonth).toBe("2026-02"); // kept: no automatic rollback
    expect(fleet.rollouts).toEqual([{ release: "2026-02", status: "Halted", haltReason: first.haltReason, succeeded: 0, unhealthy: batches[0].vms.length, notStarted: 8 - batches[0].vms.length }]);
    const rounds = server.context.events.since(0).filter((e) => e.type === "fleet.round");
    expect(rounds.map((e) => e.data.batches)).toEqual([[{ region: batches[0].region, unit: batches[0].unit, vms: batches[0].vms.length, outcome: "Unhealthy", startedAt: batches[0].startedAt, endedAt: batches[0].endedAt }]]);
    expect(server.context.events.since(0).filter((e) => e.type === "fleet.rollout").map((e) => e.data.status)).toEqual(["Running", "Halted"]);
    expect(server.context.events.since(0).filter((e) => e.type === "installation" && e.data.trigger === "fleet")).toHaveLength(batches[0].vms.length);

    // A member deleted while the rollout is halted: the resumed run skips it (NotStarted), over the fleet it started with.
    expect((await call(api, "DELETE", `/subscriptions/${SUB}/resourceGroups/fleet-eastus/providers/Microsoft.Compute/virtualMachines/eastus-2?${API}`)).status).toBe(200);
    const resumed = await call(api, "POST", "/hotpatch/fleet/rollouts/2026-02/resume");
    expect(resumed.status).toBe(202);
    expect(resumed.json()).toMatchObject({ status: "Running", halted: false, haltReason: null });
    const second = await settled("2026-02");
    expect(second.status).toBe("Halted"); // still defective: the next batch ends unhealthy too
    expect(second.phases.flatMap((p) => p.batches).filter((b) => b.outcome !== "NotStarted")).toHaveLength(2);
    expect(second.vms.find((v) => v.name === "eastus-2")?.outcome).toBe("NotStarted");

    const stopped = await call(api, "POST", "/hotpatch/fleet/rollouts/2026-02/stop");
    expect(stopped.json()).toMatchObject({ status: "Stopped" });
    const again = await call(api, "POST", "/hotpatch/fleet/rollouts/2026-02/resume");
    expect(again.status).toBe(409);
    expect(again.json().error.code).toBe("RolloutNotHalted");
  });

  it("halts a rollout when the server stops, records a killed server's as Halted, and resumes both to the end", async () => {
    expect((await call(api, "POST", "/hotpatch/fleet/rollouts", { body: { release: "2026-03" } })).status).toBe(202);
    await server.close(); // it halts before its next round (the first may have begun already)
    const store = Store.open(statePath);
    const session = new Session(store);
    const halted = storedRollout(session, "2026-03")!;
    expect(halted).toMatchObject({ status: "Halted", report: { haltReason: SERVER_STOPPED } });
    storeRollout(session, halted.report, "Running"); // what a server killed during a round leaves behind
    store.close();

    await start();
    const repaired = (await call(api, "GET", "/hotpatch/fleet/rollouts/2026-03")).json();
    expect(repaired).toMatchObject({ status: "Halted", haltReason: SERVER_KILLED });
    expect(recordedDefects(server.context.store)).toEqual({ "2026-02": "traps" }); // the defect survives the restart
    await server.liveVmsBooted;
    expect((await call(api, "POST", "/hotpatch/fleet/rollouts/2026-03/resume")).status).toBe(202);
    const done = await settled("2026-03");
    expect(done).toMatchObject({ status: "Completed", halted: false, haltReason: null });
    expect(count(done, "Succeeded")).toBe(7); // every VM left (eastus-2 was deleted); the sound cumulative hotpatch replaces the defective one too
    const fleet = (await call(api, "GET", "/hotpatch/fleet")).json();
    expect(fleet.vms.every((v: { osMonth: string; running: boolean }) => v.osMonth === "2026-03" && v.running)).toBe(true);
  });
});
