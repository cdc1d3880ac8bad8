/**
 * Inside the worker thread: one guest process serving a continuous,
 * synchronous request loop fed by the seeded load generator.
 *
 * Safe points are (1) between two requests, with no guest frame on the
 * stack, and (2) every call of the guest's `env.safepoint` import, inside a
 * long request. At each safe point the worker looks at the wake flag, drains
 * control messages (`receiveMessageOnPort`, never yielding to the event
 * loop), and lets the pending transition try to complete (transition.ts).
 *
 * Phases of an apply: prepare (check + instantiate the posted, already
 * compiled code page) happens when the message is drained, while requests
 * keep flowing; the switch happens at a safe point where no function of the
 * patch is active, and its duration is the pause (from leaving the request
 * loop to re-entering it). Transcript lines are posted after the pause.
 *
 * A request that traps marks the process crashed: the worker reports the
 * request index and stops; the supervisor restarts it (supervisor.ts). The
 * failed request stays `inFlight` in the shared metrics for the supervisor
 * to count.
 */
import { performance } from "node:perf_hooks";
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import * as hdr from "hdr-histogram-js";
import { HotpatchError } from "../errors.ts";
import { probeHealth } from "../faults/health.ts";
import * as faults from "../faults/plan.ts";
import { dueAt, requestAt } from "../load/generator.ts";
import { PatchLoader } from "../loader/loader.ts";
import { Transition, type TransitionRequest, type TransitionResult } from "../loader/transition.ts";
import { Activity } from "./activity.ts";
import { SharedMetrics } from "./metrics.ts";
import { GuestProcess } from "./process.ts";
import { type ControlMessage, serializeError, type TransitionSpec, type WorkerConfig, type WorkerMessage, type WorkerReport } from "./worker-protocol.ts";

const now = () => performance.now();
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

interface Pending {
  id: number;
  transition: Transition;
  prepareMicros: number;
}

class WorkerLoop {
  private readonly process: GuestProcess;
  private readonly loader: PatchLoader;
  private readonly activity: Activity;
  private readonly metrics: SharedMetrics;
  private readonly latency = newHistogram();
  private readonly pauses = newHistogram();
  private readonly transcript: string[] = [];
  private pending?: Pending;
  private next: number;
  private current = -1;
  private depth = 0;
  private safepoints = 0;
  private stopId?: number;
  private held = false;
  private released = false;

  constructor(private readonly config: WorkerConfig) {
    this.metrics = new SharedMetrics(config.metrics);
    this.next = config.startIndex;
    this.process = GuestProcess.start({ module: config.module, linkMap: config.linkMap }, { safepoint: () => this.inRequestSafepoint() });
    this.loader = new PatchLoader(this.process);
    // Installed patches persist across restarts: re-applied in order before serving.
    for (const staged of config.patches) this.loader.enable(staged);
    this.activity = new Activity(this.process);
    this.metrics.update((set) => set("patchLevel", this.loader.installed().length));
  }

  run(): void {
    this.post({ type: "ready", installed: this.installed() });
    const { load } = this.config;
    const startMs = now();
    while (this.stopId === undefined) {
      this.safePoint();
      if (this.stopId !== undefined) break;
      if (this.next >= load.count) {
        this.metrics.sleep(50);
        continue;
      }
      const due = dueAt(load, this.config.startIndex, startMs, this.next);
      const wait = due - now();
      if (wait > 1) this.metrics.sleep(wait - 0.5);
      if (wait > 0) continue;
      const error = this.serve(due);
      if (error) {
        this.post({ type: "crashed", index: this.current, error: serializeError(error) });
        // Parked: the guest is in an unknown state; the supervisor terminates this thread.
        for (;;) this.metrics.sleep(1000);
      }
    }
    this.post({ type: "stopped", id: this.stopId, report: this.report(true) });
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
    this.latency.recordValue(Math.max(1, Math.round((now() - due) * 1000)));
    return undefined;
  }

  /** `env.safepoint`: guest frames are on the stack. */
  private inRequestSafepoint(): void {
    this.safepoints++;
    if (this.config.holdAt === this.current && !this.held) {
      this.held = true;
      this.post({ type: "held", index: this.current });
      while (!this.released) {
        this.metrics.sleep(20);
        this.safePoint();
      }
    }
    this.safePoint();
  }

