/**
 * Every ready scenario of experiments/ on a live worker process: each fault
 * fires, the engine detects it (refusal, crash, watchdog, latency, static
 * digest, memory limit) within the scenario's bound, recovers as the
 * scenario documents, and every invariant holds — no partial patch, no lost
 * request or record, known-good behaviour after recovery, the host alive.
 * Together they cover the worker-side fault points (after-swap,
 * before-report, transition.wait, restart) and every faulty-patch kind.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.ts";
import { EXPERIMENTS_DIR, readScenario } from "../engine/experiment/scenario.ts";
import { FAULTY_KINDS } from "../engine/experiment/faulty-patches.ts";
import { listExperiments, runExperiment } from "../engine/experiment/index.ts";
import { FAULT_POINT_NAMES } from "../engine/faults/points.ts";

const scenarios = listExperiments();

describe("the ready experiments", () => {
  // The install's points belong to the management plane and vm-pool.load to hotpatch serve's VM pool:
  // experiments run one process, so those are covered by their own tests.
  it("are at least 8, and together inject every fault point but the install's two, the VM pool's, and every faulty-patch kind", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(8);
    const read = scenarios.map((p) => readScenario(p));
    const points = new Set(read.flatMap((s) => (s.faults ?? []).map((f) => f.point)));
    expect([...points].sort()).toEqual(FAULT_POINT_NAMES.filter((p) => !p.startsWith("install.") && p !== "vm-pool.load").sort());
    const kinds = new Set(read.flatMap((s) => s.actions.flatMap((a) => (a.faulty ? [a.faulty] : []))));
    expect([...kinds].sort()).toEqual(Object.keys(FAULTY_KINDS).sort());
  });

  for (const path of scenarios) {
    const name = path.slice(EXPERIMENTS_DIR.length);
    it(`${name}: the fault fires, is detected and recovered as documented, every invariant holds`, async () => {
      const report = await runExperiment(path);
      const failed = report.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`);
      expect(failed).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.requests.lost).toBe(0);
      for (const f of report.injected.faults) expect(f.fires).toBeGreaterThan(0);
    });
  }
});

describe("hotpatch experiment", () => {
  it("lists the scenarios' paths as JSON", async () => {
    const { status, stdout } = await runCli(["experiment", "list", "--json"]);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual(scenarios);
  });

  it("runs a scenario and exits non-zero when an invariant fails (a fault that never fires, a wrong expectation)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hotpatch-experiment-"));
    const path = join(dir, "never-fires.json");
    writeFileSync(
      path,
      JSON.stringify({
        name: "never-fires",
        question: "Does a fault that never fires fail the run?",
        seed: 3,
        image: join(EXPERIMENTS_DIR, "../assembly/kvstore/v1.ts"),
        load: { rate: 500, requests: 300 },
        faults: [{ point: "after-swap", mode: "crash" }],
        actions: [{ at: 50, apply: "KB5036106", faulty: "corrupt", expect: { outcome: "refused", code: "E_FORMAT" } }],
      }),
    );
    const report = join(dir, "report.md");
    const { status, stdout } = await runCli(["experiment", "run", path, "--json", "--report", report]);
    expect(status).toBe(1);
    const result = JSON.parse(stdout);
    expect(result.ok).toBe(false);
    const failed = result.invariants.filter((i: { ok: boolean }) => !i.ok).map((i: { name: string }) => i.name);
    expect(failed).toEqual(["fault-fired", "documented-behaviour"]);
    expect(result.actions[0]).toMatchObject({ outcome: "refused", code: "E_SIGNATURE", detection: { by: "refusal" } });
  });
});
