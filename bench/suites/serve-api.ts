/**
 * Suite 10 — `hotpatch serve` with a fleet of live VMs.
 *
 * A state with N VMs (Windows Server 2022 Azure Edition Core, hotpatch on,
 * created after the January 2026 baseline) is served by a real server in
 * this process (HTTPS on loopback, the same code `hotpatch serve` runs). Once
 * every VM's processes have booted and serve their load:
 * - memory per VM: the VM pool's worker threads hold every VM's processes
 *   (engine/vms/pool.ts); their isolates' JS heap and external memory
 *   (WebAssembly memories included) after every VM booted, after a full
 *   collection in each, divided by N; and the growth of the OS process's
 *   resident set (all threads) from before the server starts, divided by N.
 *   A warm-up server over the first VM alone ran before, so the catalog's
 *   one-time builds are not counted;
 * - `GET …/instanceView` latency, requests one after another over one
 *   keep-alive connection, round-robin over the VMs;
 * - `POST …/assessPatches` end to end: from the POST to the operation status
 *   reading Succeeded, polling the status URL as fast as it answers
 *   (Retry-After 0), one VM after another;
 * - `installPatches` through the official SDK (@azure/arm-compute,
 *   beginInstallPatchesAndWait, polling at once) on the first VMs, each
 *   installing the February hotpatch live into its running processes: the
 *   SDK call end to end, and inside it the live apply (verify, compile,
 *   switch) and the switch alone, as the server's hotpatch.applied events
 *   report them.
 * The client runs in the same OS process as the server (2 cores): each
 * latency includes the client's TLS and JSON work.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { ComputeManagementClient } from "@azure/arm-compute";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVm, Store } from "../../engine/manage/index.ts";
import { mintToken, startServer } from "../../engine/serve/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { collectGarbage } from "../lib/gc.ts";
import { type Distribution, roundTo, summarize } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const FULL_VMS = 50;
const QUICK_VMS = 10;
const FULL_INSTALLS = 20;
const QUICK_INSTALLS = 3;
const FULL_GETS = 2000;
const QUICK_GETS = 200;
const SUB = "00000000-0000-0000-0000-000000000000";
const API = "api-version=2026-03-01";
const IMAGE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const vmPath = (name: string) => `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/${name}`;

interface Client {
  call(method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }>;
  close(): void;
}

function clientOf(url: string, ca: string): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const token = mintToken(new Date());
  return {
    call: (method, path) =>
      new Promise((resolve, reject) => {
        const req = request(new URL(path, url), { method, agent, headers: { authorization: `Bearer ${token}`, "content-length": 0 } }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end();
      }),
    close: () => agent.destroy(),
  };
}

async function timed(client: Client, method: string, path: string, expected: number): Promise<number> {
  const started = process.hrtime.bigint();
  const answer = await client.call(method, path);
  const nanos = Number(process.hrtime.bigint() - started);
  if (answer.status !== expected) throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 200)}`);
  return nanos;
}

/** POST assessPatches, then poll its status URL until it ends; nanoseconds from the POST to Succeeded. */
async function assessEndToEnd(client: Client, vm: string): Promise<number> {
  const started = process.hrtime.bigint();
  const accepted = await client.call("POST", `${vmPath(vm)}/assessPatches?${API}`);
  const statusUrl = accepted.headers["azure-asyncoperation"];
  if (accepted.status !== 202 || typeof statusUrl !== "string") throw new Error(`assessPatches on ${vm}: ${accepted.status} ${accepted.body.slice(0, 200)}`);
  for (;;) {
    const status = JSON.parse((await client.call("GET", new URL(statusUrl).pathname + new URL(statusUrl).search)).body) as { status: string };
    if (status.status === "Succeeded") return Number(process.hrtime.bigint() - started);
    if (status.status !== "InProgress") throw new Error(`assessPatches on ${vm} ended ${status.status}`);
  }
}

/** installPatches of the month's hotpatch through the SDK on each VM; nanoseconds per call. */
async function sdkInstalls(url: string, ca: string, names: readonly string[]): Promise<number[]> {
  const credential = { getToken: async () => ({ token: mintToken(new Date()), expiresOnTimestamp: Date.now() + 3600_000 }) };
  const compute = new ComputeManagementClient(credential, SUB, { endpoint: url, tlsOptions: { ca } });
  const body = { maximumDuration: "PT2H", rebootSetting: "IfRequired" as const, windowsParameters: { classificationsToInclude: ["Critical" as const, "Security" as const], excludeKbsRequiringReboot: true } };
  const out: number[] = [];
  for (const name of names) {
    const started = process.hrtime.bigint();
    const result = await compute.virtualMachines.installPatches("hotpatch", name, body, { updateIntervalInMs: 0 });
    out.push(Number(process.hrtime.bigint() - started));
    if (result.status !== "Succeeded" || result.installedPatchCount !== 1) throw new Error(`installPatches on ${name}: ${result.status}, ${result.installedPatchCount} installed`);
  }
  return out;
}

