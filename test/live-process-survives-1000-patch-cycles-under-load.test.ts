/**
 * Sustained load in a worker process while the control plane applies and
 * reverts a hotpatch 1,000 times: nothing fails, nothing is lost, and the
 * final state equals an in-thread replay of the same requests with every
 * switch at the request index where it happened.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { replay } from "../engine/stress/index.ts";
import type { StagedPatch } from "../engine/loader/index.ts";
import { type LiveKit, liveKit, stage, supervise } from "./live-fixtures.ts";

let kit: LiveKit;
beforeAll(async () => {
  kit = await liveKit();
});

describe("a live process under load", () => {
  it("takes 1,000 apply/revert cycles with zero failed or lost requests and ends in the reference state", async () => {
    const load = { seed: 42, rate: 4000, count: Number.POSITIVE_INFINITY };
    const supervisor = await supervise(kit, load);
    const staged = new Map<string, StagedPatch>();
    for (let cycle = 0; cycle < 1000; cycle++) {
      const patch = stage(kit, kit.echoFix);
      staged.set(patch.id, patch);
      const applied = await supervisor.apply(patch);
      expect(applied.state).toBe("complete");
      await supervisor.revert(patch.id);
    }
    const final = await supervisor.stop();
    const { generated, served, failed, transitions, patchLevel } = final.metrics;
    expect({ failed, lost: generated - served - failed, transitions, patchLevel }).toEqual({ failed: 0, lost: 0, transitions: 2000, patchLevel: 0 });
    expect(generated).toBeGreaterThan(0);
    expect(supervisor.events.filter((e) => e.op === "apply")).toHaveLength(1000);

    const reference = replay(kit.image, load, generated, supervisor.events, staged);
    expect(reference.exact).toBe(true);
    expect(final.state).toEqual(reference.state);
  });

  it("keeps a live counter snapshot consistent while the guest runs", async () => {
    const supervisor = await supervise(kit, { seed: 1, rate: 20000, count: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 2000; i++) {
      const m = supervisor.counters();
      expect(m.served + m.failed + m.inFlight).toBe(m.generated);
    }
    await supervisor.stop();
  });
});
