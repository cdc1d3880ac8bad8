/**
 * The VM pool of `hotpatch serve`: a fixed number of worker threads, each
 * holding the processes of many VMs (pool-worker.ts) and serving their load
 * between calls, so the server's main thread only answers the API.
 *
 * A VM lives on one worker for its life (its processes are state that cannot
 * move), so general task pools (piscina, workerpool), which hand each task to
 * any free worker, do not fit; this pool places a VM on the worker with the
 * fewest VMs and sends every call for it there.
 *
 * Contracts:
 * - Calls on one VM are answered in the order they were made (one worker,
 *   one message port, one thread).
 * - Workers start on first use. If a worker ends (a crash, or `close`),
 *   every pending call on it fails with E_CRASHED naming its VMs, those VMs'
 *   handles turn `alive: false`, and the next boot starts a new worker; a
 *   crash (not `close`) is reported to `onWorkerExit` with the VMs it held.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import type { Image } from "../image/index.ts";
import { TrustStore } from "../patch/index.ts";
import type { HealthReport } from "./health.ts";
import { deserializeFailure, type PoolAnswer, type PoolRequest, type PoolWorkerConfig, type VmMethod, type WorkerMemory } from "./pool-protocol.ts";
import { type PostedStaged, postable, stagedOnce, stagedStats } from "./staged-packages.ts";
import type { ApplyTiming, BootSpec, ProcessHost, RebootOutcome, VmProcesses, VmSnapshot } from "./vm-processes.ts";

const ENTRY = new URL("./pool-entry.mjs", import.meta.url);

export interface PoolOptions {
  /** Worker threads (default: the machine's cores, at most 4). */
  size?: number;
  /** Load rounds between calls (pool-protocol.ts); 0 for none. */
  loadIntervalMillis: number;
  loadRequests: number;
  /** Called when a worker ends by itself (a crash), with the VMs it held and why. */
  onWorkerExit?: (vms: string[], reason: string) => void;
}

/** The pool's memory: its workers' isolates added up. */
export interface PoolMemory {
  workers: number;
  vms: number;
  heapUsed: number;
  external: number;
  /** Packages verified and compiled in the pool (once per package: on the server's thread, posted to the workers), and process applies that reused one. */
  stages: number;
  stageHits: number;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = PoolRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

class PoolWorker {
  readonly vms = new Set<string>();
  alive = true;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly worker: Worker;

