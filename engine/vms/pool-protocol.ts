/**
 * Messages between the VM pool (pool.ts, the server's main thread) and one of
 * its worker threads (pool-worker.ts). Every request carries an id; the worker
 * answers each one, in the order it received them, with that id.
 */
import { HotpatchError } from "../errors.ts";
import type { BootSpec } from "./vm-processes.ts";

/** What a pool worker starts with (its workerData). */
export interface PoolWorkerConfig {
  /** Every this many ms the worker serves a round of load on each of its VMs; 0: no load between calls. */
  loadIntervalMillis: number;
  /** Requests per process in each round. */
  loadRequests: number;
}

/** The VmProcesses calls a worker runs on one of its VMs (their arguments as an array). */
export type VmMethod = "serveLoad" | "totals" | "snapshot" | "applyHotpatch" | "revertHotpatch" | "reboot" | "checkHealth" | "request" | "stop";

export type PoolRequest =
  | { id: number; op: "boot"; spec: BootSpec }
  | { id: number; op: "call"; vm: string; method: VmMethod; args: unknown[] }
  /** `collect`: a full garbage collection first, so the figures are live memory, not GC timing. */
  | { id: number; op: "memory"; collect: boolean };

export type PoolAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedFailure };

/** An error crossing threads: a HotpatchError keeps its code and context; anything else is a bug and keeps its stack. */
export interface SerializedFailure {
  code?: HotpatchError["code"];
  message: string;
  context?: HotpatchError["context"];
  stack?: string;
}

/** One worker's share of the process's memory (its own V8 isolate). */
export interface WorkerMemory {
  vms: number;
  /** V8 heap in use (bytes). */
  heapUsed: number;
  /** Memory outside the heap: WebAssembly memories and other ArrayBuffers (bytes). */
  external: number;
  /** Packages this worker verified and compiled, and applies that reused one (staged-packages.ts). */
  stages: number;
  stageHits: number;
}

export function serializeFailure(error: unknown): SerializedFailure {
  if (error instanceof HotpatchError) return { code: error.code, message: error.message, context: error.context };
  return error instanceof Error ? { message: error.message, stack: error.stack } : { message: String(error) };
}

export function deserializeFailure(failure: SerializedFailure): Error {
  if (failure.code === undefined) {
    const error = new Error(failure.message);
    if (failure.stack !== undefined) error.stack = failure.stack;
    return error;
  }
  const error = new HotpatchError(failure.code, "", failure.context ?? {});
  error.message = failure.message;
  return error;
}
