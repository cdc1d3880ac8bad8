/**
 * A VM's running guest processes, as the management plane sees them: one
 * asynchronous interface whatever thread they run on. A CLI command runs them
 * in its own thread (local-host.ts); `hotpatch serve` runs them in a pool of
 * worker threads (pool.ts), where they keep serving load between calls.
 *
 * Contracts (both hosts):
 * - Calls on one VM run one at a time in call order, never interleaved with
 *   a request the VM serves: an apply, revert or reboot happens between two
 *   requests.
 * - `applyHotpatch` applies one package to every process, all or nothing: if
 *   one process refuses, the ones already patched are reverted, and the
 *   error is the refusal (a HotpatchError with its code).
 * - `reboot` replaces every process by a fresh one of the image (hotpatches
 *   re-applied) and reports the measured downtime and the state lost.
 * - A guest failure while serving load is counted (`failed`), never thrown.
 * - `alive` turns false if the thread holding the processes ended (a pool
 *   worker crashed); every later call fails with E_CRASHED, and the session
 *   boots the VM again on its next use.
 */
import type { KeyObject } from "node:crypto";
import type { Image } from "../image/index.ts";
import type { HealthReport } from "./health.ts";

/** One slot of a running process: the function there now and the stack of code under it. */
export interface SlotView {
  slot: number;
  function: string;
  /** "image" for the image's own code, else the patch id whose code runs there. */
  runs: string;
  /** What the slot has held, the image's function first, the entry in use last. */
  stack: string[];
}

/** A running process as the emulator's processes endpoint shows it. */
export interface ProcessView {
  index: number;
  /** Which boot this process belongs to: 1 when the VM started in its host (a CLI command, a pool worker), one more at every reboot. */
  boot: number;
  buildId: string;
  /** The guest's own counters (a STATS request). */
  requests: number;
  keys: number;
  latencyMicros: { samples: number; p50: number; p99: number; max: number };
  patches: { id: string; title: string; classification: string; functions: string[] }[];
  slots: SlotView[];
}

/** A VM's processes now: the load served since boot and every process. */
export interface VmSnapshot {
  /** Load requests served, and those that failed with a guest trap or abort, since the VM first booted. */
  served: number;
  failed: number;
  /** Why the last load round failed with something that is not a guest failure, if it did. */
  loadError?: string;
  processes: ProcessView[];
}

export interface RebootOutcome {
  downtimeMillis: number;
  /** Keys and requests the processes held before the reboot, all lost. */
  stateLost: { keys: number; requests: number };
}

/**
 * What a live apply cost, the slowest process's figures (µs). The whole apply
 * runs between two of the VM's requests (its thread does one thing at a
 * time), so a request that arrives meanwhile waits up to `applyMicros`.
 */
export interface ApplyTiming {
  /** Verify, compile, prepare (checks, static data, instantiation) and switch: the whole apply. */
  applyMicros: number;
  /** The switch alone: the commit's slot writes and bookkeeping. */
  pauseMicros: number;
}

/** What a VM boots from. */
export interface BootSpec {
  vmName: string;
  count: number;
  image: Image;
  /** Installed hotpatch packages of the image, oldest first. */
  hotpatches: readonly Uint8Array[];
  /** Public keys (ed25519) the processes trust. */
  trustedKeys: readonly KeyObject[];
  seed: number;
}

export interface VmProcesses {
  readonly vmName: string;
  readonly processCount: number;
  readonly alive: boolean;
  /** Serves one round of `requests` seeded requests on every process. */
  serveLoad(requests?: number): Promise<void>;
  /** Keys and requests held by all processes now. */
  totals(): Promise<{ keys: number; requests: number }>;
  snapshot(): Promise<VmSnapshot>;
  applyHotpatch(kb: string, bytes: Uint8Array): Promise<ApplyTiming>;
  /** Returns the slowest process's switch time (µs). */
  revertHotpatch(kb: string): Promise<{ pauseMicros: number }>;
  reboot(image: Image, hotpatches: readonly Uint8Array[]): Promise<RebootOutcome>;
  /** The platform health signal (health.ts). */
  checkHealth(expectedRevision: number, seed: number): Promise<HealthReport>;
  /** Sends one request to process `index` (between two load requests) and returns its response. */
  request(index: number, bytes: Uint8Array): Promise<Uint8Array>;
  /** Ends the processes (the VM was deleted or forgotten). */
  stop(): Promise<void>;
}

/** Where a VM's processes run. */
export interface ProcessHost {
  boot(spec: BootSpec): Promise<VmProcesses>;
}
