/**
 * The package fuzzer on a seeded few hundred cases: mutated packages, most
 * re-signed with the trusted key, each applied to a fresh running process in
 * a worker with a watchdog. Every case is refused with a stable code and no
 * change, or applied completely (and reverted exactly): no crash, no hang,
 * no partial swap. Cases reach every stage up to the swap.
 */
import { describe, expect, it } from "vitest";
import { runFuzz } from "../engine/fuzz/index.ts";

describe("the package fuzzer", () => {
  it("finds every case refused cleanly or applied completely, and reaches the swap", async () => {
    const { summary, details } = await runFuzz({ cases: 400, seed: 7 });
    expect(details.failures).toEqual([]);
    expect(summary).toMatchObject({ cases: 400, crashes: 0, partial: 0 });
    expect(summary.refused + summary.applied).toBe(400);
    expect(details.resigned).toBeGreaterThanOrEqual(200);
    for (const stage of ["parser", "signature", "manifest", "codePage", "compile", "linker", "swap", "applied"] as const) {
      expect(summary.byStage[stage]).toBeGreaterThan(0);
    }
    expect(Object.keys(summary.byCode).every((code) => /^E_[A-Z_]+$/.test(code))).toBe(true);
    expect(Object.values(summary.byCode).reduce((a, b) => a + b, 0)).toBe(summary.refused);
    // Seeded: the same seed gives the same outcomes.
    const again = await runFuzz({ cases: 100, seed: 7 });
    const first = await runFuzz({ cases: 100, seed: 7 });
    expect(again.summary).toEqual(first.summary);
  });
});
