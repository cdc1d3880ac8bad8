import { describe, expect, it } from "vitest";
import { dueAt, dueBy, type LoadSpec } from "../engine/load/index.ts";

const spec: LoadSpec = { seed: 1, rate: 400, count: 1000 };

describe("the load schedule", () => {
  it("puts request i at i / rate after the start", () => {
    expect(dueAt(spec, 0, 100, 0)).toBe(100);
    expect(dueAt(spec, 0, 100, 400)).toBe(1100);
    expect(dueAt(spec, 200, 100, 600)).toBe(1100);
  });

  it("counts the requests due by a time, and dueBy inverts dueAt", () => {
    expect(dueBy(spec, 0, 100, 50)).toBe(0);
    expect(dueBy(spec, 0, 100, 100)).toBe(1);
    expect(dueBy(spec, 0, 100, 1100)).toBe(401);
    expect(dueBy(spec, 200, 100, 1100)).toBe(601);
    for (const i of [0, 1, 17, 399, 998]) {
      const t = dueAt(spec, 0, 100, i);
      expect(dueBy(spec, 0, 100, t)).toBe(i + 1);
      expect(dueBy(spec, 0, 100, t - 0.001)).toBe(i);
    }
  });

  it("never counts past the run's last request", () => {
    expect(dueBy(spec, 0, 0, 1e9)).toBe(1000);
  });
});
