/**
 * A worker acknowledges each switch in the shared metrics before any request
 * runs the new code; its report is posted later. A worker that dies in
 * between (new code that hangs at once and is killed by the watchdog, or the
 * `before-report` fault point) leaves an apply that happened: the supervisor
 * counts it as applied, restarts the process with the patch re-applied and
 * settles the apply with a report rebuilt from the switch record. A worker
 * that dies before the acknowledgement (`after-swap`) leaves an apply that
 * did not happen: it fails with E_CRASHED and the process restarts without it.
 * An acknowledged apply whose restart had to drop the patches fails too, and
 * a transition that never switched has no acknowledgement to lose.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { scanRequest } from "../engine/guests/index.ts";
import { RESTART_ATTEMPTS } from "../engine/worker/supervisor.ts";
import { isHeld, liveKit, stage, supervise, until } from "./live-fixtures.ts";
import { asyncRefusal } from "./refusal.ts";

afterEach(() => faults.disarm());

const LOAD = { seed: 31, rate: 2000, count: 1200 };

describe("a worker that dies between a switch and its report", () => {
  it("has its apply count as applied, with the report rebuilt from the switch record and the patch re-applied", async () => {
    const kit = await liveKit();
    faults.arm({ seed: 1, rules: [{ point: "before-report", mode: "crash" }] });
    const supervisor = await supervise(kit, LOAD);
    await until(() => supervisor.counters().generated >= 200);
    const report = await supervisor.apply(stage(kit, kit.echoFix));
    expect(report).toMatchObject({ state: "complete", kind: "enable", patch: "KB5036001", installed: ["KB5036001"], rebuiltAfterCrash: true });
    expect(report.atIndex).toBeGreaterThanOrEqual(200);
    expect(report.pauseMicros).toBeGreaterThan(0);
    expect(supervisor.installed()).toEqual(["KB5036001"]);
    const ops = supervisor.events.map((e) => e.op);
    expect(ops).toEqual(["apply", "restart"]);
    await until(() => supervisor.counters().generated === LOAD.count);
    const final = await supervisor.stop();
    expect(final.installed).toEqual(["KB5036001"]);
    expect(final.metrics).toMatchObject({ restarts: 1, failed: 0, transitions: 1, served: LOAD.count });
    expect(faults.report().map((r) => r.fires)).toEqual([1]);
  });

  it("before the acknowledgement, has its apply fail with E_CRASHED and the process restart without the patch", async () => {
    const kit = await liveKit();
    faults.arm({ seed: 1, rules: [{ point: "after-swap", mode: "crash" }] });
    const supervisor = await supervise(kit, LOAD);
    await until(() => supervisor.counters().generated >= 200);
    await expect(supervisor.apply(stage(kit, kit.echoFix))).rejects.toMatchObject({ code: "E_CRASHED" });
    expect(supervisor.installed()).toEqual([]);
    expect(supervisor.events.map((e) => e.op)).toEqual(["restart"]);
    await until(() => supervisor.counters().generated === LOAD.count);
    const final = await supervisor.stop();
    expect(final.installed).toEqual([]);
    expect(final.metrics).toMatchObject({ restarts: 1, failed: 0, transitions: 0 });
  });

  it("fails with E_CRASHED when the restart had to start without patches, and the process keeps serving", async () => {
    const kit = await liveKit();
    faults.arm({
      seed: 1,
      rules: [
        { point: "before-report", mode: "crash" },
        { point: "restart", mode: "throw", times: RESTART_ATTEMPTS },
      ],
    });
    const supervisor = await supervise(kit, LOAD);
    await until(() => supervisor.counters().generated >= 200);
    const error = await asyncRefusal(() => supervisor.apply(stage(kit, kit.echoFix)), "E_CRASHED");
    expect(error.message).toContain("restarted without its patches");
    expect(supervisor.installed()).toEqual([]);
    await until(() => supervisor.counters().generated === LOAD.count);
    const final = await supervisor.stop();
    expect(final.installed).toEqual([]);
    expect(final.metrics).toMatchObject({ restarts: 1, failed: 0, served: LOAD.count });
  });

  it("does not hit before-report for a transition that was reversed (no switch, nothing acknowledged)", async () => {
    const kit = await liveKit();
    faults.arm({ seed: 1, rules: [{ point: "before-report", mode: "crash" }] });
    const HOLD = 20;
    const held = { seed: 5, rate: 2000, count: 400, script: { [HOLD]: [...scanRequest(500)] } };
    const supervisor = await supervise(kit, held, { holdAt: HOLD });
    await supervisor.next(isHeld);
    await asyncRefusal(() => supervisor.apply(stage(kit, kit.scanFix), { timeoutMs: 20, onStall: "reverse" }), "E_STALLED");
    supervisor.release();
    await until(() => supervisor.counters().generated === held.count);
    const final = await supervisor.stop();
    expect(final.metrics.restarts).toBe(0);
    expect(faults.report().map((r) => r.hits)).toEqual([0]);
  });
});