function addVms(statePath: string, names: readonly string[]): void {
  const store = Store.open(statePath);
  try {
    for (const name of names) createVm(store, { name, image: IMAGE }, new Date("2026-01-20T12:00:00Z"), []);
  } finally {
    store.close();
  }
}

export const serveApi: Suite = {
  name: "serve-api",
  title: "hotpatch serve with live VMs: memory per VM, instanceView and assessPatches latency",
  async run(context: BenchContext) {
    const vms = context.quick ? QUICK_VMS : FULL_VMS;
    const dir = mkdtempSync(join(tmpdir(), "hotpatch-bench-serve-"));
    const statePath = join(dir, "state.db");
    const names = Array.from({ length: vms }, (_, i) => `vm${String(i + 1).padStart(3, "0")}`);
    // A warm-up server with the first VM only: the catalog's artifacts get built (and the
    // compiler loaded) once, outside the memory measurement.
    addVms(statePath, names.slice(0, 1));
    const warm = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
    await warm.liveVmsBooted;
    await warm.close();
    addVms(statePath, names.slice(1));
    collectGarbage();
    const before = process.memoryUsage();
    const server = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
    const client = clientOf(server.url, readFileSync(server.certPath, "utf8"));
    try {
      await server.liveVmsBooted;
      context.log(`  ${vms} VMs booted and serving`);
      const pool = await server.pool.memory(true);
      collectGarbage();
      const after = process.memoryUsage();
      const gets: number[] = [];
      for (let i = 0; i < (context.quick ? QUICK_GETS : FULL_GETS); i++) gets.push(await timed(client, "GET", `${vmPath(names[i % vms])}/instanceView?${API}`, 200));
      const assessments: number[] = [];
      for (const name of names) assessments.push(await assessEndToEnd(client, name));
      const installed = names.slice(0, context.quick ? QUICK_INSTALLS : FULL_INSTALLS);
      const installs = await sdkInstalls(server.url, readFileSync(server.certPath, "utf8"), installed);
      const applied = server.context.events.since(0).filter((e) => e.type === "hotpatch.applied");
      const micros = (key: string) => applied.map((e) => (e.data[key] as number) * 1000);
      const distributions: Distribution[] = [
        summarize(`GET instanceView (${vms} live VMs)`, gets),
        summarize(`assessPatches, POST to Succeeded (${vms} live VMs)`, assessments, "ms"),
        summarize("SDK installPatches of a hotpatch, call to result", installs, "ms"),
        summarize("  inside it: live apply (verify, compile, prepare, switch), slowest process", micros("applyMicros")),
        summarize("  inside it: the switch alone (commit), slowest process", micros("pauseMicros")),
      ];
      const [get] = distributions;
      return {
        distributions,
        figures: {
          "live VMs": vms,
          "VM pool worker threads": pool.workers,
          "memory per VM: pool workers' JS heap (bytes)": Math.round(pool.heapUsed / vms),
          "memory per VM: pool workers' external, wasm memories included (bytes)": Math.round(pool.external / vms),
          "memory per VM: resident set growth, all threads (bytes)": Math.round((after.rss - before.rss) / vms),
          "memory per VM: main thread's JS heap growth (bytes)": Math.round((after.heapUsed - before.heapUsed) / vms),
          "instanceView p99 / p50": get.p99 === null ? null : roundTo(get.p99 / get.p50),
        },
        targets: [],
        notes: [
          "The server runs in this OS process, its VMs' processes in its VM pool's worker threads (engine/vms/pool.ts), each serving 20 requests per process every 200 ms; the client's TLS and JSON work is inside every latency.",
          "Memory per VM: each VM's processes (their instances and linear memories), loaders and latency rings; each worker's own start-up (its isolate, tsx, the engine's modules) is included, spread over the N VMs.",
          "SDK installPatches: each call posts, then polls the operation until it ends (the SDK's poller, interval 0, Retry-After 0); the install itself runs the management plane's install (records, health check of 200 requests per process) around the live apply.",
        ],
      };
    } finally {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
