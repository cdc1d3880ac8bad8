/**
 * Inside the worker thread: one guest process serving a continuous,
 * synchronous request loop fed by the seeded load generator.
 *
 * Safe points are (1) between two requests, with no guest frame on the
 * stack, and (2) every call of the guest's `env.safepoint` import, inside a
 * long request. Control messages are polled with `receiveMessageOnPort`
 * after the wake flag (never by yielding to the event loop).
 *
 * Work between requests is cut into small steps, and one visit of a safe
 * point does at most one of them, in this order:
 *   1. the switch of a prepared transition, if none of its functions is
 *      active (transition.ts): the **pause**, measured from entering the
 *      safe point to leaving it — everything the loop waits for (the
 *      switch record in the shared metrics included), nothing else (no
 *      reporting, no transcript, no postMessage). A `force` or
 *      `reverse` message switches (or abandons) when it is received (2.);
 *   2. receiving one control message (its deserialization);
 *   3. one queued step, first in first out: prepare a transition (check and
 *      instantiate the already compiled code page), report a finished
 *      transition (metrics, histogram, one postMessage with its transcript
 *      lines), post waiting transcript lines, answer a snapshot (the
 *      reports themselves are built by worker-reports.ts).
 * Steps 2 and 3 run only when no request is waiting (a request is waiting
 * when its due time has passed: the arrival has happened; the schedule of
 * future requests is never consulted), inside a long request, or — so that
 * an overloaded loop still makes progress — after STEP_EVERY requests were
 * served while requests kept waiting; and they are paced (step-pacing.ts):
 * right after a request, or after a spell without requests or steps, so a
 * transition's steps (receive, prepare, report) fall into different gaps
 * between requests, each at the start of its gap.
 *
 * Pacing delays a switch's report, never its acknowledgement: the switch
 * record is written to the shared metrics inside the pause, before any
 * request runs the new code, so a worker that crashes or hangs before the
 * report step still leaves the control plane knowing the switch happened.
 *
 * A switch is reported by a later step, at most STEP_EVERY requests later.
 * Before the worker posts a crash or stops it runs every queued step, so
 * the control plane hears about every switch that happened before.
 *
 * A request that traps marks the process crashed: the worker reports the
 * request index and stops; the supervisor restarts it (supervisor.ts). The
 * failed request stays `inFlight` in the shared metrics for the supervisor
 * to count.
 */
import { performance } from "node:perf_hooks";
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import { dueAt, dueBy, requestAt } from "../load/index.ts";
import { PatchLoader, Transition, type TransitionRequest, type TransitionResult } from "../loader/index.ts";
import { Activity, GuestProcess, SharedMetrics, type SwitchRecord } from "../process/index.ts";
import { type ControlMessage, fromWire, serializeError, type TransitionSpec, type WorkerConfig, type WorkerPost } from "./worker-protocol.ts";
import { installedIds, newHistogram, refusedReport, type Switched, snapshotReport, stopReport, switchReport } from "./worker-reports.ts";
import { StepPacing } from "./step-pacing.ts";

const now = () => performance.now();

/** Requests served while requests kept waiting, after which a step runs anyway. */
const STEP_EVERY = 4;

/** A queued unit of work; `reports` steps also run before a crash is posted. */
interface Step {
  run: () => void;
  reports: boolean;
}

interface Pending {
  id: number;
  transition: Transition;
  /** Filled in by the switch, reported by `step`: both allocated by the prepare step, not in the pause. */
  switched: Switched;
  step: Step;
}

class WorkerLoop {
  private readonly process: GuestProcess;
  private readonly loader: PatchLoader;
  private readonly activity: Activity;
  private readonly metrics: SharedMetrics;
  private readonly latency = newHistogram();
  private readonly pauses = newHistogram();
  private readonly transcript: string[] = [];
  private readonly steps: Step[] = [];
  /** Filled in and written to the shared metrics at each completed switch (one object, no allocation in the pause). */
  private readonly switchRecord: SwitchRecord = { id: 0, atIndex: 0, midRequest: false, forced: false, blockedChecks: 0, pauseMicros: 0, prepareMicros: 0 };
  private pending?: Pending;
  /** An apply or revert whose prepare step is queued: the transition slot is taken. */
  private queued = false;
  /** The wake flag was seen and the port may still hold messages. */
  private draining = false;
  private next: number;
  /** When the load started, on the pacing clock (set by `run`). */
  private startMs = 0;
  private current = -1;
  private depth = 0;
  private safepoints = 0;
  /** Requests served since the last step while requests were waiting. */
  private starved = 0;
  private readonly pacing = new StepPacing();
  private stopId?: number;
  private held = false;
  private released = false;

