/**
 * Suite 10 — `hotpatch serve` with a fleet of live VMs.
 *
 * A state with N VMs (Windows Server 2022 Azure Edition Core, hotpatch on,
 * created after the January 2026 baseline) is served by a real server in
 * this process (HTTPS on loopback, the same code `hotpatch serve` runs). Once
 * every VM's processes have booted and serve their load:
 * - memory per VM: growth of the resident set, JS heap and external memory
 *   from before the server starts to after every VM booted, divided by N,
 *   after a full collection; a warm-up server over the first VM alone ran
 *   before, so the catalog's one-time builds are not counted;
 * - `GET …/instanceView` latency, requests one after another over one
 *   keep-alive connection, round-robin over the VMs;
 * - `POST …/assessPatches` end to end: from the POST to the operation status
 *   reading Succeeded, polling the status URL as fast as it answers
 *   (Retry-After 0), one VM after another.
 * The client runs in the same OS process as the server (2 cores): each
 * latency includes the client's TLS and JSON work.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
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
      collectGarbage();
      const after = process.memoryUsage();
      const perVm = (key: "rss" | "heapUsed" | "external") => Math.round((after[key] - before[key]) / vms);
      const gets: number[] = [];
      for (let i = 0; i < (context.quick ? QUICK_GETS : FULL_GETS); i++) gets.push(await timed(client, "GET", `${vmPath(names[i % vms])}/instanceView?${API}`, 200));
      const assessments: number[] = [];
      for (const name of names) assessments.push(await assessEndToEnd(client, name));
      const distributions: Distribution[] = [summarize(`GET instanceView (${vms} live VMs)`, gets), summarize(`assessPatches, POST to Succeeded (${vms} live VMs)`, assessments, "ms")];
      const [get] = distributions;
      return {
        distributions,
        figures: {
          "live VMs": vms,
          "memory per VM: resident set (bytes)": perVm("rss"),
          "memory per VM: JS heap (bytes)": perVm("heapUsed"),
          "memory per VM: external, wasm memories included (bytes)": perVm("external"),
          "instanceView p99 / p50": get.p99 === null ? null : roundTo(get.p99 / get.p50),
        },
        targets: [],
        notes: [
          "The server runs in this OS process, its VMs' processes on its main thread (engine/serve/live-vms.ts); the client's TLS and JSON work is inside every latency.",
          "Memory per VM: each VM's processes (their instances and linear memories), loaders and records; the month's image is compiled once and shared by all VMs, and the server's own start-up (fastify, TLS) is included, spread over the N VMs.",
        ],
      };
    } finally {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
