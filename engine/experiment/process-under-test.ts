/**
 * The live process of an experiment as its actions see it: apply or revert a
 * patch, then check the process's health, detect what went wrong and recover.
 *
 * An apply goes inject → observe → recover. Inject stages the package and
 * switches to it; a refusal (a stable error code) leaves the process as it
 * was, a crash before the acknowledgement ("E_CRASHED") had the supervisor
 * restart it with the patches it recorded. An apply that goes live is
 * observed until `health.window` requests have passed: a failed request or
 * a restart (a trap: "crash"; past the deadline: "watchdog"), the p99
 * latency of the requests since the apply over `latencyLimitMicros`
 * ("latency"), the static-data digest changed ("static-digest"), memory over
 * `memoryLimitBytes` ("memory-limit"). Recovery reverts the patch live
 * (retried while the process restarts), and restarts the process as well
 * when the damage is in memory (static data or memory size), which a revert
 * cannot undo.
 *
 * Contract: `baseline` comes first (it records the static-data digest);
 * every action ends with `check`, a slot audit and a comparison of the
 * control plane's patch list with the process's, whose failures collect in
 * `audits`. Each action's report is returned to the caller, who keeps them.
 */
import * as hdr from "hdr-histogram-js";
import { HotpatchError, isHotpatchError } from "../errors.ts";
import { type StagedPatch, stagePatch } from "../loader/index.ts";
import type { TrustStore } from "../patch/index.ts";
import { DEFAULT_TRANSITION, type Supervisor, type TransitionSpec, type WorkerMessage, type WorkerReport } from "../worker/index.ts";
import type { Detection } from "./faulty-patches.ts";
import type { ScenarioPackage } from "./packages.ts";
import type { ActionReport, DetectionReport, RecoveryReport } from "./report.ts";
import type { HealthLimits, ScenarioAction } from "./scenario.ts";
import { round, sleep } from "./timing.ts";

/** Revert attempts while the process keeps restarting under the recovery. */
const RECOVERY_ATTEMPTS = 20;

export class ProcessUnderTest {
  readonly audits: string[] = [];
  private staticDigest = "";

  constructor(
    private readonly supervisor: Supervisor,
    private readonly health: HealthLimits,
    private readonly say: (line: string) => void,
    private readonly held?: Promise<WorkerMessage>,
  ) {}

  async baseline(): Promise<void> {
    const snap = await this.supervisor.snapshot();
    this.staticDigest = snap.health!.staticDigest;
  }

  /** A slot audit and a comparison of the control plane's patch list with the process's. */
  async check(when: string): Promise<WorkerReport | undefined> {
    const snap = await this.snapshot();
    if (!snap) return undefined;
    const h = snap.health!;
    if (h.slotMismatches.length > 0) this.audits.push(`${when}: slots ${h.slotMismatches.join(", ")} do not hold the recorded entries`);
    if (JSON.stringify(h.installed) !== JSON.stringify(this.supervisor.installed())) {
      this.audits.push(`${when}: the process runs [${h.installed.join(", ")}] but the control plane recorded [${this.supervisor.installed().join(", ")}]`);
    }
    return snap;
  }

  /** Applies the package (waiting for the held request first when the action says so), then observes and recovers. */
  async apply(index: number, action: ScenarioAction, pkg: ScenarioPackage, trust: TrustStore, staged: Map<string, StagedPatch>): Promise<ActionReport> {
    const patch = action.apply!;
    const report: ActionReport = { index, action: "apply", patch, kind: pkg.kind, outcome: "applied" };
    if (action.whileHeld) await this.waitForHeld(index);
    const before = this.supervisor.counters();
    const t0 = performance.now();
    this.say(`apply ${patch} (${pkg.kind}) at request ${before.generated}`);
    try {
      await this.inject(pkg.bytes, trust, staged, action.transition);
    } catch (error) {
      if (!isHotpatchError(error)) return failed(report, error);
      const ms = performance.now() - t0;
      const requests = this.supervisor.counters().generated - before.generated;
      await this.afterApplyError(report, action, error, { requests, ms: round(ms), detail: error.message });
      return report;
    }
    if (action.whileHeld) this.supervisor.release();
    await this.check(`after applying ${patch}`);
    const detection = await this.observe(patch);
    if (detection) {
      report.detection = detection;
      report.recovery = await this.recover(patch, detection.by);
      await this.check(`after recovering from ${patch}`);
    }
    return report;
  }

  async revert(index: number, action: ScenarioAction): Promise<ActionReport> {
    const patch = action.revert!;
    const report: ActionReport = { index, action: "revert", patch, kind: "revert", outcome: "reverted" };
    try {
      await this.supervisor.revert(patch, action.transition ?? DEFAULT_TRANSITION);
    } catch (error) {
      report.outcome = isHotpatchError(error) ? "refused" : "failed";
      report.code = isHotpatchError(error) ? error.code : undefined;
      report.message = (error as Error).message;
    }
    await this.check(`after reverting ${patch}`);
    return report;
  }

  private async waitForHeld(index: number): Promise<void> {
    if (!this.held) throw new HotpatchError("E_USAGE", `actions[${index}] waits for a held request, but the scenario holds none ("hold")`);
    await this.held;
  }

  private async inject(bytes: Uint8Array, trust: TrustStore, staged: Map<string, StagedPatch>, transition: TransitionSpec | undefined): Promise<void> {
    const s = stagePatch(bytes, trust);
    staged.set(s.id, s);
    await this.supervisor.apply(s, transition ?? DEFAULT_TRANSITION);
  }

