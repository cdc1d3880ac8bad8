/**
 * The worker cuts its work between requests into steps (receive, prepare,
 * switch, report): a transition's transcript lines travel in one message
 * with its report and still reach listeners line by line, before the
 * report; and an overloaded loop, where a request is always waiting, still
 * gets every transition through.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Activity, GuestProcess } from "../engine/process/index.ts";
import type { WorkerMessage } from "../engine/worker/index.ts";
import { unpackPost } from "../engine/worker/worker-protocol.ts";
import { scanRequest } from "../engine/guests/index.ts";
import { isHeld, type LiveKit, liveKit, stage, supervise } from "./live-fixtures.ts";

let kit: LiveKit;
beforeAll(async () => {
  kit = await liveKit();
});

describe("worker steps", () => {
  it("unpacks a batch of transcript lines into one log message per line, before the report", () => {
    const report = { state: "complete" } as never;
    expect(unpackPost({ type: "transition", id: 7, report, lines: ["a", "b"] })).toEqual([
      { type: "log", line: "a" },
      { type: "log", line: "b" },
      { type: "transition", id: 7, report },
    ]);
    expect(unpackPost({ type: "log", lines: ["c"] })).toEqual([{ type: "log", line: "c" }]);
    expect(unpackPost({ type: "held", index: 3 })).toEqual([{ type: "held", index: 3 }]);
  });

  it("delivers a transition's transcript to listeners before its report", async () => {
    const supervisor = await supervise(kit, { seed: 3, rate: 2000, count: Number.POSITIVE_INFINITY });
    const seen: WorkerMessage[] = [];
    const done = supervisor.next((m) => {
      seen.push(m);
      return m.type === "transition";
    });
    const report = await supervisor.apply(stage(kit, kit.echoFix));
    await done;
    expect(report.state).toBe("complete");
    expect(seen.map((m) => (m.type === "log" ? m.line : m.type))).toEqual([
      "KB5036001: starting patching transition (handleEcho)",
      "KB5036001: patching complete",
      "transition",
    ]);
    expect(supervisor.counters().patchLevel).toBe(1); // metrics are updated before the report is posted
    await supervisor.stop();
  });

  it("completes transitions when a request is always waiting (the load is far above what the worker serves)", async () => {
    const supervisor = await supervise(kit, { seed: 4, rate: 10_000_000, count: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 5; i++) {
      const staged = stage(kit, kit.echoFix);
      expect((await supervisor.apply(staged)).state).toBe("complete");
      expect((await supervisor.revert(staged.id)).state).toBe("complete");
    }
    const final = await supervisor.stop();
    expect(final.installed).toEqual([]);
    expect(final.metrics.failed).toBe(0);
    expect(final.metrics.transitions).toBe(10);
  });

  it("forces a transition whose force arrives before its prepare step ran", async () => {
    const HOLD = 10;
    const load = { seed: 5, rate: 2000, count: Number.POSITIVE_INFINITY, script: { [HOLD]: [...scanRequest(500)] } };
    const supervisor = await supervise(kit, load, { holdAt: HOLD });
    await supervisor.next(isHeld); // handleScan is on the stack until released
    const applied = supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 60_000, onStall: "wait" });
    supervisor.force(); // posted right behind the apply: queued after its prepare step, not dropped
    const report = await applied;
    expect(report).toMatchObject({ state: "complete", forced: true, activeAtSwitch: ["handleScan"] });
    supervisor.release();
    await supervisor.stop();
  });

  it("names the first active function without building a list", () => {
    const process = GuestProcess.start(kit.image);
    const activity = new Activity(process);
    const counted = activity.counted();
    expect(counted.length).toBeGreaterThan(0);
    expect(activity.firstActive(counted)).toBeUndefined(); // between requests nothing is on the stack
    expect(activity.firstActive([])).toBeUndefined();
  });
});
