/**
 * The emulator's update endpoints of `hotpatch serve` (routes/emulator-updates.ts)
 * and the events a live VM's changes publish (publish.ts): the catalog and an
 * unplanned baseline declared while the server runs; a hotpatch applied and
 * then uninstalled live in processes that run in the server's VM pool (their
 * boot and counters go on, each switch's pause reported); a baseline that
 * automatic patching installs reboots them (state lost, measured); bad input
 * gets ARM's error bodies and changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVm, Store } from "../engine/manage/index.ts";
import type { ServerEvent } from "../engine/serve/events.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call as callServer } from "./serve-helpers.ts";

const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const API = "api-version=2026-03-01";
const VM_PATH = `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/vm1`;

interface ProcessesView {
  running: boolean;
  processes: { index: number; boot: number; buildId: string; requests: number; patches: { id: string }[]; slots: { runs: string }[] }[];
}

let dir: string;
let server: RunningServer;
let ca: string;
const events: ServerEvent[] = [];

const call = async (method: string, path: string, body?: unknown) => {
  const answer = await callServer({ url: server.url, ca }, method, path, body === undefined ? {} : { body });
  return { status: answer.status, body: answer.body === "" ? undefined : answer.json() };
};
const processes = async () => (await call("GET", "/hotpatch/vms/vm1/processes")).body as ProcessesView;
const eventsOf = (type: string) => events.filter((e) => e.type === type);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-emulator-updates-"));
  const statePath = join(dir, "state.db");
  const store = Store.open(statePath);
  createVm(store, { name: "vm1", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  store.close();
  server = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
  server.context.events.subscribe((e) => events.push(e));
  ca = readFileSync(server.certPath, "utf8");
  await server.liveVmsBooted;
}, 30_000);

afterAll(async () => {
  await server?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function installNow(): Promise<{ status: string; installedPatchCount: number }> {
  const accepted = await callServer({ url: server.url, ca }, "POST", `${VM_PATH}/installPatches?${API}`, {
    body: { maximumDuration: "PT2H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: true } },
  });
  expect(accepted.status).toBe(202);
  const statusUrl = new URL(accepted.headers["azure-asyncoperation"] as string);
  for (;;) {
    const status = (await call("GET", statusUrl.pathname + statusUrl.search)).body as { status: string; properties?: { output: { status: string; installedPatchCount: number } } };
    if (status.status !== "InProgress") return status.properties!.output;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the emulator's update endpoints", () => {
  it("boot the VM in the server's pool of worker threads", async () => {
    const booted = server.context.events.since(0).filter((e) => e.type === "vm.booted");
    expect(booted.map((e) => [e.vm, e.data.processes, e.data.restart])).toEqual([["vm1", 2, false]]);
    const memory = await server.pool.memory();
    expect(memory).toMatchObject({ workers: 1, vms: 1 });
    expect(memory.heapUsed).toBeGreaterThan(0);
    const view = await processes();
    expect(view.running).toBe(true);
    expect(view.processes.map((p) => p.boot)).toEqual([1, 1]);
  });

  it("offer the create form both generations' hotpatch images, each with its verdict", async () => {
    const images = (await call("GET", "/hotpatch/images")).body as { sku: string; hotpatch: { eligible: boolean; defaultBy: string | null } }[];
    const verdict = (sku: string) => images.find((i) => i.sku === sku)?.hotpatch;
    expect(verdict("2025-datacenter-azure-edition-core")).toEqual({ eligible: true, defaultBy: "image", reasons: [] });
    expect(verdict("2025-datacenter-azure-edition")).toMatchObject({ eligible: true, defaultBy: "portal" });
    expect(verdict("2022-datacenter-azure-edition-hotpatch")).toMatchObject({ eligible: true, defaultBy: "portal" });
    expect(verdict("2019-datacenter")).toMatchObject({ eligible: false, defaultBy: null });
    expect(images.filter((i) => i.hotpatch.eligible)).toHaveLength(8);
  });

  it("list the catalog and declare an unplanned baseline while the server runs", async () => {
    const catalog = (await call("GET", "/hotpatch/catalog?from=2026-01&to=2026-06")).body;
    expect(catalog.unplanned).toEqual([]);
    expect(catalog.releases.map((r: { month: string; type: string }) => `${r.month} ${r.type}`)).toEqual([
      "2026-01 baseline",
      "2026-02 hotpatch",
      "2026-03 hotpatch",
      "2026-04 baseline",
      "2026-05 hotpatch",
      "2026-06 hotpatch",
    ]);
    expect(catalog.updates.length).toBeGreaterThanOrEqual(6);
    expect((await call("GET", "/hotpatch/catalog")).body.releases).toHaveLength(12); // the emulated year

    const declared = await call("POST", "/hotpatch/catalog/unplanned", { month: "2026-05" });
    expect(declared).toEqual({ status: 200, body: { unplanned: ["2026-05"] } });
    const after = (await call("GET", "/hotpatch/catalog?from=2026-05&to=2026-05")).body;
    expect(after.releases[0]).toMatchObject({ month: "2026-05", type: "baseline", planned: false });
    expect(eventsOf("catalog.unplanned").at(-1)?.data).toEqual({ month: "2026-05", unplanned: ["2026-05"] });

    for (const [body, code] of [
      [{ month: "2026-01" }, "InvalidParameter"], // already released
      [{ month: "May" }, "InvalidParameter"],
      [{}, "InvalidParameter"],
    ] as const) {
      const refused = await call("POST", "/hotpatch/catalog/unplanned", body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe(code);
    }
    const badRange = await call("GET", "/hotpatch/catalog?from=2026-13");
    expect(badRange.status).toBe(400);
    expect(badRange.body.error.target).toBe("from");
    expect((await call("GET", "/hotpatch/catalog?from=2026-01&to=2026-12")).body.unplanned).toEqual(["2026-05"]);
  });

  let kb: string;
  it("apply a hotpatch live and uninstall it live, each switch's pause reported", async () => {
    const before = await processes();
    const installed = await installNow();
    expect(installed).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });
    const applied = eventsOf("hotpatch.applied").at(-1)!;
    kb = applied.data.kbId as string;
    expect(applied.data.pauseMicros).toBeGreaterThan(0);
    expect(applied.data.pauseMicros).toBeLessThanOrEqual(applied.data.applyMicros as number);
    expect(eventsOf("health").at(-1)?.data).toMatchObject({ status: "Healthy", crashes: 0 });

    const patched = await processes();
    expect(patched.processes.map((p) => p.boot)).toEqual([1, 1]);
    expect(patched.processes[0].patches.map((p) => p.id)).toEqual([kb]);
    expect(patched.processes[0].requests).toBeGreaterThan(before.processes[0].requests);

    const removed = await call("POST", "/hotpatch/vms/vm1/uninstall", { kbId: kb });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ operation: "Uninstall", removed: [kb], live: true, reboot: null, health: { status: "Healthy" } });
    expect(removed.body.revertPauseMicros).toBeGreaterThan(0);
    expect(eventsOf("hotpatch.reverted").at(-1)?.data).toMatchObject({ kbId: kb, pauseMicros: removed.body.revertPauseMicros });
    expect(eventsOf("removal").at(-1)?.data).toMatchObject({ removed: [kb], live: true });

    const reverted = await processes();
    expect(reverted.processes.map((p) => p.boot)).toEqual([1, 1]); // live: no reboot
    expect(reverted.processes[0].requests).toBeGreaterThan(patched.processes[0].requests);
    expect(reverted.processes[0].patches).toEqual([]);
    expect(reverted.processes[0].slots.every((s) => s.runs === "image")).toBe(true);
  }, 45_000);

  it("refuse what cannot be removed, with ARM's error bodies, and change nothing", async () => {
    const again = await call("POST", "/hotpatch/vms/vm1/uninstall", { kbId: kb });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("InvalidParameter");
    expect(again.body.error.message).toContain(kb);
    expect((await call("POST", "/hotpatch/vms/vm1/uninstall", { kb: kb })).status).toBe(400);
    const unknown = await call("POST", "/hotpatch/vms/nope/uninstall", { kbId: kb });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("ResourceNotFound");
    // Its January image is the last known good baseline and nothing is installed after it.
    const rollback = await call("POST", "/hotpatch/vms/vm1/rollback");
    expect(rollback.status).toBe(400);
    expect(rollback.body.error).toMatchObject({ code: "InvalidParameter" });
    expect(rollback.body.error.message).toMatch(/vm1 already runs its last known good baseline/);
    expect((await processes()).processes.map((p) => p.boot)).toEqual([1, 1]);
  });

  it("reboot the processes for a baseline that automatic patching installs: state lost, measured", async () => {
    const before = await processes();
    const advanced = await call("POST", "/hotpatch/clock/advance", { duration: "P60D" });
    expect(advanced.status).toBe(200);
    const reboot = eventsOf("vm.rebooted").at(-1)!;
    expect(reboot.data.trigger).toBe("AutomaticByPlatform");
    expect(reboot.data.downtimeMillis).toBeGreaterThan(0);
    expect((reboot.data.stateLost as { requests: number }).requests).toBeGreaterThan(0);
    const after = await processes();
    expect(after.processes.map((p) => p.boot)).toEqual([2, 2]);
    expect(after.processes[0].buildId).not.toBe(before.processes[0].buildId);
    expect(eventsOf("installation").some((e) => e.data.trigger === "AutomaticByPlatform" && e.data.rebootStatus === "Completed")).toBe(true);
  }, 60_000);
});