  constructor(private readonly config: WorkerConfig) {
    this.metrics = new SharedMetrics(config.metrics);
    this.next = config.startIndex;
    this.process = GuestProcess.start({ module: config.module, linkMap: config.linkMap }, { safepoint: () => this.inRequestSafepoint() });
    this.loader = new PatchLoader(this.process);
    // Installed patches persist across restarts: re-applied in order before serving.
    for (const staged of config.patches) this.loader.enable(fromWire(staged));
    this.activity = new Activity(this.process);
    this.metrics.update((set) => set("patchLevel", this.loader.installed().length));
  }

  run(): void {
    this.post({ type: "ready", installed: installedIds(this.loader) });
    const { load } = this.config;
    const startMs = now();
    this.startMs = startMs;
    while (this.stopId === undefined) {
      // One clock read per turn: performance.now() allocates a heap number, and a loop
      // reading it flat out made the young generation fill ~100 times a second.
      const t = now();
      const due = this.next < load.count ? dueAt(load, this.config.startIndex, startMs, this.next) : Number.POSITIVE_INFINITY;
      const waiting = due <= t;
      if (waiting) this.safePointWithRequestWaiting();
      else this.safePointWithSpareTime();
      if (this.stopId !== undefined) break;
      if (!waiting) {
        if (this.busy() && this.pacing.mayStep(now())) continue; // a step may run: come back at once
        const stepAt = this.busy() ? this.pacing.spacedAt() : Number.POSITIVE_INFINITY;
        const wait = Math.min(due, stepAt, t + 50) - t;
        if (wait > 1) this.metrics.sleep(wait - 0.5);
        else this.metrics.pause(); // poll again in about a microsecond
        continue;
      }
      const error = this.serve(due);
      if (error) {
        this.runReportSteps(); // every switch that happened is reported before the crash
        this.post({ type: "crashed", index: this.current, error: serializeError(error) });
        // Parked: the guest is in an unknown state; the supervisor terminates this thread.
        for (;;) this.metrics.sleep(1000);
      }
    }
    this.runAllSteps();
    this.post({ type: "stopped", id: this.stopId, report: stopReport(this.latency, this.pauses, this.process, this.loader) });
  }

  /** Serves request `next`; returns the error that crashed the process, if any. */
  private serve(due: number): unknown {
    const index = this.next++;
    const bytes = requestAt(this.config.load, index);
    this.current = index;
    this.metrics.update((set, get) => {
      set("generated", index + 1);
      set("inFlight", 1);
      set("started", get("started") + 1);
    });
    this.depth = 1;
    try {
      this.process.request(bytes);
    } catch (error) {
      return error;
    } finally {
      this.depth = 0;
    }
    const safepoints = this.safepoints;
    this.safepoints = 0;
    this.metrics.update((set, get) => {
      set("served", get("served") + 1);
      set("inFlight", 0);
      set("safepoints", get("safepoints") + safepoints);
    });
    const servedAt = now();
    this.pacing.served(servedAt);
    this.latency.recordValue(Math.max(1, Math.round((servedAt - due) * 1000)));
    this.starved++;
    return undefined;
  }

  /** Requests due by now that have not started. */
  private backlog(): number {
    return Math.max(0, dueBy(this.config.load, this.config.startIndex, this.startMs, now()) - this.next);
  }

  /** `env.safepoint`: guest frames are on the stack. */
  private inRequestSafepoint(): void {
    this.safepoints++;
    if (this.config.holdAt === this.current && !this.held) {
      this.held = true;
      this.post({ type: "held", index: this.current });
      while (!this.released) {
        if (!this.busy()) this.metrics.sleep(20);
        else if (!this.pacing.mayStep(now())) this.metrics.pause();
        this.safePointWithSpareTime();
      }
    }
    this.safePointWithSpareTime();
  }

