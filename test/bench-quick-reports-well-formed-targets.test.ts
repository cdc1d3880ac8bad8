import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeResults } from "../bench/report.ts";
import { type BenchResults, runBench, SUITES } from "../bench/run.ts";
import { isMet } from "../bench/lib/stats.ts";

// A tiny configuration of the runner: --quick sizes, the suites that need no
// generated guests and no cold CLI start. No timing is asserted, only shape.
const SMOKE_SUITES = ["restart", "storm", "apply-floor"];
const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("hotpatch bench --quick", () => {
  let results: BenchResults;

  it("runs the selected suites and records the machine", async () => {
    results = await runBench({ quick: true, suites: SMOKE_SUITES });
    expect(results.suites.map((s) => s.name)).toEqual(SMOKE_SUITES);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.packages.binaryen).toMatch(/^\d+\./);
  }, 120_000);

  it("gives every target a numeric goal and a `met` computed from goal and value", () => {
    for (const suite of results.suites) {
      expect(suite.targets.length).toBeGreaterThan(0);
      for (const t of suite.targets) {
        expect(typeof t.name).toBe("string");
        expect(typeof t.goal).toBe("number");
        expect(typeof t.unit).toBe("string");
        if (t.skipped) {
          expect(t.met).toBeNull();
          expect(t.reason).toBeTruthy();
        } else {
          expect(typeof t.value).toBe("number");
          expect(t.met).toBe(isMet(t.goal, t.value as number, t.comparison));
        }
      }
    }
  });

  it("reports p99 only from at least 1,000 samples", () => {
    for (const d of results.suites.flatMap((s) => s.distributions)) {
      if (d.n < 1000) expect(d.p99).toBeNull();
      else expect(typeof d.p99).toBe("number");
    }
  });

  it("writes JSON, Markdown and SVG", () => {
    writeResults(results, out);
    const files = readdirSync(out).sort();
    expect(files.map((f) => f.split(".").pop())).toEqual(["json", "md", "svg"]);
    const json = JSON.parse(readFileSync(join(out, files[0]), "utf8")) as BenchResults;
    expect(json.suites.length).toBe(SMOKE_SUITES.length);
    expect(readFileSync(join(out, files[1]), "utf8")).toContain("| suite | target | goal | value | met |");
  });

  it("knows every benchmark suite docs/benchmarks.md describes", () => {
    const docs = readFileSync(join(import.meta.dirname, "..", "docs", "benchmarks.md"), "utf8");
    const table = docs.slice(docs.indexOf("## The suites"), docs.indexOf("## How to read them"));
    const described = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(described.length).toBeGreaterThan(0);
    expect(SUITES.map((s) => s.name)).toEqual(described);
  });
});
