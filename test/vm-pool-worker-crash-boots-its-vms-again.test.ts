/**
 * A crash of a VM pool worker thread under `hotpatch serve` (fault point
 * vm-pool.load, mode crash: the thread exits while its VMs serve load): the
 * server publishes `vm.crashed` for each VM it held, boots them again in a
 * new worker — their installed hotpatch re-applied — and publishes
 * `vm.booted` with `restart: true`; the API keeps answering.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { createVm, Store } from "../engine/manage/index.ts";
import { startServer } from "../engine/serve/server.ts";
import { call } from "./serve-helpers.ts";

const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const API = "api-version=2026-03-01";
const dir = mkdtempSync(join(tmpdir(), "hotpatch-pool-crash-"));
const statePath = join(dir, "state.db");
afterAll(() => {
  faults.disarm();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a VM pool worker that crashes", () => {
  it("has its VMs booted again with their hotpatches, each crash and restart published", async () => {
    const store = Store.open(statePath);
    createVm(store, { name: "vm1", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
    store.close();
    // First server: install the February hotpatch through the API, then stop.
    const first = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
    const target = { url: first.url, ca: readFileSync(first.certPath, "utf8") };
    const body = { maximumDuration: "PT2H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Security"], excludeKbsRequiringReboot: true } };
    const accepted = await call(target, "POST", `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/vm1/installPatches?${API}`, { body });
    expect(accepted.status).toBe(202);
    const statusUrl = new URL(accepted.headers["azure-asyncoperation"] as string);
    const output = await until(async () => {
      const status = (await call(target, "GET", statusUrl.pathname + statusUrl.search)).json();
      return status.status === "InProgress" ? undefined : status.properties.output;
    }, "the install to end");
    expect(output).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });
    const kb = (output.patches as { kbId: string; installationState: string }[]).find((p) => p.installationState === "Installed")!.kbId;
    await first.close();

    // Second server, with the third load round of any pool worker crashing it.
    faults.arm({ seed: 1, rules: [{ point: "vm-pool.load", mode: "crash", nth: 3 }] });
    const server = await startServer({ statePath, port: 0 });
    try {
      const second = { url: server.url, ca: readFileSync(server.certPath, "utf8") };
      await server.liveVmsBooted;
      const events = () => server.context.events.since(0);
      const restarted = await until(async () => events().find((e) => e.type === "vm.booted" && e.data.restart === true), "the VM to boot again");
      const crashed = events().find((e) => e.type === "vm.crashed");
      expect(crashed).toMatchObject({ vm: "vm1" });
      expect(crashed!.data.reason).toMatch(/exit code 70/);
      expect(crashed!.id).toBeLessThan(restarted.id);
      expect(events().filter((e) => e.type === "vm.booted").map((e) => [e.vm, e.data.restart])).toEqual([
        ["vm1", false],
        ["vm1", true],
      ]);
      expect(faults.report()[0]).toMatchObject({ point: "vm-pool.load", fires: 1 });
      // The new worker serves the VM: its hotpatch re-applied, its load running.
      const view = (await call(second, "GET", "/hotpatch/vms/vm1/processes")).json();
      expect(view.running).toBe(true);
      expect(view.error).toBeUndefined();
      for (const p of view.processes) expect(p.patches.map((x: { id: string }) => x.id)).toEqual([kb]);
      expect((await server.pool.memory()).vms).toBe(1);
      const vm = await call(second, "GET", `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/vm1/instanceView?${API}`);
      expect(vm.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("is restarted at most 3 times a minute: a VM whose worker dies on every round is left stopped, the reason kept", async () => {
    faults.disarm();
    const path = join(dir, "looping.db");
    const store = Store.open(path);
    createVm(store, { name: "loop1", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
    store.close();
    faults.arm({ seed: 1, rules: [{ point: "vm-pool.load", mode: "crash", nth: 1, times: 0 }] });
    const server = await startServer({ statePath: path, port: 0, now: "2026-02-20T12:00:00Z" });
    try {
      await server.liveVmsBooted;
      const reason = await until(async () => server.context.bootErrors.get("loop1"), "the VM to be left stopped");
      expect(reason).toMatch(/its worker crashed 4 times within 60 s \(last: .*exit code 70\); left stopped/);
      const events = server.context.events.since(0);
      expect(events.filter((e) => e.type === "vm.crashed")).toHaveLength(4);
      expect(events.filter((e) => e.type === "vm.booted").map((e) => e.data.restart)).toEqual([false, true, true, true]);
      await new Promise((r) => setTimeout(r, 600)); // three more load intervals: nothing boots it again
      expect(server.context.events.since(0).filter((e) => e.type === "vm.booted")).toHaveLength(4);
    } finally {
      faults.disarm();
      await server.close();
    }
  }, 60_000);
});
