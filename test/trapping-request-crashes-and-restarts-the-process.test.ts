/**
 * Crash by trap: a patch whose STATS handler traps is installed; the first
 * STATS request traps in the worker, the process is marked crashed, the
 * request counts as failed, and the supervisor restarts the process from its
 * image with its installed patches re-applied (a real OS keeps installed
 * hotpatches across a restart too — the trap comes back with the next STATS).
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { statsRequest } from "../engine/guests/index.ts";
import { Op } from "../engine/guests/kvstore.ts";
import { requestAt } from "../engine/load/index.ts";
import { replay } from "../engine/stress/index.ts";
import { hotpatch } from "./guest-fixtures.ts";
import { liveKit, stage, supervise, until } from "./live-fixtures.ts";

const TRAP_FIXTURE = fileURLToPath(new URL("./fixtures/live/trap-stats.ts", import.meta.url));

describe("a request that traps", () => {
  it("crashes the process, fails only that request, and the restarted process has its patches again", async () => {
    const kit = await liveKit();
    const faulty = (await hotpatch(kit.image, TRAP_FIXTURE, "KB5036003", kit.keys.privateKey)).package;
    const AT = 250;
    const load = { seed: 21, rate: 1000, count: 500, script: { [AT]: [...statsRequest()] } };
    const supervisor = await supervise(kit, load, { deadlineMs: 5_000 });
    const patch = stage(kit, faulty);
    await supervisor.apply(patch);
    await until(() => supervisor.counters().generated === 500);
    const final = await supervisor.stop();

    // Every STATS request from the patch on traps: the scripted one, and those of the seeded stream.
    const applied = supervisor.events.find((e) => e.op === "apply")!.atIndex;
    const trapping: number[] = [];
    for (let i = applied; i < 500; i++) if (requestAt(load, i)[0] === Op.STATS) trapping.push(i);
    expect(trapping).toContain(AT);

    const { generated, served, failed, restarts } = final.metrics;
    expect({ generated, served, failed, restarts }).toEqual({ generated: 500, served: 500 - trapping.length, failed: trapping.length, restarts: trapping.length });
    expect(final.installed).toEqual(["KB5036003"]);
    const restarts_ = supervisor.events.filter((e) => e.op === "restart");
    expect(restarts_.map((e) => (e as { failed: number | null }).failed)).toEqual(trapping);
    expect(restarts_.every((e) => (e as { error: { code: string } }).error.code === "E_GUEST_TRAP")).toBe(true);
    const reference = replay(kit.image, load, generated, supervisor.events, new Map([[patch.id, patch]]));
    expect(final.state).toEqual(reference.state);
  });
});

