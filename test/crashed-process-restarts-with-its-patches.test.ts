/**
 * Crash and recovery: a request that never returns trips the watchdog; the
 * supervisor terminates the worker, counts the request in flight as failed,
 * restarts the process from its image with its installed patches re-applied,
 * and the load goes on — the final state equals a replay with the restart at
 * the same request.
 */
import { describe, expect, it } from "vitest";
import { scanRequest } from "../engine/guests/index.ts";
import { replay } from "../engine/stress/index.ts";
import { liveKit, stage, supervise, until } from "./live-fixtures.ts";

describe("a crashed process", () => {
  it("is restarted with its hotpatches re-applied, and the request in flight counts as failed", async () => {
    const kit = await liveKit();
    const HANG = 300;
    const load = { seed: 9, rate: 1000, count: 600, script: { [HANG]: [...scanRequest(0xffffffff)] } };
    const supervisor = await supervise(kit, load, { deadlineMs: 200 });
    const patch = stage(kit, kit.echoFix);
    await supervisor.apply(patch);
    await until(() => supervisor.counters().restarts === 1);
    await until(() => supervisor.counters().generated === 600);
    const final = await supervisor.stop();

    const { generated, served, failed, restarts, patchLevel } = final.metrics;
    expect({ generated, served, failed, restarts, patchLevel }).toEqual({ generated: 600, served: 599, failed: 1, restarts: 1, patchLevel: 1 });
    expect(final.installed).toEqual(["KB5036001"]);
    const restart = supervisor.events.find((e) => e.op === "restart");
    expect(restart).toMatchObject({ op: "restart", atIndex: HANG + 1, failed: HANG });
    expect(supervisor.transcript.at(-1)).toBe(`process restarted at request ${HANG + 1} with KB5036001`);

    const reference = replay(kit.image, load, generated, supervisor.events, new Map([[patch.id, patch]]));
    expect(final.state).toEqual(reference.state);
  });
});
