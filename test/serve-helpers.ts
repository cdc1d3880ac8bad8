/**
 * Test helpers for `hotpatch serve`: a server as a real child process (for
 * signals and start-up output), and HTTPS requests that trust its
 * self-signed certificate.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:https";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComputeManagementClient } from "@azure/arm-compute";
import { ResourceManagementClient } from "@azure/arm-resources";
import { mintToken } from "../engine/serve/auth.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";

const BIN = fileURLToPath(new URL("../bin/hotpatch.mjs", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  portalLine: string;
  ca: string;
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `hotpatch serve --port 0 …args` and waits for its two URL lines. */
export function spawnServer(args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += String(d);
      const lines = out.split("\n");
      if (lines.length < 3) return;
      const state = args[args.indexOf("--state") + 1];
      const ca = readFileSync(certPathFrom(err) ?? `${state.replace(/[^/]*$/, "")}serve-cert.pem`, "utf8");
      resolve({ child, url: lines[0], portalLine: lines[1], ca, stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`hotpatch serve exited (${code}) before it printed its URLs: ${err}`)));
  });
}

function certPathFrom(stderr: string): string | undefined {
  return /^certificate: (\S+)/m.exec(stderr)?.[1];
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => any;
}

/** One HTTPS request to the server; `token` defaults to a fresh valid one, `null` sends none. */
export function call(server: { url: string; ca: string }, method: string, path: string, options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const token = options.token === undefined ? mintToken(new Date()) : options.token;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(payload === undefined ? {} : { "content-type": "application/json" }), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method, headers, ca: server.ca }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A credential the Azure SDK accepts: any object whose getToken returns a token; this one is the server's own (auth.ts), valid for an hour. */
export const sdkCredential = { getToken: async () => ({ token: mintToken(new Date()), expiresOnTimestamp: Date.now() + 3600_000 }) };

/** The error an SDK call was refused with (its statusCode, code and message); fails when the call succeeded. */
export async function sdkRefusal(promise: PromiseLike<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { statusCode?: number; code?: string; message: string };
  }
  throw new Error("expected a refusal");
}

export interface SdkServer {
  server: RunningServer;
  ca: string;
  /** @azure/arm-compute for `subscription`, pointed at the server. */
  compute: ComputeManagementClient;
  /** @azure/arm-resources for `subscription`, pointed at the server (its generic by-id calls drive any provider). */
  resources: ResourceManagementClient;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/** A `hotpatch serve` in this process over a fresh state at `now`, with resource group `group` of `subscription` made through @azure/arm-resources. */
export async function sdkServer(subscription: string, group: string, now: string): Promise<SdkServer> {
  const dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-sdk-"));
  const server = await startServer({ statePath: join(dir, "state.db"), port: 0, now, retryAfterSeconds: 0 });
  const ca = readFileSync(server.certPath, "utf8");
  const compute = new ComputeManagementClient(sdkCredential, subscription, { endpoint: server.url, tlsOptions: { ca } });
  const resources = new ResourceManagementClient(sdkCredential, subscription, { endpoint: server.url, $host: server.url, tlsOptions: { ca } });
  await resources.resourceGroups.createOrUpdate(group, { location: "eastus" });
  return {
    server,
    ca,
    compute,
    resources,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