  /** Messages or steps left to do. */
  private busy(): boolean {
    return this.draining || this.steps.length > 0 || this.transcript.length > 0;
  }

  /**
   * One visit of a safe point with no request waiting, or inside a long
   * request: the switch if it can happen, else one unit of other work.
   */
  private safePointWithSpareTime(): void {
    if (this.trySwitch()) return;
    if (this.metrics.takeWake()) this.draining = true;
    this.starved = 0;
    if (this.pacing.mayStep(now())) this.runOneUnitOfWork();
  }

  /**
   * One visit of a safe point while a request is waiting: the switch if it
   * can happen; other work only once STEP_EVERY requests were served while
   * requests kept waiting.
   */
  private safePointWithRequestWaiting(): void {
    if (this.trySwitch()) return;
    if (this.metrics.takeWake()) this.draining = true;
    if (this.starved < STEP_EVERY) return;
    this.runOneUnitOfWork();
  }

  /** The switch of the prepared transition, if none of its functions is active; true if it happened. */
  private trySwitch(): boolean {
    const pending = this.pending;
    if (!pending) return false;
    const entered = now();
    const result = pending.transition.tryComplete();
    if (!result) return false;
    this.switched(pending, result, entered);
    return true;
  }

  /** At most one unit of work between requests: one control message, else one step, else the waiting transcript lines. */
  private runOneUnitOfWork(): void {
    if (this.draining) {
      const entered = now();
      const m = receiveMessageOnPort(this.config.port);
      if (m) {
        this.starved = 0;
        this.handle(m.message as ControlMessage, entered);
        this.pacing.stepped(now());
        return;
      }
      this.draining = false;
    }
    const step = this.steps.shift();
    if (step) step.run();
    else if (this.transcript.length > 0) this.flushTranscript();
    else return; // nothing was done: no step to pace
    this.starved = 0;
    this.pacing.stepped(now());
  }

  /**
   * The end of a switch (the pause): records where it happened, queues the report, returns to the loop.
   * Ordering: the `after-swap` fault point, then the switch record in the shared metrics (the
   * acknowledgement that survives a crash: from here on the control plane counts the switch as
   * done), then the end of the measured pause (the record is inside it), then back to requests,
   * which may run the new code. The posted report comes later.
   */
  private switched(pending: Pending, result: TransitionResult, entered: number): void {
    this.pending = undefined;
    if (result.state === "complete" && faults.isArmed()) faults.hit("after-swap", { patch: result.patch }); // no detail object in the pause when unarmed
    const switched = pending.switched;
    switched.result = result;
    switched.atIndex = this.next;
    switched.midRequest = this.depth > 0;
    this.steps.push(pending.step);
    if (result.state === "complete") {
      const r = this.switchRecord;
      r.id = pending.id;
      r.atIndex = switched.atIndex;
      r.midRequest = switched.midRequest;
      r.forced = result.forced;
      r.blockedChecks = result.blockedChecks;
      r.pauseMicros = (now() - entered) * 1000; // the record's pause ends just before its own write
      r.prepareMicros = switched.prepareMicros;
      this.metrics.recordSwitch(r);
    }
    switched.pauseMicros = (now() - entered) * 1000;
  }

  private handle(message: ControlMessage, entered: number): void {
    switch (message.type) {
      case "apply":
        this.queue(message.id, { kind: "enable", staged: fromWire(message.staged) }, message);
        break;
      case "revert":
        this.queue(message.id, { kind: "disable", patch: message.patch }, message);
        break;
      case "force":
      case "reverse": {
        const act = message.type;
        if (this.pending) this.forceOrReverse(act, entered);
        else if (this.queued) this.steps.push({ run: () => this.forceOrReverse(act, now()), reports: false }); // after its prepare step
        break;
      }
      case "release":
        this.released = true;
        break;
      case "snapshot":
        this.steps.push({ run: () => this.post({ type: "snapshot", id: message.id, report: snapshotReport(this.latency, this.pauses, this.process, this.loader, this.backlog()) }), reports: false });
        break;
      case "stop":
        this.stopId = message.id;
        break;
    }
  }

