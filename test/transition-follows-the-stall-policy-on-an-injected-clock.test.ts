/**
 * The transition state machine in-thread, driven from the guest's own safe
 * points with a fake clock: one millisecond passes per safe point.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { scanRequest } from "../engine/guests/index.ts";
import { PatchLoader, type StallPolicy, Transition, type TransitionResult } from "../engine/loader/index.ts";
import { Activity, GuestProcess } from "../engine/process/index.ts";
import { type LiveKit, liveKit, stage } from "./live-fixtures.ts";

let kit: LiveKit;
beforeAll(async () => {
  kit = await liveKit();
});

/** Starts a handleScan transition at the first safe point of a 50-round SCAN; tries to complete at every later one. */
function scanWithTransition(onStall: StallPolicy, timeoutMs: number) {
  let clock = 0;
  const log: string[] = [];
  const results: (TransitionResult | undefined)[] = [];
  let transition: Transition | undefined;
  const process = GuestProcess.start(kit.image, {
    safepoint: () => {
      clock++;
      if (!transition) transition = Transition.start(loader, activity, { kind: "enable", staged: stage(kit, kit.scanFix) }, { timeoutMs, onStall, now: () => clock, log: (l) => log.push(l) });
      results.push(transition.tryComplete());
    },
  });
  const loader = new PatchLoader(process);
  const activity = new Activity(process);
  const response = process.request(scanRequest(50));
  return { process, loader, activity, response, results, log, after: () => transition!.tryComplete() };
}

describe("a transition on an injected clock", () => {
  it("counts handle and handleScan as active inside a SCAN and nothing between requests", () => {
    const { activity } = scanWithTransition("wait", 1_000);
    expect(activity.counted().sort()).toEqual(["handle", "handleScan"]);
    expect(activity.active(["handle", "handleScan", "handleEcho"])).toEqual([]);
  });

  it("waits through the whole SCAN and switches at the first safe point after it", () => {
    const run = scanWithTransition("reverse", 1_000);
    expect(run.results.every((r) => r === undefined)).toBe(true);
    expect(run.loader.installed()).toEqual([]);
    expect(run.after()).toMatchObject({ state: "complete", blockedBy: "handleScan", blockedChecks: 50, forced: false });
    expect(run.loader.installed().map((p) => p.id)).toEqual(["KB5036002"]);
  });

  it("reverses at the timeout, naming the blocking function, and changes nothing", () => {
    const run = scanWithTransition("reverse", 10);
    const reversed = run.results.find((r) => r !== undefined);
    expect(reversed).toMatchObject({ state: "reversed", error: { code: "E_STALLED", context: { patch: "KB5036002", function: "handleScan" } } });
    expect(run.results.indexOf(reversed)).toBe(10);
    expect(run.loader.installed()).toEqual([]);
    expect(run.log).toEqual([
      "KB5036002: starting patching transition (handleScan)",
      "KB5036002: blocked: function handleScan is active",
      "KB5036002: stalled after 10 ms: function handleScan is active",
      "KB5036002: reversing patching transition",
    ]);
  });

  it("forces at the timeout with the function still on the stack", () => {
    const run = scanWithTransition("force", 10);
    expect(run.results.find((r) => r !== undefined)).toMatchObject({ state: "complete", forced: true, activeAtSwitch: ["handleScan"] });
    expect(run.loader.installed().map((p) => p.id)).toEqual(["KB5036002"]);
  });

  it("rehearses its switch when it starts: every slot keeps its entry and no swap fault point is hit", () => {
    const process = GuestProcess.start(kit.image);
    const loader = new PatchLoader(process);
    const activity = new Activity(process);
    const entries = () => Array.from({ length: process.slots.length }, (_, i) => process.slots.get(i));
    const same = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((entry, i) => entry === b[i]);
    const options = { timeoutMs: 10, onStall: "reverse" as const, now: () => 0 };
    faults.arm({ seed: 1, rules: [{ point: "swap", mode: "throw", times: 0 }] });
    try {
      const before = entries();
      const enable = Transition.start(loader, activity, { kind: "enable", staged: stage(kit, kit.echoFix) }, options);
      expect(same(entries(), before)).toBe(true);
      expect(faults.report()[0].hits).toBe(0);
      faults.disarm();
      expect(enable.tryComplete()).toMatchObject({ state: "complete" });
      const patched = entries();
      expect(same(patched, before)).toBe(false);

      faults.arm({ seed: 1, rules: [{ point: "swap", mode: "throw", times: 0 }] });
      const disable = Transition.start(loader, activity, { kind: "disable", patch: "KB5036001" }, options);
      expect(same(entries(), patched)).toBe(true);
      expect(faults.report()[0].hits).toBe(0);
      faults.disarm();
      expect(disable.tryComplete()).toMatchObject({ state: "complete" });
      expect(same(entries(), before)).toBe(true);
    } finally {
      faults.disarm();
    }
  });
});
