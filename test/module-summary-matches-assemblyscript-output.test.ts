import asc from "assemblyscript/asc";
import { beforeAll, describe, expect, it } from "vitest";
import { exportedFunctionSignature, formatSignature, readModuleSummary } from "../engine/format/index.ts";

const SOURCE = `
export function add(a: i32, b: i32): i32 { return a + b; }
export function scale(x: f64, k: f32): f64 { return x * <f64>k; }
export function tick(): void { counter++; }
export function wide(a: i64, b: u64): i64 { return a * <i64>b; }
export function positive(x: i32): i32 { assert(x > 0, "must be positive"); return x; }
export let counter: i32 = 0;
export const LIMIT: i64 = 10;
`;

/** What the source above declares, as the reader should report it. */
const EXPECTED_SIGNATURES: Record<string, string> = {
  add: "(i32,i32)->i32",
  scale: "(f64,f32)->f64",
  tick: "()->()",
  wide: "(i64,i64)->i64",
  positive: "(i32)->i32",
};

async function compile(options: Record<string, unknown>): Promise<Uint8Array<ArrayBuffer>> {
  const result = await asc.compileString({ "guest.ts": SOURCE }, { runtime: "stub", ...options });
  if (result.error || !result.binary) throw new Error(`asc failed: ${result.error}\n${result.stderr.toString()}`);
  return new Uint8Array(result.binary);
}

describe("readModuleSummary on AssemblyScript output", () => {
  const builds: Record<string, Uint8Array<ArrayBuffer>> = {};

  beforeAll(async () => {
    builds.debug = await compile({ optimizeLevel: 0, debug: true });
    builds.optimized = await compile({ optimizeLevel: 3, shrinkLevel: 1, exportTable: true });
  });

  for (const build of ["debug", "optimized"]) {
    describe(`the ${build} build`, () => {
      it("lists the same exports, in the same order, as WebAssembly.Module", () => {
        const bytes = builds[build];
        const summary = readModuleSummary(bytes);
        const reported = WebAssembly.Module.exports(new WebAssembly.Module(bytes));
        expect(summary.exports.map(({ name, kind }) => ({ name, kind }))).toEqual(reported);
      });

      it("gives every exported function the signature the source declares", () => {
        const summary = readModuleSummary(builds[build]);
        for (const [exportName, expected] of Object.entries(EXPECTED_SIGNATURES)) {
          const sig = exportedFunctionSignature(summary, exportName);
          expect(sig && formatSignature(sig), exportName).toBe(expected);
        }
      });

      it("gives signatures whose parameter counts match the instantiated functions", async () => {
        const bytes = builds[build];
        const summary = readModuleSummary(bytes);
        const { instance } = await WebAssembly.instantiate(bytes, {
          env: { abort: () => {} },
        });
        for (const name of Object.keys(EXPECTED_SIGNATURES)) {
          const fn = instance.exports[name] as (...args: unknown[]) => unknown;
          expect(exportedFunctionSignature(summary, name)?.params.length, name).toBe(fn.length);
        }
        expect((instance.exports.add as (a: number, b: number) => number)(2, 3)).toBe(5);
      });

      it("sees the abort import ahead of the defined functions", () => {
        const summary = readModuleSummary(builds[build]);
        expect(summary.imports).toEqual([
          {
            module: "env",
            name: "abort",
            kind: "function",
            signature: { params: ["i32", "i32", "i32", "i32"], results: [] },
          },
        ]);
        expect(summary.definedMemoryCount).toBe(1);
        expect(summary.exports.find((e) => e.name === "counter")?.kind).toBe("global");
      });
    });
  }

  it("finds the exported table of the optimized build and the debug build's name section", () => {
    expect(readModuleSummary(builds.optimized).exports.some((e) => e.kind === "table")).toBe(true);
    expect(readModuleSummary(builds.debug).customSections.map((c) => c.name)).toContain("name");
  });

  // How long a summary takes is measured by bench/ (suite apply-latency, phase "manifest + code page checks"), not asserted here.
  it("summarises a real module the same way on every call", () => {
    const first = readModuleSummary(builds.debug);
    expect(first.functions.length).toBeGreaterThan(0);
    for (let round = 0; round < 3; round++) expect(readModuleSummary(builds.debug)).toEqual(first);
  });
});
