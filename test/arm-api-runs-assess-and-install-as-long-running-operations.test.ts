import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComputeManagementClient } from "@azure/arm-compute";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVm, deleteVm, type InstallResult, Store } from "../engine/manage/index.ts";
import { mintToken } from "../engine/serve/auth.ts";
import type { ServerEvent } from "../engine/serve/events.ts";
import { patchIdOf } from "../engine/serve/patch-results.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call as callServer } from "./serve-helpers.ts";

const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const API = "api-version=2026-03-01";
const VM_PATH = (vm: string, group = "hotpatch") => `/subscriptions/${SUB}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${vm}`;
const credential = { getToken: async () => ({ token: mintToken(new Date()), expiresOnTimestamp: Date.now() + 3600_000 }) };
const POLL = { updateIntervalInMs: 20 };

let dir: string;
let server: RunningServer;
let ca: string;
let client: ComputeManagementClient;
const events: ServerEvent[] = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One HTTPS request (test/serve-helpers.ts), its body parsed. */
async function call(method: string, path: string, options: { body?: unknown; token?: string | null } = {}): Promise<Answer> {
  const answer = await callServer({ url: server.url, ca }, method, path, options);
  return { status: answer.status, headers: answer.headers, body: answer.body === "" ? undefined : answer.json() };
}