  constructor(config: PoolWorkerConfig, onExit: (worker: PoolWorker, reason: string) => void) {
    this.worker = new Worker(ENTRY, { workerData: config });
    this.worker.on("message", (answer: PoolAnswer) => {
      const pending = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.ok) pending?.resolve(answer.value);
      else pending?.reject(deserializeFailure(answer.error));
    });
    const end = (reason: string) => {
      if (!this.alive) return;
      this.alive = false;
      const error = new HotpatchError("E_CRASHED", `the pool worker holding VM(s) ${[...this.vms].join(", ") || "(none)"} ended: ${reason}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      onExit(this, reason);
    };
    this.worker.on("error", (error) => end(error.message));
    this.worker.on("exit", (code) => end(`exit code ${code}`));
  }

  send(request: Request): Promise<unknown> {
    if (!this.alive) return Promise.reject(new HotpatchError("E_CRASHED", `the pool worker holding VM(s) ${[...this.vms].join(", ")} has ended`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

class PooledVm implements VmProcesses {
  private stopped = false;

  constructor(
    private readonly worker: PoolWorker,
    readonly vmName: string,
    readonly processCount: number,
    /** The keys the VM's processes trust: the pool stages its packages against them. */
    private readonly trust: TrustStore,
  ) {}

  get alive(): boolean {
    return this.worker.alive && !this.stopped;
  }

  serveLoad(requests?: number): Promise<void> {
    return this.call("serveLoad", requests) as Promise<void>;
  }

  totals(): Promise<{ keys: number; requests: number }> {
    return this.call("totals") as Promise<{ keys: number; requests: number }>;
  }

  snapshot(): Promise<VmSnapshot> {
    return this.call("snapshot") as Promise<VmSnapshot>;
  }

  /** Stages the package here, once for the whole pool (verify + compile; a refusal never reaches the worker), and posts it with the bytes. */
  applyHotpatch(kb: string, bytes: Uint8Array): Promise<ApplyTiming> {
    let staged: PostedStaged;
    try {
      staged = postable(stagedOnce(bytes, this.trust));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.call("applyHotpatch", kb, bytes, staged) as Promise<ApplyTiming>;
  }

  revertHotpatch(kb: string): Promise<{ pauseMicros: number }> {
    return this.call("revertHotpatch", kb) as Promise<{ pauseMicros: number }>;
  }

  reboot(image: Image, hotpatches: readonly Uint8Array[]): Promise<RebootOutcome> {
    return this.call("reboot", image, hotpatches) as Promise<RebootOutcome>;
  }

  checkHealth(expectedRevision: number, seed: number): Promise<HealthReport> {
    return this.call("checkHealth", expectedRevision, seed) as Promise<HealthReport>;
  }

  request(index: number, bytes: Uint8Array): Promise<Uint8Array> {
    return this.call("request", index, bytes) as Promise<Uint8Array>;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.vms.delete(this.vmName);
    if (this.worker.alive) await this.worker.send({ op: "call", vm: this.vmName, method: "stop", args: [] });
  }

  private call(method: VmMethod, ...args: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(new HotpatchError("E_CRASHED", `the processes of VM ${this.vmName} were stopped`, { vm: this.vmName }));
    return this.worker.send({ op: "call", vm: this.vmName, method, args });
  }
}

export class VmPool implements ProcessHost {
  private readonly workers: PoolWorker[] = [];
  private readonly size: number;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    this.size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
  }

  async boot(spec: BootSpec): Promise<VmProcesses> {
    if (this.closed) throw new HotpatchError("E_CRASHED", `the VM pool is closed: VM ${spec.vmName} cannot boot`, { vm: spec.vmName });
    const worker = this.placeFor();
    // Held only once booted: a crash during the boot fails the boot (E_CRASHED), it is no crashed VM.
    const count = (await worker.send({ op: "boot", spec })) as number;
    worker.vms.add(spec.vmName);
    return new PooledVm(worker, spec.vmName, count, new TrustStore(spec.trustedKeys));
  }

  /** Every live worker's isolate: heap and external memory, added up (`collect`: after a full garbage collection in each). */
  async memory(collect = false): Promise<PoolMemory> {
    const parts = (await Promise.all(this.workers.map((w) => w.send({ op: "memory", collect })))) as WorkerMemory[];
    const sum = (key: keyof WorkerMemory) => parts.reduce((total, part) => total + part[key], 0);
    // Stages happen on this thread (applies) and in the workers (re-applies after a reboot); reuses in the workers.
    const here = stagedStats();
    return { workers: parts.length, vms: sum("vms"), heapUsed: sum("heapUsed"), external: sum("external"), stages: here.stages + sum("stages"), stageHits: sum("stageHits") };
  }

  /** Ends every worker (their VMs' handles turn `alive: false`). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** A worker with room: a new one while fewer than `size` run, else the one with the fewest VMs. */
  private placeFor(): PoolWorker {
    if (this.workers.length < this.size) {
      const worker = new PoolWorker({ loadIntervalMillis: this.options.loadIntervalMillis, loadRequests: this.options.loadRequests }, (ended, reason) => {
        const at = this.workers.indexOf(ended);
        if (at >= 0) this.workers.splice(at, 1);
        if (!this.closed) this.options.onWorkerExit?.([...ended.vms], reason);
      });
      this.workers.push(worker);
      return worker;
    }
    return this.workers.reduce((best, w) => (w.vms.size < best.vms.size ? w : best));
  }
}
