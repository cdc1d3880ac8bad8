/**
 * `hotpatch serve` killed with SIGKILL in the middle of an installPatches
 * operation, then started again on the same state: the killed operation's
 * status URL reads Failed with OperationInterrupted, its install run is
 * closed as Failed, the next server takes the dead server's lock over, the
 * VM's processes boot again with the hotpatch installed before the crash
 * re-applied live (in every process, its KB on top of a slot's stack), and
 * the API works as before (the interrupted hotpatch installs on request);
 * SIGTERM then stops the server with exit 0. Real child processes, real
 * HTTPS, no mocks.
 *
 * How the kill lands mid-install, deterministically: the second server runs
 * with HOTPATCH_FAULT_PLAN arming a `delay` of ten minutes at the fault
 * point `install.apply` (engine/faults/points.ts, docs/fault-injection.md).
 * That point is the statement right after `commitInProgress` in
 * `installUpdates` (engine/manage/install.ts), in the same synchronous step:
 * once the install run is committed InProgress, the server's main thread
 * sleeps in the fault point before any update is applied. The test reads
 * the state file (SQLite, WAL: a committed row is visible to another
 * connection) until it sees that InProgress run, and only then sends
 * SIGKILL, so the kill always falls between "run recorded" and "run
 * finished". (The sleeping server answers no HTTP meanwhile, which is why the
 * signal is read from the state file rather than from the API or the event
 * stream.)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryEntry } from "../engine/manage/history.ts";
import { createVm, type InstallResult, Store } from "../engine/manage/index.ts";
import type { InstalledUpdate } from "../engine/manage/session.ts";
import { lockPathOf } from "../engine/manage/state-lock.ts";
import type { Operation } from "../engine/serve/operations.ts";
import { call, type HttpAnswer, type ServerProcess, spawnServer } from "./serve-helpers.ts";

const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const API = "api-version=2026-03-01";
const VM = "web1";
const VM_PATH = `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/${VM}`;
/** The February 2026 hotpatch (installed before the crash) and March's (the install that is killed). */
const FEBRUARY = "KB5260200";
const MARCH = "KB5260300";
const INSTALL_BODY = { maximumDuration: "PT2H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"] } };
/** Ten minutes asleep at install.apply: far longer than the test needs to see the run and kill the server. */
const HANG_AT_INSTALL = { seed: 1, rules: [{ point: "install.apply", mode: "delay", delayMs: 600_000 }] };

const dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-killed-"));
const state = join(dir, "state.db");
const servers: ServerProcess[] = [];

interface ProcessesView {
  vm: string;
  running: boolean;
  error?: string;
  processes: { index: number; boot: number; patches: { id: string }[]; slots: { slot: number; function: string; runs: string; stack: string[] }[] }[];
}

interface LockFile {
  pid: number;
  url: string;
}

/** Starts `hotpatch serve` on the state (with extra environment variables for the child only); every server is stopped in afterAll. */
async function start(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let starting: Promise<ServerProcess>;
  try {
    starting = spawnServer(["--state", state, ...args]); // the child is spawned (and takes its environment) synchronously
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const server = await starting;
  servers.push(server);
  return server;
}

const running = (s: ServerProcess) => s.child.exitCode === null && s.child.signalCode === null;

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, tries = 1500): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The path and query of an absolute URL another server printed (its port is gone after a restart). */
const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

async function processes(server: ServerProcess): Promise<ProcessesView> {
  const answer = await call(server, "GET", `/hotpatch/vms/${VM}/processes`);
  expect(answer.status).toBe(200);
  return answer.json();
}

/** Polls an operation's status URL until it leaves InProgress. */
async function ended(server: ServerProcess, statusUrl: string): Promise<{ status: string; error?: { code: string; message: string }; properties?: { output: Record<string, unknown> } }> {
  return until(async () => {
    const answer = await call(server, "GET", pathOf(statusUrl));
    expect(answer.status).toBe(200);
    const body = answer.json();
    return body.status === "InProgress" ? undefined : body;
  }, `operation ${statusUrl}`);
}

function readState<T>(read: (store: Store) => T): T {
  const store = Store.open(state);
  try {
    return read(store);
  } finally {
    store.close();
  }
}