const errorOf = (a: Answer) => (a.body as { error: { code: string; message: string; target?: string } }).error;

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 2000; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-lro-"));
  const statePath = join(dir, "state.db");
  const store = Store.open(statePath);
  // Created after the January 2026 baseline; on 2026-02-20 the February hotpatch is offered.
  createVm(store, { name: "vm1", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  createVm(store, { name: "vm2", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  store.close();
  server = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
  server.context.events.subscribe((e) => events.push(e));
  ca = readFileSync(server.certPath, "utf8");
  client = new ComputeManagementClient(credential, SUB, { endpoint: server.url, tlsOptions: { ca } });
}, 30_000);

afterAll(async () => {
  await server?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("assessPatches and installPatches as ARM long-running operations", () => {
  it("refuses requests without api-version, token, VM or a valid body", async () => {
    const install = { maximumDuration: "PT2H", rebootSetting: "IfRequired" };
    const missing = await call("POST", `${VM_PATH("vm1")}/installPatches`, { body: install });
    expect([missing.status, errorOf(missing).code]).toEqual([400, "MissingApiVersionParameter"]);
    const anonymous = await call("POST", `${VM_PATH("vm1")}/assessPatches?${API}`, { token: null });
    expect([anonymous.status, errorOf(anonymous).code]).toEqual([401, "AuthenticationFailed"]);
    const expired = await call("POST", `${VM_PATH("vm1")}/assessPatches?${API}`, { token: mintToken(new Date(Date.now() - 7200_000), 60) });
    expect([expired.status, errorOf(expired).code]).toEqual([401, "InvalidAuthenticationToken"]);
    const noVm = await call("POST", `${VM_PATH("nope")}/assessPatches?${API}`);
    expect([noVm.status, errorOf(noVm).code]).toEqual([404, "ResourceNotFound"]);
    const noProcesses = await call("GET", "/hotpatch/vms/nope/processes");
    expect([noProcesses.status, errorOf(noProcesses).code]).toEqual([404, "ResourceNotFound"]);
    const noGroup = await call("POST", `${VM_PATH("vm1", "elsewhere")}/installPatches?${API}`, { body: install });
    expect([noGroup.status, errorOf(noGroup).code]).toEqual([404, "ResourceGroupNotFound"]);
    const bad: [unknown, string][] = [
      [{ maximumDuration: 5, rebootSetting: "IfRequired" }, "maximumDuration"],
      [{ maximumDuration: "two hours", rebootSetting: "IfRequired" }, "maximumDuration"],
      [{ maximumDuration: "PT2H" }, "rebootSetting"],
      [{ maximumDuration: "PT2H", rebootSetting: "Sometimes" }, "rebootSetting"],
      [{ ...install, windowsParameters: { classificationsToInclude: "Critical" } }, "windowsParameters.classificationsToInclude"],
      [{ ...install, windowsParameters: { classificationsToInclude: ["Critical", "Urgent"] } }, "windowsParameters.classificationsToInclude[1]"],
      [{ ...install, windowsParameters: { kbNumbersToInclude: ["KB9999999"] } }, "windowsParameters.kbNumbersToInclude[0]"],
      [{ ...install, windowsParameters: { excludeKbsRequiringReboot: "yes" } }, "windowsParameters.excludeKbsRequiringReboot"],
      [{ ...install, windowsParameters: { maxPatchPublishDate: "last week" } }, "windowsParameters.maxPatchPublishDate"],
    ];
    for (const [body, target] of bad) {
      const answer = await call("POST", `${VM_PATH("vm1")}/installPatches?${API}`, { body });
      expect({ status: answer.status, code: errorOf(answer).code, target: errorOf(answer).target }).toEqual({ status: 400, code: "InvalidParameter", target });
    }
    expect(server.context.store.resources("operation")).toEqual([]);
  });

  it("answers 202 with the status and monitor URLs, and the status carries the output", async () => {
    const answer = await call("POST", `${VM_PATH("vm1")}/assessPatches?${API}`);
    expect(answer.status).toBe(202);
    expect(answer.body).toBeUndefined();
    const asyncOp = String(answer.headers["azure-asyncoperation"]);
    const location = String(answer.headers.location);
    const id = /operations\/([0-9a-f-]+)\?/.exec(asyncOp)?.[1] as string;
    expect(asyncOp).toBe(`${server.url}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/eastus/operations/${id}?${API}`);
    expect(location).toBe(`${server.url}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/eastus/operations/${id}?monitor=true&${API}`);
    expect(answer.headers["retry-after"]).toBe("0");
    const done = await until(async () => {
      const s = await call("GET", asyncOp);
      return (s.body as { status: string }).status === "InProgress" ? undefined : s;
    }, "the assessment");
    const status = done.body as Record<string, unknown> & { properties: { output: Record<string, unknown> } };
    expect(done.status).toBe(200);
    expect(status).toMatchObject({ name: id, status: "Succeeded", startTime: "2026-02-20T12:00:00.000Z", endTime: expect.any(String) });
    const monitor = await call("GET", location);
    expect(monitor.status).toBe(200);
    expect(monitor.body).toEqual(status.properties.output);
    expect(status.properties.output).toMatchObject({ status: "Succeeded", error: null, rebootPending: false });
    expect(events.some((e) => e.type === "assessment" && e.data.operationId === id)).toBe(true);
  });

  let assessed: Awaited<ReturnType<ComputeManagementClient["virtualMachines"]["assessPatches"]>>;
  it("assessPatches through the SDK returns every field", async () => {
    assessed = await client.virtualMachines.assessPatches("hotpatch", "vm1", POLL);
    expect(assessed).toMatchObject({ status: "Succeeded", rebootPending: false, assessmentActivityId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(assessed.startDateTime?.toISOString()).toBe("2026-02-20T12:00:00.000Z");
    expect(assessed.criticalAndSecurityPatchCount).toBeGreaterThanOrEqual(1);
    const patches = assessed.availablePatches ?? [];
    expect(patches.length).toBe((assessed.criticalAndSecurityPatchCount ?? 0) + (assessed.otherPatchCount ?? 0));
    const hot = patches.find((p) => p.rebootBehavior === "NeverReboots");
    expect(hot).toMatchObject({
      patchId: patchIdOf(hot?.kbId ?? ""),
      name: expect.any(String),
      version: expect.stringMatching(/^\d+\.\d+$/),
      kbId: expect.stringMatching(/^KB\d+$/),
      classifications: ["Security"],
      activityId: assessed.assessmentActivityId,
      assessmentState: "Available",
    });
    expect(hot?.publishedDate?.toISOString()).toBe("2026-02-10T18:00:00.000Z");
    expect(hot?.lastModifiedDateTime).toEqual(hot?.publishedDate);
  });

  let installed: Awaited<ReturnType<ComputeManagementClient["virtualMachines"]["installPatches"]>>;
  it("installPatches through the SDK applies the hotpatch live and excludes reboot-requiring KBs", async () => {
    await server.liveVmsBooted;
    const requestsOf = async () => {
      const view = await call("GET", "/hotpatch/vms/vm1/processes");
      expect(view.status).toBe(200);
      return view.body as { running: boolean; load: { served: number }; processes: { buildId: string; requests: number; patches: { id: string }[]; slots: { function: string; runs: string; stack: string[] }[] }[] };
    };
    const first = await requestsOf();
    expect(first.running).toBe(true);
    // The load keeps running between requests: more load served than at the first look (a look's own STATS request is not load).
    const climbing = await until(async () => {
      const now = await requestsOf();
      return now.load.served > first.load.served && now.processes[0].requests > first.processes[0].requests + 1 ? now : undefined;
    }, "the live load to serve more requests");
    installed = await client.virtualMachines.installPatches(
      "hotpatch",
      "vm1",
      {
        maximumDuration: "PT2H",
        rebootSetting: "IfRequired",
        windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: true },
      },
      POLL,
    );
    expect(installed).toMatchObject({ status: "Succeeded", rebootStatus: "NotNeeded", maintenanceWindowExceeded: false, failedPatchCount: 0, pendingPatchCount: 0 });
    expect(installed.installedPatchCount).toBeGreaterThanOrEqual(1);
    const hot = (assessed.availablePatches ?? []).find((p) => p.rebootBehavior === "NeverReboots");
    const patch = installed.patches?.find((p) => p.kbId === hot?.kbId);
    expect(patch).toMatchObject({ patchId: hot?.patchId, installationState: "Installed", classifications: ["Security"], version: hot?.version });
    const needReboot = (assessed.availablePatches ?? []).filter((a) => a.rebootBehavior === "AlwaysRequiresReboot");
    expect(installed.excludedPatchCount).toBe(needReboot.length);
    for (const p of needReboot) {
      expect(installed.patches?.find((i) => i.kbId === p.kbId)?.installationState).toBe("Excluded");
    }
    // The hotpatch went into the processes that were running: same build, counters continued, its code in a slot.
    const after = await requestsOf();
    expect(after.processes[0].buildId).toBe(climbing.processes[0].buildId);
    expect(after.processes[0].requests).toBeGreaterThan(climbing.processes[0].requests);
    expect(after.processes[0].patches.map((p) => p.id)).toContain(hot?.kbId);
    const patchedSlot = after.processes[0].slots.find((slot) => slot.runs === hot?.kbId);
    expect([patchedSlot?.stack[0], patchedSlot?.stack.at(-1)]).toEqual(["image", hot?.kbId]);
    const applied = events.filter((e) => e.type === "hotpatch.applied" && e.data.kbId === hot?.kbId);
    expect(applied).toHaveLength(1);
    expect(applied[0].data.applyMicros).toBeGreaterThan(0);
    expect(events.find((e) => e.type === "installation" && e.data.installationActivityId === installed.installationActivityId)?.data).toMatchObject({
      status: "Succeeded",
      installedPatchCount: installed.installedPatchCount,
    });
  }, 45_000);

  it("refuses a second operation of a kind with 409 and reports a failed operation", async () => {
    const { context } = server;
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    // Holds the queue, then removes vm2 so that the operations queued behind it fail.
    const held = context.serial.run(async () => {
      await gate;
      context.store.tx(() => deleteVm(context.store, "vm2"));
    });
    const sdkAssess = client.virtualMachines.assessPatches("hotpatch", "vm2", POLL);
    const assessFailure = Promise.resolve(sdkAssess).then(
      () => undefined,
      (e: Error) => e,
    );
    const assessOp = await until(() => context.operations.busy("vm2", "assessPatches"), "the queued assessment");
    const again = await call("POST", `${VM_PATH("vm2")}/assessPatches?${API}`);
    expect([again.status, errorOf(again).code]).toEqual([409, "Conflict"]);
    expect(errorOf(again).message).toContain("vm2");
    expect(errorOf(again).message).toContain(assessOp.id);
    const body = { maximumDuration: "PT1H", rebootSetting: "NeverReboot" };
    const first = await call("POST", `${VM_PATH("vm2")}/installPatches?${API}`, { body });
    expect(first.status).toBe(202);
    const installOp = context.operations.busy("vm2", "installPatches");
    const second = await call("POST", `${VM_PATH("vm2")}/installPatches?${API}`, { body });
    expect([second.status, errorOf(second).code]).toEqual([409, "Conflict"]);
    expect(errorOf(second).message).toContain(`'vm2'`);
    expect(errorOf(second).message).toContain(installOp?.id);
    release();
    await held;
    const failure = await assessFailure;
    expect(failure?.message).toContain("ResourceNotFound");
    const statusUrl = String(first.headers["azure-asyncoperation"]);
    const status = await until(async () => {
      const s = await call("GET", statusUrl);
      return (s.body as { status: string }).status === "InProgress" ? undefined : s;
    }, "the failed install");
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: "Failed", error: { code: "ResourceNotFound" }, endTime: expect.any(String) });
    expect((status.body as Record<string, unknown>).properties).toBeUndefined();
    const monitor = await call("GET", String(first.headers.location));
    expect([monitor.status, errorOf(monitor).code]).toEqual([404, "ResourceNotFound"]);
  });

  it("the state file agrees with the install's result", async () => {
    await server.close();
    const store = Store.open(join(dir, "state.db"));
    try {
      const runs = store.activities<InstallResult>("vm1", "Installation");
      const run = runs.find((r) => r.activityId === installed.installationActivityId);
      expect(run).toMatchObject({
        status: installed.status,
        installedPatchCount: installed.installedPatchCount,
        excludedPatchCount: installed.excludedPatchCount,
        notSelectedPatchCount: installed.notSelectedPatchCount,
        rebootStatus: installed.rebootStatus,
      });
      expect(run?.patches.map((p) => [p.kb, p.state])).toEqual(installed.patches?.map((p) => [p.kbId, p.installationState]));
      const ops = store.resources<{ kind: string; status: string }>("operation");
      expect(ops.filter((o) => o.status === "InProgress")).toEqual([]);
    } finally {
      store.close();
    }
  });
});
