/**
 * The messages between the control plane (main thread) and a worker process
 * (engine/worker/worker-main.ts). Control messages travel on a dedicated
 * MessagePort that the worker polls with `receiveMessageOnPort` at safe
 * points, after the control plane raised the wake flag (metrics.ts); the
 * worker's own messages arrive on the control plane's event loop.
 */
import type { MessagePort } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import type { ProcessHealth } from "./health-probe.ts";
import type { LinkMap } from "../image/index.ts";
import type { StagedPatch, StallPolicy } from "../loader/index.ts";
import type { LoadSpec } from "../load/index.ts";
import type { ProcessState } from "../process/index.ts";

export interface TransitionSpec {
  timeoutMs: number;
  onStall: StallPolicy;
}

export type ControlMessage =
  | ({ type: "apply"; id: number; staged: WireStaged } & TransitionSpec)
  | ({ type: "revert"; id: number; patch: string } & TransitionSpec)
  | { type: "force" | "reverse" | "release" }
  | { type: "snapshot" | "stop"; id: number };

/**
 * A staged patch as it travels to the worker: without the package bytes,
 * which only the control plane keeps (the worker links the compiled code
 * page). Receiving them cost the worker ~10 µs of deserialization per apply.
 */
export type WireStaged = Omit<StagedPatch, "packageBytes">;

const NO_BYTES = new Uint8Array(0);

export function toWire(staged: StagedPatch): WireStaged {
  const { packageBytes: _, ...wire } = staged;
  return wire;
}

/** The worker's StagedPatch (its package bytes stay with the control plane). */
export function fromWire(wire: WireStaged): StagedPatch {
  return { ...wire, packageBytes: NO_BYTES };
}

export interface SerializedError {
  code: HotpatchError["code"];
  message: string;
  context: HotpatchError["context"];
}

/** What a finished transition reports. `atIndex`: requests started before the switch. */
export interface TransitionReport {
  state: "complete" | "reversed" | "failed" | "refused";
  kind: "enable" | "disable";
  patch: string;
  forced: boolean;
  activeAtSwitch: string[];
  blockedBy?: string;
  blockedChecks: number;
  atIndex: number;
  /** True when the switch happened inside `env.safepoint`, during request `atIndex - 1`. */
  midRequest: boolean;
  /** From leaving the request loop for the switch to re-entering it. */
  pauseMicros: number;
  /** Receiving and instantiating the code page (enable only), while requests kept flowing. */
  prepareMicros: number;
  /** Installed patches after the transition, oldest first (cumulative patches replace older ones). */
  installed: string[];
  error?: SerializedError;
  /**
   * Set when the worker died after the switch, before posting this report: the supervisor rebuilt
   * it from the switch record in the shared metrics (`activeAtSwitch` and the transcript are lost).
   */
  rebuiltAfterCrash?: true;
}

/** Histograms travel encoded (hdr-histogram-js, compressed base64), in microseconds. */
export interface WorkerReport {
  latency: string;
  pauses: string;
  installed: string[];
  /** Requests due by the time of the report that had not started yet: the queue an earlier stall left behind. */
  backlog: number;
  state?: ProcessState;
  /** Memory size, static-data digest and slot audit (engine/worker/health-probe.ts). */
  health?: ProcessHealth;
}

/** The worker's messages as the control plane hands them out (Supervisor.next): one `log` message per transcript line. */
export type WorkerMessage =
  | { type: "ready"; installed: string[] }
  | { type: "transition"; id: number; report: TransitionReport }
  | { type: "log"; line: string }
  | { type: "held"; index: number }
  | { type: "snapshot" | "stopped"; id: number; report: WorkerReport }
  | { type: "crashed"; index: number; error: SerializedError };

/**
 * What the worker posts. A postMessage costs the worker 10–20 µs, so
 * transcript lines travel in batches, and a transition's report carries the
 * lines logged since the last batch (they come before the report).
 */
export type WorkerPost =
  | Exclude<WorkerMessage, { type: "log" | "transition" }>
  | { type: "log"; lines: string[] }
  | { type: "transition"; id: number; report: TransitionReport; lines: string[] };

/** The messages a post stands for, in order. */
export function unpackPost(post: WorkerPost): WorkerMessage[] {
  if (post.type === "log") return post.lines.map((line) => ({ type: "log", line }));
  if (post.type === "transition") return [...post.lines.map((line): WorkerMessage => ({ type: "log", line })), { type: "transition", id: post.id, report: post.report }];
  return [post];
}

/** What a worker is started with (its `workerData`). */
export interface WorkerConfig {
  module: WebAssembly.Module;
  linkMap: LinkMap;
  /** Installed patches, oldest first: re-applied before the first request is served. */
  patches: WireStaged[];
  load: LoadSpec;
  /** Index of the first request to generate (after a restart: the one after the failed request). */
  startIndex: number;
  metrics: SharedArrayBuffer;
  port: MessagePort;
  /** Fault point for tests: request `holdAt` stops at its first safe point until a `release` message. */
  holdAt?: number;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof HotpatchError) return { code: error.code, message: error.message, context: error.context };
  return { code: "E_GUEST_TRAP", message: error instanceof Error ? error.message : String(error), context: {} };
}

export function deserializeError(error: SerializedError): HotpatchError {
  const out = new HotpatchError(error.code, "", error.context);
  out.message = error.message;
  return out;
}