/** Every process runs `kb`, with its code on top of the stack of at least one slot. */
function expectRunning(view: ProcessesView, kb: string): void {
  expect(view.running).toBe(true);
  expect(view.error).toBeUndefined();
  expect(view.processes.length).toBeGreaterThanOrEqual(1);
  for (const p of view.processes) {
    expect(p.patches.map((x) => x.id)).toContain(kb);
    const slot = p.slots.find((s) => s.runs === kb);
    expect(slot, `process ${p.index} has a slot running ${kb}`).toBeDefined();
    expect([slot?.stack[0], slot?.stack.at(-1)]).toEqual(["image", kb]);
  }
}

beforeAll(() => {
  const store = Store.open(state);
  // Created after the January 2026 baseline: February's hotpatch is offered from 2026-02-10, March's from 2026-03-10.
  createVm(store, { name: VM, image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  store.close();
});

afterAll(async () => {
  for (const s of servers) {
    if (running(s)) s.child.kill("SIGKILL");
    await s.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("hotpatch serve killed mid-install", () => {
  let killed: ServerProcess;
  let killedOp: { id: string; statusUrl: string; location: string };
  let killedRun: InstallResult;
  let restarted: ServerProcess;

  it("installs February's hotpatch through the API and stops on SIGTERM", async () => {
    const server = await start(["--now", "2026-02-20T12:00:00Z"]);
    try {
      const answer = await call(server, "POST", `${VM_PATH}/installPatches?${API}`, { body: INSTALL_BODY });
      expect(answer.status).toBe(202);
      const status = await ended(server, String(answer.headers["azure-asyncoperation"]));
      expect(status.status).toBe("Succeeded");
      const output = status.properties!.output as { status: string; patches: { kbId: string; installationState: string }[] };
      expect(output.status).toBe("Succeeded");
      expect(output.patches.find((p) => p.kbId === FEBRUARY)?.installationState).toBe("Installed");
      expectRunning(await processes(server), FEBRUARY);
    } finally {
      server.child.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
  }, 90_000);

  it("is SIGKILLed while March's install is recorded InProgress and not finished", async () => {
    killed = await start(["--now", "2026-03-20T12:00:00Z"], { HOTPATCH_FAULT_PLAN: JSON.stringify(HANG_AT_INSTALL) });
    // At boot the server re-applied February's hotpatch; March's is offered.
    expectRunning(await processes(killed), FEBRUARY);
    const answer: HttpAnswer = await call(killed, "POST", `${VM_PATH}/installPatches?${API}`, { body: INSTALL_BODY });
    expect(answer.status).toBe(202);
    const statusUrl = String(answer.headers["azure-asyncoperation"]);
    const id = /\/operations\/([0-9a-f-]{36})\?/.exec(statusUrl)?.[1] as string;
    killedOp = { id, statusUrl, location: String(answer.headers.location) };

    // The run committed InProgress: the server now sleeps at install.apply, inside the install.
    killedRun = await until(
      () => readState((store) => store.activities<InstallResult>(VM, "Installation").find((r) => r.status === "InProgress")),
      "the install run recorded InProgress",
    );
    expect(killedRun.patches.find((p) => p.kb === MARCH)?.state).toBe("Pending");
    readState((store) => {
      expect(store.resource<Operation>("operation", id)).toMatchObject({ kind: "installPatches", vm: VM, status: "InProgress" });
      expect(store.history<HistoryEntry>(VM).filter((h) => h.doc.result === "InProgress").map((h) => h.doc.kb)).toEqual([MARCH]);
    });
    killed.child.kill("SIGKILL");
    expect(await killed.exited).toBeNull();
    expect(killed.child.signalCode).toBe("SIGKILL");
    // Nothing of March's install was recorded as done.
    readState((store) => {
      expect(store.installed<InstalledUpdate>(VM).map((u) => u.kb)).not.toContain(MARCH);
      expect(store.activities<InstallResult>(VM, "Installation").find((r) => r.activityId === killedRun.activityId)?.status).toBe("InProgress");
    });
  }, 90_000);

  it("starts again over the dead server's lock", async () => {
    expect(killedOp).toBeDefined();
    const stale = JSON.parse(readFileSync(lockPathOf(state), "utf8")) as LockFile;
    expect(stale).toMatchObject({ pid: killed.child.pid, url: killed.url });
    restarted = await start([]);
    const lock = JSON.parse(readFileSync(lockPathOf(state), "utf8")) as LockFile;
    expect(lock).toMatchObject({ pid: restarted.child.pid, url: restarted.url });
    expect(lock.pid).not.toBe(stale.pid);
  }, 60_000);

  it("reports the killed operation and its install run as interrupted", async () => {
    expect(restarted).toBeDefined();
    const status = await call(restarted, "GET", pathOf(killedOp.statusUrl));
    expect(status.status).toBe(200);
    const body = status.json();
    expect(body).toMatchObject({ name: killedOp.id, status: "Failed", endTime: expect.any(String), error: { code: "OperationInterrupted" } });
    expect(body.error.message).toContain("interrupted");
    expect(body.error.message).toContain(`'${VM}'`);
    expect(body.properties).toBeUndefined();
    const monitor = await call(restarted, "GET", pathOf(killedOp.location));
    expect(monitor.status).toBe(500);
    expect(monitor.json().error).toEqual(body.error);

    const view = await call(restarted, "GET", `${VM_PATH}/instanceView?${API}`);
    expect(view.status).toBe(200);
    expect(view.json().patchStatus.lastPatchInstallationSummary).toMatchObject({ status: "Failed", installationActivityId: killedRun.activityId, installedPatchCount: 0 });
  });

  it("boots the VM's processes again with the earlier hotpatch re-applied", async () => {
    expect(restarted).toBeDefined();
    const view = await processes(restarted);
    expectRunning(view, FEBRUARY);
    for (const p of view.processes) expect(p.patches.map((x) => x.id)).not.toContain(MARCH);
  });

  it("answers normally: March's hotpatch installs on request, then SIGTERM stops the server with exit 0", async () => {
    expect(restarted).toBeDefined();
    const clock = await call(restarted, "GET", "/hotpatch/clock");
    expect(clock.status).toBe(200);
    const answer = await call(restarted, "POST", `${VM_PATH}/installPatches?${API}`, { body: INSTALL_BODY });
    expect(answer.status).toBe(202);
    const status = await ended(restarted, String(answer.headers["azure-asyncoperation"]));
    expect(status.status).toBe("Succeeded");
    const output = status.properties!.output as { status: string; installedPatchCount: number; patches: { kbId: string; installationState: string }[] };
    expect(output).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });
    expect(output.patches.find((p) => p.kbId === MARCH)?.installationState).toBe("Installed");
    expectRunning(await processes(restarted), MARCH);

    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).toBe(0);
    expect(() => readFileSync(lockPathOf(state))).toThrow(/ENOENT/);
  }, 90_000);

  it("leaves a state file with each hotpatch installed once and nothing InProgress", () => {
    expect(restarted?.child.exitCode).toBe(0);
    readState((store) => {
      const installed = store.installed<InstalledUpdate>(VM).filter((u) => u.preinstalled !== true);
      expect(installed.map((u) => u.kb)).toEqual([FEBRUARY, MARCH]);
      const runs = store.activities<InstallResult>(VM, "Installation");
      expect(runs.map((r) => r.status)).toEqual(["Succeeded", "Failed", "Succeeded"]);
      expect(runs[1]).toMatchObject({ activityId: killedRun.activityId, error: expect.stringContaining("interrupted") });
      const history = store.history<HistoryEntry>(VM).map((h) => [h.doc.kb, h.doc.result]);
      expect(history).toEqual([
        [FEBRUARY, "Succeeded"],
        [MARCH, "Failed"],
        [MARCH, "Succeeded"],
      ]);
      const ops = store.resources<Operation>("operation");
      expect(ops.filter((o) => o.status === "InProgress")).toEqual([]);
      expect(ops.find((o) => o.id === killedOp.id)).toMatchObject({ status: "Failed", error: { code: "OperationInterrupted" } });
    });
  });
});
