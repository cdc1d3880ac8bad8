/**
 * The supervisor: keeps a worker process serving, patches it, and restarts
 * it when it crashes. This is the control plane's handle on a live process.
 *
 * Crash: a trap in guest code (reported by the worker) or a request that
 * runs past `deadlineMs` (the watchdog, on this thread, with the injected
 * monotonic clock: the request counter `started` must advance while a
 * request is in flight). Recovery, in order: terminate the thread → count
 * the request in flight as failed (never lost) → an apply whose switch the
 * worker recorded in the shared metrics (its acknowledgement, written before
 * any request ran the new code) counts as applied though its report was
 * never posted → fail every other pending operation with E_CRASHED → start
 * a new worker from the image with the installed patches, re-applied in the
 * order they were installed, before it serves → resume the generator at the
 * request after the failed one → settle the acknowledged apply with a report
 * rebuilt from the switch record (E_CRASHED instead when the restart had to
 * start without patches).
 *
 * The supervisor records what happened at which request index (`events`):
 * each switch and each restart, which a reference replay (engine/stress/
 * reference.ts) needs to reproduce the final state.
 */
import { performance } from "node:perf_hooks";
import { asHotpatchError, HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import type { LinkMap } from "../image/index.ts";
import type { LoadSpec } from "../load/index.ts";
import type { StagedPatch } from "../loader/index.ts";
import { type MetricsSnapshot, type ProcessState, SharedMetrics, type SwitchRecord } from "../process/index.ts";
import { WorkerProcess } from "./worker-process.ts";
import {
  deserializeError,
  toWire,
  type TransitionReport,
  type TransitionSpec,
  type WorkerMessage,
  type WorkerReport,
} from "./worker-protocol.ts";

export interface SupervisorOptions {
  module: WebAssembly.Module;
  linkMap: LinkMap;
  load: LoadSpec;
  /** A request still running after this long crashes the process. Default: no watchdog. */
  deadlineMs?: number;
  /** Monotonic clock in ms for the watchdog. */
  now?: () => number;
  /** Fault point for tests (see WorkerConfig.holdAt). */
  holdAt?: number;
}

export type ProcessEvent =
  | { op: "apply" | "revert"; patch: string; atIndex: number; midRequest: boolean }
  /** The new life serves from `atIndex`; `failed` is the request that was in flight (counted failed), if any. */
  | { op: "restart"; atIndex: number; failed: number | null; error: HotpatchError };

export interface StopReport {
  metrics: MetricsSnapshot;
  /** hdr-histogram-js encodings (µs) of the last life of the process. */
  latency: string;
  pauses: string;
  state: ProcessState;
  installed: string[];
}

/** Attempts to start a restarted process with its patches before starting it without them. */
export const RESTART_ATTEMPTS = 3;

export const DEFAULT_TRANSITION: TransitionSpec = { timeoutMs: 1000, onStall: "reverse" };

interface Waiter {
  resolve: (value: never) => void;
  reject: (error: HotpatchError) => void;
  staged?: StagedPatch;
}

export class Supervisor {
  readonly metrics = new SharedMetrics();
  readonly events: ProcessEvent[] = [];
  /** Transition transcripts from every life of the process, in order. */
  readonly transcript: string[] = [];
  private worker!: WorkerProcess;
  private installedStaged: StagedPatch[] = [];
  /** Every patch ever sent, by id: a revert may bring back a patch that a cumulative one superseded. */
  private readonly known = new Map<string, StagedPatch>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly listeners = new Set<(m: WorkerMessage) => void>();
  private readonly now: () => number;
  private nextId = 1;
  private restarting?: Promise<void>;
  private watchdog?: ReturnType<typeof setInterval>;
  private stopped = false;

  private constructor(private readonly options: SupervisorOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    await supervisor.launch(0);
    return supervisor;
  }

  /** Installed patches, oldest first, as the control plane knows them (acknowledged switches). */
  installed(): string[] {
    return this.installedStaged.map((p) => p.id);
  }

  /** Applies a staged patch at the next safe point where none of its functions is active. */
  apply(staged: StagedPatch, spec: TransitionSpec = DEFAULT_TRANSITION): Promise<TransitionReport> {
    return this.request((id) => ({ type: "apply", id, staged: toWire(staged), ...spec }), staged);
  }

  revert(patch: string, spec: TransitionSpec = DEFAULT_TRANSITION): Promise<TransitionReport> {
    return this.request((id) => ({ type: "revert", id, patch, ...spec }));
  }

  /** Acts on the pending transition (livepatch's `force` / reversing a stalled transition). */
  force(): void {
    this.worker.send({ type: "force" });
  }

  reverse(): void {
    this.worker.send({ type: "reverse" });
  }

  /** Restarts the process now, as after a crash (the request in flight counts as failed): for damage a revert cannot undo. */
  restartNow(reason: string): Promise<void> {
    return this.crash(-1, new HotpatchError("E_CRASHED", `restart requested by the control plane: ${reason}`));
  }

  /** Releases a request held at the `holdAt` fault point. */
  release(): void {
    this.worker.send({ type: "release" });
  }

  /** A consistent copy of the live counters (readable even while the guest runs). */
  counters(): MetricsSnapshot {
    return this.metrics.snapshot();
  }

  /** Counters plus histograms and patch level, taken by the worker at one safe point. */
  snapshot(): Promise<WorkerReport> {
    return this.request((id) => ({ type: "snapshot", id }));
  }

  /** Resolves with the first worker message that satisfies `match` (e.g. a `held` or a transcript line). */
  next<T extends WorkerMessage>(match: (m: WorkerMessage) => m is T): Promise<T>;
  next(match: (m: WorkerMessage) => boolean): Promise<WorkerMessage>;
  next(match: (m: WorkerMessage) => boolean): Promise<WorkerMessage> {
    return new Promise((resolve) => {
      const listener = (m: WorkerMessage) => {
        if (!match(m)) return;
        this.listeners.delete(listener);
        resolve(m);
      };
      this.listeners.add(listener);
    });
  }

  /** Stops after the request in flight; returns the final counters, histograms and state. */
  async stop(): Promise<StopReport> {
    await this.restarting;
    const report = await this.request<WorkerReport>((id) => ({ type: "stop", id }));
    clearInterval(this.watchdog);
    await this.worker.terminate();
    return { metrics: this.metrics.snapshot(), latency: report.latency, pauses: report.pauses, state: report.state!, installed: report.installed };
  }

  private request<T>(message: (id: number) => Parameters<WorkerProcess["send"]>[0], staged?: StagedPatch): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiters.set(id, { resolve: resolve as (v: never) => void, reject, staged });
      // During a restart the old worker is gone: post to the new one once it serves.
      const send = () => this.waiters.has(id) && this.worker.send(message(id));
      if (this.restarting) this.restarting.then(send, send);
      else send();
    });
  }

  private async launch(startIndex: number): Promise<void> {
    const { module, linkMap, load, holdAt } = this.options;
    this.worker = await WorkerProcess.start(
      { module, linkMap, load, startIndex, holdAt, patches: this.installedStaged.map(toWire) },
      this.metrics,
      (m) => this.onMessage(m),
      (error) => this.crash(-1, new HotpatchError("E_CRASHED", `the worker thread ended: ${error?.message ?? "exit"}`)),
    );
    this.startWatchdog();
  }

  private onMessage(message: WorkerMessage): void {
    switch (message.type) {
      case "transition":
        this.settleTransition(message.id, message.report);
        break;
      case "stopped": // the thread ends next: its exit is no crash (set before the exit can be reported)
        this.stopped = true;
        this.settle(message.id, (w) => w.resolve(message.report as never));
        break;
      case "snapshot":
        this.settle(message.id, (w) => w.resolve(message.report as never));
        break;
      case "ready": // what the (re)started worker re-applied, a cumulative patch superseding older ones
        this.installedStaged = message.installed.map((id) => this.known.get(id)!);
        break;
      case "log":
        this.transcript.push(message.line);
        break;
      case "crashed":
        void this.crash(message.index, deserializeError(message.error));
        break;
    }
    for (const listener of [...this.listeners]) listener(message);
  }

  private settleTransition(id: number, report: TransitionReport): void {
    this.settle(id, (waiter) => {
      if (report.state !== "complete") return waiter.reject(report.error ? deserializeError(report.error) : new HotpatchError("E_STALLED", "reversed"));
      if (waiter.staged) this.known.set(waiter.staged.id, waiter.staged);
      this.installedStaged = report.installed.map((id) => this.known.get(id)!);
      this.events.push({ op: report.kind === "enable" ? "apply" : "revert", patch: report.patch, atIndex: report.atIndex, midRequest: report.midRequest });
      waiter.resolve(report as never);
    });
  }

  private settle(id: number, action: (waiter: Waiter) => void): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    action(waiter);
  }

  /** Restarts the process; `index` is the failed request (or -1 when unknown: read from the metrics). */
  private crash(index: number, error: HotpatchError): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.restarting ??= this.restart(index, error)
      .catch((failure) => {
        this.transcript.push(`the process could not be restarted: ${asHotpatchError(failure, "E_CRASHED").message}`);
      })
      .finally(() => {
        this.restarting = undefined;
      });
    return this.restarting;
  }

  private async restart(index: number, error: HotpatchError): Promise<void> {
    clearInterval(this.watchdog);
    await this.worker.terminate();
    this.metrics.recover();
    const before = this.metrics.snapshot();
    const failed = before.inFlight ? (index >= 0 ? index : before.generated - 1) : null;
    this.metrics.update((set, get) => {
      if (before.inFlight) set("failed", get("failed") + 1);
      set("inFlight", 0);
      set("restarts", get("restarts") + 1);
    });
    const acknowledged = this.takeAcknowledgedApply();
    this.events.push({ op: "restart", atIndex: before.generated, failed, error });
    const pending = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of pending) {
      waiter.reject(new HotpatchError("E_CRASHED", `the process crashed (${error.message}) and was restarted; the operation did not complete`));
    }
    try {
      await this.relaunch(before.generated);
    } catch (failure) {
      acknowledged?.waiter.reject(new HotpatchError("E_CRASHED", `the process crashed (${error.message}) after the switch and could not be restarted`));
      throw failure;
    }
    this.transcript.push(`process restarted at request ${before.generated} with ${this.installed().join(", ") || "no patches"}`);
    if (acknowledged) this.settleAcknowledged(acknowledged.waiter, acknowledged.record, error);
  }

  /**
   * Starts the new worker. A failed start must not take the host down (nobody awaits a restart):
   * retry, and after RESTART_ATTEMPTS failures boot the image without its patches, as a machine
   * boots its last known good; after twice that many, give up (throws).
   */
  private async relaunch(startIndex: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        faults.hit("restart", { attempt });
        await this.launch(startIndex);
        return;
      } catch (failure) {
        const reason = asHotpatchError(failure, "E_CRASHED").message;
        this.transcript.push(`restart attempt ${attempt} failed: ${reason}`);
        if (attempt >= RESTART_ATTEMPTS && this.installedStaged.length > 0) {
          this.transcript.push(`starting without patches (${this.installed().join(", ")} removed)`);
          this.installedStaged = [];
        } else if (attempt >= 2 * RESTART_ATTEMPTS) throw failure;
      }
    }
  }

  /**
   * Settles an acknowledged apply once the restarted process serves: applied when the restart
   * re-applied it, E_CRASHED when the restart had to start without patches.
   */
  private settleAcknowledged(waiter: Waiter, record: SwitchRecord, error: HotpatchError): void {
    const staged = waiter.staged!;
    if (this.installed().includes(staged.id)) waiter.resolve(this.rebuiltReport(staged, record) as never);
    else waiter.reject(new HotpatchError("E_CRASHED", `the process crashed (${error.message}) after the switch and was restarted without its patches`, { patch: staged.id }));
  }

  /**
   * The pending apply whose switch the dead worker recorded (SharedMetrics.recordSwitch), if any:
   * it happened, so its switch goes into `events` before the restart and the restart re-applies
   * it (settleAcknowledged then checks that it did). Unacknowledged operations stay pending, to
   * be failed.
   */
  private takeAcknowledgedApply(): { waiter: Waiter; record: SwitchRecord } | undefined {
    const record = this.metrics.lastSwitch();
    const waiter = this.waiters.get(record.id);
    if (!waiter?.staged) return undefined;
    this.waiters.delete(record.id);
    this.known.set(waiter.staged.id, waiter.staged);
    this.installedStaged = [...this.installedStaged, waiter.staged];
    this.metrics.update((set, get) => set("transitions", get("transitions") + 1)); // the dead worker's report step would have
    this.events.push({ op: "apply", patch: waiter.staged.id, atIndex: record.atIndex, midRequest: record.midRequest });
    this.transcript.push(`${waiter.staged.id}: switched at request ${record.atIndex}; the worker died before reporting it`);
    return { waiter, record };
  }

  /** The report of an acknowledged apply whose worker died before posting it: what the switch record kept. */
  private rebuiltReport(staged: StagedPatch, record: SwitchRecord): TransitionReport {
    return {
      state: "complete",
      kind: "enable",
      patch: staged.id,
      forced: record.forced,
      activeAtSwitch: [],
      blockedChecks: record.blockedChecks,
      atIndex: record.atIndex,
      midRequest: record.midRequest,
      pauseMicros: record.pauseMicros,
      prepareMicros: record.prepareMicros,
      installed: this.installed(),
      rebuiltAfterCrash: true,
    };
  }

  private startWatchdog(): void {
    const deadline = this.options.deadlineMs;
    if (deadline === undefined || !Number.isFinite(deadline)) return;
    let seen = -1;
    let since = this.now();
    this.watchdog = setInterval(
      () => {
        const m = this.metrics.snapshot();
        if (!m.inFlight || m.started !== seen) {
          seen = m.started;
          since = this.now();
        } else if (this.now() - since >= deadline) {
          void this.crash(-1, new HotpatchError("E_CRASHED", `request ${m.generated - 1} ran past its ${deadline} ms deadline`));
        }
      },
      Math.max(5, deadline / 4),
    );
  }
}