  /** An apply that failed with a stable code: a crash (the process restarted) or a refusal (nothing changed). */
  private async afterApplyError(report: ActionReport, action: ScenarioAction, error: HotpatchError, seen: Omit<DetectionReport, "by">): Promise<void> {
    report.code = error.code;
    report.message = error.message;
    if (error.code === "E_CRASHED") {
      // The process died before acknowledging: the supervisor restarted it with the patches it had recorded.
      report.outcome = "crashed";
      report.detection = { by: "crash", ...seen };
      report.recovery = await this.restartRecovery();
    } else {
      report.outcome = "refused";
      report.detection = { by: "refusal", ...seen };
      report.recovery = { action: "refusal", ms: 0, ok: true, detail: "nothing changed: the process kept its code" };
    }
    if (action.whileHeld) this.supervisor.release();
    await this.check(`after ${report.patch} was ${report.outcome}`);
  }

  /** The supervisor's restart after a crash, checked. */
  private async restartRecovery(): Promise<RecoveryReport> {
    const r0 = performance.now();
    const ok = (await this.check("after the restart")) !== undefined;
    return { action: "restart", ms: round(performance.now() - r0), ok, detail: `restarted with [${this.supervisor.installed().join(", ")}]` };
  }

  /**
   * Health checks after an apply: until a detection, or `window` healthy requests.
   *
   * The latency window starts once the requests already due at the apply have
   * been served: a queue that an earlier stall left behind (a stretched
   * transition wait, a hold) drains with queueing delay the patch did not cause.
   * The `window` healthy requests are counted from there too.
   */
  private async observe(patch: string): Promise<DetectionReport | undefined> {
    const start = this.supervisor.counters();
    const t0 = performance.now();
    const first = await this.snapshot();
    const drainedAt = start.generated + (first?.backlog ?? 0);
    let baseLatency: hdr.Histogram | undefined;
    const detected = (by: Detection, detail: string): DetectionReport => {
      const report = { by, requests: this.supervisor.counters().generated - start.generated, ms: round(performance.now() - t0), detail };
      this.say(`detected ${by} ${report.requests} requests (${report.ms} ms) after ${patch}: ${detail}`);
      return report;
    };
    for (;;) {
      const c = this.supervisor.counters();
      if (c.failed > start.failed || c.restarts > start.restarts) {
        const restart = this.supervisor.events.findLast((e) => e.op === "restart");
        const message = restart?.op === "restart" ? restart.error.message : "a request failed";
        return detected(message.includes("deadline") ? "watchdog" : "crash", message);
      }
      if (c.generated - drainedAt >= this.health.window) return undefined;
      const snap = await this.snapshot();
      if (snap && !baseLatency && c.generated >= drainedAt) baseLatency = hdr.decodeFromCompressedBase64(snap.latency);
      if (snap?.health) {
        const h = snap.health;
        if (h.slotMismatches.length > 0) this.audits.push(`while watching ${patch}: slots ${h.slotMismatches.join(", ")} do not hold the recorded entries`);
        if (h.staticDigest !== this.staticDigest) return detected("static-digest", "the image's static data changed (a write outside the patch's own data)");
        if (h.memoryBytes > this.health.memoryLimitBytes) return detected("memory-limit", `memory ${h.memoryBytes} bytes exceeds the limit of ${this.health.memoryLimitBytes}`);
        if (baseLatency && this.supervisor.counters().restarts === start.restarts) {
          const window = hdr.decodeFromCompressedBase64(snap.latency);
          window.subtract(baseLatency);
          const p99 = window.totalCount >= 10 ? window.getValueAtPercentile(99) : 0;
          if (p99 > this.health.latencyLimitMicros) {
            return detected("latency", `p99 latency ${p99} µs over ${window.totalCount} requests exceeds ${this.health.latencyLimitMicros} µs`);
          }
        }
      }
      await sleep(10);
    }
  }

  /** Revert (retried while the process restarts); restart too when the damage is in memory. */
  private async recover(patch: string, by: Detection): Promise<RecoveryReport> {
    const t0 = performance.now();
    const restart = by === "static-digest" || by === "memory-limit";
    const { ok, detail: revertDetail } = await this.revertWhileRestarting(patch);
    let detail = revertDetail;
    if (ok && restart) {
      await this.supervisor.restartNow(`${patch} damaged memory (${by}); a revert cannot undo that`);
      detail += "; restarted the process to reload its memory";
    }
    const ms = round(performance.now() - t0);
    this.say(`recovery: ${detail} in ${ms} ms`);
    return { action: restart ? "revert+restart" : "revert", ms, ok, detail };
  }

  /** Reverts the patch, retried while the revert meets a crash; a patch no longer installed counts as reverted. */
  private async revertWhileRestarting(patch: string): Promise<{ ok: boolean; detail: string }> {
    for (let attempt = 1; attempt <= RECOVERY_ATTEMPTS; attempt++) {
      try {
        await this.supervisor.revert(patch);
        return { ok: true, detail: `reverted ${patch} (attempt ${attempt})` };
      } catch (error) {
        if (isHotpatchError(error) && error.code === "E_NOT_APPLIED") return { ok: true, detail: `${patch} was no longer installed` };
        if (!isHotpatchError(error) || error.code !== "E_CRASHED") return { ok: false, detail: `revert failed: ${(error as Error).message}` };
      }
    }
    return { ok: false, detail: "" };
  }

  /** A snapshot, or undefined when the process crashed meanwhile (the pending one is then rejected). */
  private async snapshot(): Promise<WorkerReport | undefined> {
    try {
      return await this.supervisor.snapshot();
    } catch (error) {
      if (isHotpatchError(error) && error.code === "E_CRASHED") return undefined;
      throw error;
    }
  }
}

/** An apply that threw without a stable code. */
function failed(report: ActionReport, error: unknown): ActionReport {
  report.outcome = "failed";
  report.message = `an exception without a stable code: ${error instanceof Error ? error.message : String(error)}`;
  return report;
}
