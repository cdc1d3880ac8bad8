/**
 * `hotpatch serve` under a burst of long-running operations: 200 assessPatches
 * and installPatches POSTs (a seeded mix over 20 live VMs) sent at once over
 * real HTTPS. Each one is answered 202 and its operation, polled through its
 * Azure-AsyncOperation URL, ends Succeeded — or it is refused with ARM's 409
 * Conflict naming the VM and the operation of that VM that was still running;
 * never a 5xx or any other status. Afterwards every VM's instance view shows
 * its last install and assessment, and the state file holds each hotpatch the
 * API reported Installed exactly once (installed records, history, runs and
 * operations all agree with what the API answered).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryEntry } from "../engine/manage/history.ts";
import { createVm, type InstallResult, Store } from "../engine/manage/index.ts";
import type { InstalledUpdate } from "../engine/manage/session.ts";
import type { ServerEvent } from "../engine/serve/events.ts";
import type { Operation } from "../engine/serve/operations.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call as callServer, type HttpAnswer } from "./serve-helpers.ts";

const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const API = "api-version=2026-03-01";
const VM_PATH = (vm: string) => `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/${vm}`;
const VMS = Array.from({ length: 20 }, (_, i) => `vm${String(i).padStart(2, "0")}`);
const REQUESTS = 200;
const INSTALL_BODY = {
  maximumDuration: "PT2H",
  rebootSetting: "IfRequired",
  windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: true },
};

type Kind = "assessPatches" | "installPatches";

interface Sent {
  index: number;
  vm: string;
  kind: Kind;
  answer: HttpAnswer;
}

interface Accepted extends Sent {
  opId: string;
  statusUrl: string;
  location: string;
  status?: { status: string; error?: unknown; properties?: { output: Record<string, unknown> } };
}

interface InstallOutput {
  status: string;
  installationActivityId: string;
  maintenanceWindowExceeded: boolean;
  notSelectedPatchCount: number;
  excludedPatchCount: number;
  pendingPatchCount: number;
  installedPatchCount: number;
  failedPatchCount: number;
  patches: { kbId: string; installationState: string }[];
}

let dir: string;
let statePath: string;
let server: RunningServer | undefined;
let ca: string;
const events: ServerEvent[] = [];
const internalErrors: unknown[] = [];

async function stopServer(): Promise<void> {
  const running = server;
  server = undefined;
  await running?.close();
}

const call = (method: string, path: string, options: { body?: unknown } = {}) => callServer({ url: server!.url, ca }, method, path, options);

/** mulberry32: the same mix of requests on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-burst-"));
  statePath = join(dir, "state.db");
  const store = Store.open(statePath);
  // Created after the January 2026 baseline; on 2026-02-20 the February hotpatch (and the .NET rollup) is offered.
  for (const name of VMS) createVm(store, { name, image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  store.close();
  server = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0, onInternalError: (e) => internalErrors.push(e) });
  server.context.events.subscribe((e) => events.push(e));
  ca = readFileSync(server.certPath, "utf8");
  await server.liveVmsBooted;
  expect([...server.context.bootErrors]).toEqual([]);
}, 60_000);

afterAll(async () => {
  await stopServer().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("hotpatch serve under 200 concurrent long-running operations", () => {
  const accepted: Accepted[] = [];
  const refused: Sent[] = [];
  /** Per VM, the results of its Succeeded installs, keyed by operation id. */
  const installs = new Map<string, Map<string, InstallOutput>>();

  it("answers every POST with 202 (then Succeeded) or a 409 Conflict naming the running operation", async () => {
    const random = seeded(20260220);
    const plan = Array.from({ length: REQUESTS }, (_, index) => ({ index, vm: VMS[index % VMS.length], kind: (random() < 0.5 ? "assessPatches" : "installPatches") as Kind }));
    for (const vm of VMS) {
      const kinds = new Set(plan.filter((p) => p.vm === vm).map((p) => p.kind));
      expect([vm, [...kinds].sort()]).toEqual([vm, ["assessPatches", "installPatches"]]); // the seed gives every VM both kinds
    }

    // The burst meets a busy server: a change holds the server's queue until every POST is answered, so
    // the operations they start wait in it (InProgress) and the later POSTs for a VM find them there, however
    // fast this machine runs them (on a loaded machine the burst could otherwise trickle in behind them).
    let release = () => {};
    const held = server!.context.serial.run(() => new Promise<void>((resolve) => (release = resolve)));
    const sent: Sent[] = await Promise.all(
      plan.map(async (p) => ({
        ...p,
        answer: await call("POST", `${VM_PATH(p.vm)}/${p.kind}?${API}`, p.kind === "installPatches" ? { body: INSTALL_BODY } : {}),
      })),
    ).finally(() => release());
    await held;

    for (const s of sent) {
      if (s.answer.status === 202) {
        const statusUrl = String(s.answer.headers["azure-asyncoperation"]);
        const opId = /\/operations\/([0-9a-f-]{36})\?/.exec(statusUrl)?.[1];
        expect(statusUrl).toBe(`${server!.url}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/eastus/operations/${opId}?${API}`);
        expect(s.answer.headers.location).toBe(`${server!.url}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/eastus/operations/${opId}?monitor=true&${API}`);
        accepted.push({ ...s, opId: opId!, statusUrl, location: String(s.answer.headers.location) });
      } else if (s.answer.status === 409) {
        refused.push(s);
      } else {
        expect.fail(`request ${s.index} (${s.kind} on ${s.vm}) got ${s.answer.status}: ${s.answer.body}`);
      }
    }
    expect(new Set(accepted.map((a) => a.opId)).size).toBe(accepted.length);

    // A refusal is ARM's Conflict, naming the VM, the refused kind and an operation that this burst started on the VM.
    const opsById = new Map(accepted.map((a) => [a.opId, a]));
    for (const r of refused) {
      const error = r.answer.json().error as { code: string; message: string };
      expect(error.code).toBe("Conflict");
      expect(error.message).toContain(`virtual machine '${r.vm}'`);
      expect(error.message).toContain(`'${r.kind}'`);
      const named = opsById.get(/\(([0-9a-f-]{36})\)/.exec(error.message)?.[1] ?? "");
      expect(named, `request ${r.index}: ${error.message}`).toBeDefined();
      expect(named?.vm).toBe(r.vm);
      // An install waits for no other install; an assessment for no other operation at all.
      if (r.kind === "installPatches") expect(named?.kind).toBe("installPatches");
      expect(error.message).toContain(`operation '${named?.kind}' (${named?.opId})`);
    }

    // Every accepted operation ends Succeeded; its status is polled through its Azure-AsyncOperation URL.
    let pending = [...accepted];
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 50));
      expect(round, `${pending.length} operations still InProgress`).toBeLessThan(1200);
      const polled = await Promise.all(pending.map(async (a) => ({ a, answer: await call("GET", a.statusUrl) })));
      pending = [];
      for (const { a, answer } of polled) {
        expect(answer.status).toBe(200);
        const status = answer.json();
        expect(status.name).toBe(a.opId);
        if (status.status === "InProgress") pending.push(a);
        else a.status = status;
      }
    }
    for (const a of accepted) {
      expect({ op: a.opId, kind: a.kind, vm: a.vm, status: a.status?.status, error: a.status?.error }).toEqual({ op: a.opId, kind: a.kind, vm: a.vm, status: "Succeeded", error: undefined });
      const output = a.status!.properties!.output;
      expect(output.status).toBe("Succeeded");
      // The monitor (Location) URL gives the same result once it ended.
      const monitor = await call("GET", a.location);
      expect(monitor.status).toBe(200);
      expect(monitor.json()).toEqual(output);
      if (a.kind === "installPatches") {
        const perVm = installs.get(a.vm) ?? new Map<string, InstallOutput>();
        perVm.set(a.opId, output as unknown as InstallOutput);
        installs.set(a.vm, perVm);
      }
    }

    // Both kinds happened: accepted and refused, and every VM got at least one install.
    const count = (list: Sent[], kind: Kind) => list.filter((s) => s.kind === kind).length;
    expect(accepted.length + refused.length).toBe(REQUESTS);
    expect(count(accepted, "installPatches")).toBeGreaterThanOrEqual(VMS.length);
    expect(count(accepted, "assessPatches")).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const vm of VMS) {
      const results = [...(installs.get(vm)?.values() ?? [])];
      expect(results.length, vm).toBeGreaterThanOrEqual(1);
      // The February hotpatch went in once on each VM: exactly one install reports it Installed.
      const installedBy = results.filter((r) => r.patches.some((p) => p.kbId === "KB5260200" && p.installationState === "Installed"));
      expect(installedBy.map((r) => r.installedPatchCount), vm).toEqual([1]);
      for (const r of results) expect(r.failedPatchCount).toBe(0);
    }
    expect(internalErrors).toEqual([]);
  }, 120_000);

  it("every VM's instance view shows its last install and assessment", async () => {
    expect(accepted.length).toBeGreaterThan(0);
    for (const vm of VMS) {
      const answer = await call("GET", `${VM_PATH(vm)}/instanceView?${API}`);
      expect(answer.status).toBe(200);
      const { patchStatus } = answer.json();
      // The last install is the one whose installation event came last (the queue runs them one at a time).
      const lastInstall = events.filter((e) => e.type === "installation" && e.vm === vm).at(-1);
      const lastOp = installs.get(vm)?.get(String(lastInstall?.data.operationId));
      expect(lastOp, vm).toBeDefined();
      expect(lastInstall?.data.installationActivityId).toBe(lastOp?.installationActivityId);
      expect(patchStatus.lastPatchInstallationSummary).toMatchObject({
        status: "Succeeded",
        installationActivityId: lastOp?.installationActivityId,
        maintenanceWindowExceeded: lastOp?.maintenanceWindowExceeded,
        notSelectedPatchCount: lastOp?.notSelectedPatchCount,
        excludedPatchCount: lastOp?.excludedPatchCount,
        pendingPatchCount: lastOp?.pendingPatchCount,
        installedPatchCount: lastOp?.installedPatchCount,
        failedPatchCount: lastOp?.failedPatchCount,
      });
      const lastAssessment = events.filter((e) => e.type === "assessment" && e.vm === vm).at(-1);
      expect(patchStatus.availablePatchSummary).toMatchObject({ status: "Succeeded", assessmentActivityId: lastAssessment?.data.assessmentActivityId });
    }
  });

  it("the state file agrees with what the API answered", async () => {
    expect(accepted.length).toBeGreaterThan(0);
    await stopServer();
    const store = Store.open(statePath);
    try {
      const ops = store.resources<Operation>("operation");
      expect(ops.filter((o) => o.status !== "Succeeded")).toEqual([]);
      expect(ops.map((o) => o.id).sort()).toEqual(accepted.map((a) => a.opId).sort());
      for (const vm of VMS) {
        const results = [...(installs.get(vm)?.values() ?? [])];
        const reported = results.flatMap((r) => r.patches.filter((p) => p.installationState === "Installed").map((p) => p.kbId));
        // Installed records: each KB the API reported Installed, once; nothing else beside the VM's original image.
        const records = store.installed<InstalledUpdate>(vm).filter((u) => u.preinstalled !== true);
        expect(records.map((u) => u.kb).sort(), vm).toEqual([...reported].sort());
        expect(new Set(reported).size, vm).toBe(reported.length);
        // History: one Succeeded Install entry per installed KB.
        const history = store.history<HistoryEntry>(vm).map((h) => h.doc);
        expect(
          history.filter((h) => h.operation === "Install" && h.result === "Succeeded").map((h) => h.kb),
          vm,
        ).toEqual(reported);
        expect(history.filter((h) => h.result === "InProgress")).toEqual([]);
        // Install runs: one per Succeeded installPatches operation, as the API reported it.
        const runs = store.activities<InstallResult>(vm, "Installation");
        expect(runs.map((r) => r.activityId).sort()).toEqual(results.map((r) => r.installationActivityId).sort());
        for (const r of results) {
          const run = runs.find((x) => x.activityId === r.installationActivityId);
          expect(run).toMatchObject({ status: r.status, installedPatchCount: r.installedPatchCount, excludedPatchCount: r.excludedPatchCount });
          expect(run?.patches.map((p) => [p.kb, p.state === "PendingReboot" ? "Installed" : p.state])).toEqual(r.patches.map((p) => [p.kbId, p.installationState]));
        }
      }
    } finally {
      store.close();
    }
  });
});
