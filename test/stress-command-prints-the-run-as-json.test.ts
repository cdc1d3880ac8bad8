/** `hotpatch stress --json`: one JSON object with exactly the documented fields, from a real worker run. */
import { describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.ts";

describe("hotpatch stress", () => {
  it("prints requests, failures, flips, pauses, latencies and the reference check", async () => {
    const { status, stdout } = await runCli(["stress", "--rate", "2000", "--duration", "0.5", "--flips", "5", "--seed", "3", "--json"]);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(["requests", "failed", "lost", "applies", "reverts", "pause", "latency", "finalStateMatches"]);
    expect(result).toMatchObject({ requests: 1000, failed: 0, lost: 0, applies: 5, reverts: 5, finalStateMatches: true });
    for (const key of ["pause", "latency"]) expect(Object.keys(result[key])).toEqual(["p50", "p99", "max"]);
    expect(status).toBe(0);
  });

  // The run above serves the default mode (inline); the other mode is one flag away.
  it("serves a slots-mode image (--mode slots) in the worker through every flip and matches the reference", async () => {
    const { status, stdout } = await runCli(["stress", "--mode", "slots", "--rate", "2000", "--duration", "0.5", "--flips", "5", "--seed", "4", "--json"]);
    expect(JSON.parse(stdout)).toMatchObject({ requests: 1000, failed: 0, lost: 0, applies: 5, reverts: 5, finalStateMatches: true });
    expect(status).toBe(0);
  });

  it("refuses an unknown image mode with E_USAGE", async () => {
    const { status, stdout } = await runCli(["stress", "--mode", "fast", "--rate", "10", "--duration", "1", "--flips", "1", "--json"]);
    expect(JSON.parse(stdout).error.code).toBe("E_USAGE");
    expect(status).toBe(2);
  });

  it("refuses a guest that is not a folder of assembly/ with E_USAGE", async () => {
    const { status, stdout } = await runCli(["stress", "--guest", "../etc", "--rate", "10", "--duration", "1", "--flips", "1", "--json"]);
    expect(JSON.parse(stdout).error.code).toBe("E_USAGE");
    expect(status).toBe(2);
  });
});