  private safePoint(): void {
    if (this.metrics.takeWake()) {
      for (let m = receiveMessageOnPort(this.config.port); m; m = receiveMessageOnPort(this.config.port)) {
        this.handle(m.message as ControlMessage);
      }
    }
    if (this.pending) {
      const started = now();
      const result = this.pending.transition.tryComplete();
      if (result) this.finish(result, started);
    }
    this.flushTranscript();
  }

  private handle(message: ControlMessage): void {
    switch (message.type) {
      case "apply":
        this.start(message.id, { kind: "enable", staged: message.staged }, message);
        break;
      case "revert":
        this.start(message.id, { kind: "disable", patch: message.patch }, message);
        break;
      case "force":
      case "reverse": {
        if (!this.pending) break;
        const started = now();
        const t = this.pending.transition;
        this.finish(message.type === "force" ? t.force() : t.reverse(), started);
        break;
      }
      case "release":
        this.released = true;
        break;
      case "snapshot":
        this.post({ type: "snapshot", id: message.id, report: this.report(false) });
        break;
      case "stop":
        this.stopId = message.id;
        break;
    }
  }

  private start(id: number, request: TransitionRequest, spec: TransitionSpec): void {
    const patch = request.kind === "enable" ? request.staged.id : request.patch;
    const refuse = (error: unknown) => {
      this.flushTranscript();
      this.post({ type: "transition", id, report: { ...this.blankReport(request.kind, patch), state: "refused", error: serializeError(error) } });
    };
    if (this.pending) {
      refuse(new HotpatchError("E_TRANSITION_BUSY", `${this.pending.transition.patch} is still in transition`, { patch }));
      return;
    }
    const started = now();
    try {
      const transition = Transition.start(this.loader, this.activity, request, {
        ...spec,
        now,
        log: (line) => this.transcript.push(line),
      });
      this.pending = { id, transition, prepareMicros: (now() - started) * 1000 };
    } catch (error) {
      if (!(error instanceof HotpatchError)) throw error;
      refuse(error);
    }
  }

  private finish(result: TransitionResult, started: number): void {
    const pauseMicros = (now() - started) * 1000;
    const { id, prepareMicros } = this.pending!;
    this.pending = undefined;
    const report = { ...this.blankReport(result.kind, result.patch), state: result.state, prepareMicros };
    if (result.state === "complete") {
      faults.hit("after-swap", { patch: result.patch });
      this.pauses.recordValue(Math.max(1, Math.round(pauseMicros)));
      this.metrics.update((set, get) => {
        set("patchLevel", this.loader.installed().length);
        set("transitions", get("transitions") + 1);
      });
      Object.assign(report, {
        forced: result.forced,
        activeAtSwitch: result.activeAtSwitch,
        blockedBy: result.blockedBy,
        blockedChecks: result.blockedChecks,
        pauseMicros,
      });
    } else {
      report.error = serializeError(result.error);
    }
    this.flushTranscript(); // the transcript of a transition arrives before its report
    this.post({ type: "transition", id, report });
  }

  private blankReport(kind: TransitionRequest["kind"], patch: string) {
    return {
      kind,
      patch,
      forced: false,
      activeAtSwitch: [] as string[],
      blockedChecks: 0,
      atIndex: this.next,
      midRequest: this.depth > 0,
      pauseMicros: 0,
      prepareMicros: 0,
      installed: this.installed(),
      error: undefined as ReturnType<typeof serializeError> | undefined,
    };
  }

  private report(withState: boolean): WorkerReport {
    return {
      latency: hdr.encodeIntoCompressedBase64(this.latency),
      pauses: hdr.encodeIntoCompressedBase64(this.pauses),
      installed: this.installed(),
      state: withState ? this.process.state() : undefined,
      health: probeHealth(this.process, this.loader),
    };
  }

  private installed(): string[] {
    return this.loader.installed().map((p) => p.id);
  }

  private flushTranscript(): void {
    while (this.transcript.length > 0) this.post({ type: "log", line: this.transcript.shift()! });
  }

  private post(message: WorkerMessage): void {
    this.config.port.postMessage(message);
  }
}

const config = workerData as WorkerConfig;
try {
  new WorkerLoop(config).run();
} catch (error) {
  // Start-up failed (e.g. a patch could not be re-applied): the process never served.
  config.port.postMessage({ type: "crashed", index: -1, error: serializeError(error) } satisfies WorkerMessage);
}
