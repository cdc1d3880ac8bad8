/**
 * The consistency model in a worker process: a long SCAN request holds
 * `handle` and `handleScan` on the guest's stack. It is stopped at its first
 * safe point (the `holdAt` fault point) until the test releases it, so every
 * interleaving below is fixed, not timed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { scanRequest } from "../engine/guests/index.ts";
import { isHeld, isLog, type LiveKit, liveKit, stage, supervise, until } from "./live-fixtures.ts";
import { asyncRefusal } from "./refusal.ts";

const HOLD = 20;
const load = { seed: 5, rate: 2000, count: Number.POSITIVE_INFINITY, script: { [HOLD]: [...scanRequest(500)] } };

let kit: LiveKit;
beforeAll(async () => {
  kit = await liveKit();
});

async function heldSupervisor() {
  const supervisor = await supervise(kit, load, { holdAt: HOLD });
  await supervisor.next(isHeld);
  return supervisor;
}

describe("transitions at safe points", () => {
  it("waits while a patched function is active and completes once the long request returns", async () => {
    const supervisor = await heldSupervisor();
    const applied = supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 60_000, onStall: "reverse" });
    await supervisor.next(isLog("blocked: function handleScan is active"));
    expect(supervisor.installed()).toEqual([]);
    supervisor.release();
    const report = await applied;
    expect(report).toMatchObject({ state: "complete", forced: false, blockedBy: "handleScan", midRequest: false });
    expect(report.blockedChecks).toBeGreaterThan(0);
    expect(report.atIndex).toBeGreaterThan(HOLD); // after the SCAN returned
    expect(supervisor.transcript).toEqual([
      "KB5036002: starting patching transition (handleScan)",
      "KB5036002: blocked: function handleScan is active",
      "KB5036002: patching complete",
    ]);
    await supervisor.stop();
  });

  it("switches inside the long request when none of the patch's functions is active", async () => {
    const supervisor = await heldSupervisor();
    const report = await supervisor.apply(stage(kit, kit.echoFix));
    expect(report).toMatchObject({ state: "complete", blockedChecks: 0, midRequest: true, atIndex: HOLD + 1 });
    supervisor.release();
    await supervisor.stop();
  });

  it("reports a stall naming the blocking function and reverses it, leaving the old code", async () => {
    const supervisor = await heldSupervisor();
    const error = await asyncRefusal(() => supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 20, onStall: "reverse" }), "E_STALLED");
    expect(error.context).toMatchObject({ patch: "KB5036002", function: "handleScan" });
    expect(supervisor.transcript.slice(-2)).toEqual([
      "KB5036002: stalled after 20 ms: function handleScan is active",
      "KB5036002: reversing patching transition",
    ]);
    expect(supervisor.installed()).toEqual([]);
    supervisor.release();
    await until(() => supervisor.counters().generated > HOLD + 1); // the SCAN has returned
    // Nothing was left behind: the same patch applies cleanly once the SCAN is over.
    const again = await supervisor.apply(stage(kit, kit.scanFix));
    expect(again).toMatchObject({ state: "complete", blockedChecks: 0 });
    const final = await supervisor.stop();
    expect(final.metrics.failed).toBe(0);
  });

  it("forces a waiting transition while the function is still active", async () => {
    const supervisor = await heldSupervisor();
    const applied = supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 60_000, onStall: "wait" });
    await supervisor.next(isLog("blocked: function handleScan is active"));
    supervisor.force();
    const report = await applied;
    expect(report).toMatchObject({ state: "complete", forced: true, activeAtSwitch: ["handleScan"], midRequest: true });
    expect(supervisor.transcript).toContain("KB5036002: forcing: handleScan still active");
    supervisor.release();
    const final = await supervisor.stop();
    expect(final.installed).toEqual(["KB5036002"]);
    expect(final.metrics.failed).toBe(0);
  });

  it("refuses a second transition while one is in progress, and a revert of a patch that is not installed", async () => {
    const supervisor = await heldSupervisor();
    const first = supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 60_000, onStall: "wait" });
    await supervisor.next(isLog("blocked"));
    await expect(supervisor.apply(stage(kit, kit.echoFix))).rejects.toMatchObject({ code: "E_TRANSITION_BUSY" });
    supervisor.reverse();
    await expect(first).rejects.toMatchObject({ code: "E_STALLED" });
    await expect(supervisor.revert("KB5036001")).rejects.toMatchObject({ code: "E_NOT_APPLIED" });
    supervisor.release();
    await supervisor.stop();
  });
});