  private forceOrReverse(act: "force" | "reverse", entered: number): void {
    const pending = this.pending;
    if (!pending) return;
    const t = pending.transition;
    this.switched(pending, act === "force" ? t.force() : t.reverse(), entered);
  }

  /** Takes the transition slot (or refuses at once) and queues the prepare step. */
  private queue(id: number, request: TransitionRequest, spec: TransitionSpec): void {
    const patch = request.kind === "enable" ? request.staged.id : request.patch;
    if (this.pending || this.queued) {
      const busy = this.pending?.transition.patch ?? "another patch";
      this.refuse(id, request.kind, patch, new HotpatchError("E_TRANSITION_BUSY", `${busy} is still in transition`, { patch }));
      return;
    }
    this.queued = true;
    this.steps.push({ run: () => this.start(id, request, spec), reports: false });
  }

  /** The prepare step: checks and instantiates (transition.ts); the switch comes at a later safe point. */
  private start(id: number, request: TransitionRequest, spec: TransitionSpec): void {
    this.queued = false;
    const started = now();
    try {
      const transition = Transition.start(this.loader, this.activity, request, {
        ...spec,
        now,
        log: (line) => this.transcript.push(line),
      });
      const switched: Switched = { id, prepareMicros: (now() - started) * 1000, pauseMicros: 0, atIndex: -1, midRequest: false };
      this.pending = { id, transition, switched, step: { run: () => this.reportSwitch(switched), reports: true } };
    } catch (error) {
      if (!(error instanceof HotpatchError)) throw error;
      this.refuse(id, request.kind, request.kind === "enable" ? request.staged.id : request.patch, error);
    }
  }

  private refuse(id: number, kind: TransitionRequest["kind"], patch: string, error: HotpatchError): void {
    const installed = this.loader.installed().slice();
    this.steps.push({
      run: () => {
        const report = refusedReport(kind, patch, installed, error, this.next, this.depth > 0);
        this.post({ type: "transition", id, report, lines: this.takeTranscript() });
      },
      reports: true,
    });
  }

  /**
   * The report step of a switch (or of a reversed or failed transition). The
   * patches installed now are those right after the switch: steps run first
   * in, first out, and the next change needs a prepare step queued after this.
   */
  private reportSwitch(s: Switched): void {
    if (s.result?.state === "complete" && faults.isArmed()) faults.hit("before-report", { patch: s.result.patch });
    const installed = this.loader.installed().slice();
    const report = switchReport(s, installed);
    if (report.state === "complete") {
      this.pauses.recordValue(Math.max(1, Math.round(s.pauseMicros)));
      this.metrics.update((set, get) => {
        set("patchLevel", installed.length);
        set("transitions", get("transitions") + 1);
      });
    }
    // One message: the transition's transcript arrives with (before) its report.
    this.post({ type: "transition", id: s.id, report, lines: this.takeTranscript() });
  }

  /** Runs every queued step, then posts the waiting transcript lines: before the stop answer. */
  private runAllSteps(): void {
    for (let step = this.steps.shift(); step; step = this.steps.shift()) step.run();
    this.flushTranscript();
  }

  /**
   * Runs the queued report steps and drops the others, then posts the waiting
   * transcript lines: before a crash report (the guest is in an unknown state).
   */
  private runReportSteps(): void {
    for (let step = this.steps.shift(); step; step = this.steps.shift()) if (step.reports) step.run();
    this.flushTranscript();
  }

  private takeTranscript(): string[] {
    return this.transcript.splice(0, this.transcript.length);
  }

  /** Posts the waiting transcript lines in one message. */
  private flushTranscript(): void {
    if (this.transcript.length > 0) this.post({ type: "log", lines: this.takeTranscript() });
  }

  private post(message: WorkerPost): void {
    this.config.port.postMessage(message);
  }
}

const config = workerData as WorkerConfig;
try {
  new WorkerLoop(config).run();
} catch (error) {
  // Start-up failed (e.g. a patch could not be re-applied): the process never served.
  config.port.postMessage({ type: "crashed", index: -1, error: serializeError(error) } satisfies WorkerPost);
}
