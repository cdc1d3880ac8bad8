/**
 * The corpus pairs a running process cannot take: each target in
 * assembly/corpus/calc/ is assembly/calc/v1.ts with one change, and the
 * builder must refuse it (no package) with the reason in words. Also the
 * pairs that are no change at all: comments only, and code moved to other
 * lines (AssemblyScript bakes line numbers into abort calls).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { PatchBuildResult } from "../engine/builder/build-patch.ts";
import { buildPatch } from "../engine/builder/index.ts";
import type { Image } from "../engine/image/index.ts";
import { CALC_V1, calcCorpus, corpus } from "./corpus-fixtures.ts";
import { image, signingKeys } from "./guest-fixtures.ts";

const keys = signingKeys();
let v1: Image;

beforeAll(async () => {
  v1 = await image(CALC_V1);
});

const build = (target: string, base: Image = v1): Promise<PatchBuildResult> => buildPatch({ base, target, id: "KB5038101", key: keys.privateKey });

/** The address of a static buffer, from the pointer global that names it. */
function bufferAddress(name: string): string {
  const init = v1.linkMap.globals.find((g) => g.key === name)!.init;
  return `0x${Number(/i32\.const (\d+)/.exec(init)![1]).toString(16)}`;
}

/** Changes of state say that a migration would make them hotpatches (their twins `<row>-migrated` are). */
const MIGRATION = "; a migration (__hotpatch_migrate) would make it a hotpatch";

const REFUSALS: { target: string; reasons: (() => string)[]; exact?: boolean }[] = [
  { target: "new-global", reasons: [() => `adds the mutable global deepest: a running process has no storage for it${MIGRATION}`], exact: true },
  { target: "removed-global", reasons: [() => `removes the mutable global errors, which holds live state${MIGRATION}`], exact: true },
  { target: "wide-steps", reasons: [() => `global steps changes from mutable i32 to mutable i64${MIGRATION}`], exact: true },
  {
    target: "more-registers",
    // The start-up code stores into the register buffer, so it changes as well (with a migration, the migration stands in for it).
    reasons: [
      () => `the static buffer at ${bufferAddress("REGISTERS")} (64 bytes) changes or disappears: it holds live state and cannot move${MIGRATION}`,
      () => `the module's start-up code changes: it already ran in the running process and cannot run again${MIGRATION}`,
    ],
    exact: true,
  },
  {
    target: "no-history",
    reasons: [() => `the static buffer at ${bufferAddress("HISTORY")} (96 bytes) changes or disappears: it holds live state and cannot move${MIGRATION}`],
    exact: true,
  },
  { target: "signature", reasons: [() => "function checkArith changes its signature from (i32,i32)->i32 to (i32,i32,i32)->i32"], exact: true },
  { target: "trace-import", reasons: [() => "adds or changes the import env.trace (i32,i32,f64,f64,f64,f64,f64)->()"], exact: true },
  { target: "reset-export", reasons: [() => "adds or changes the export reset (function reset)"], exact: true },
  { target: "step-budget", reasons: [() => "the exported constant maxSteps changes its value, which the host may have read"], exact: true },
  // A new function-pointer table brings runtime globals with it; the table entries are the reason that matters.
  { target: "native-table", reasons: [() => "adds or changes the function pointer table entry 0@1: absNative minNative maxNative powI"] },
  { target: "startup", reasons: [() => "the module's start-up code changes: it already ran in the running process and cannot run again"], exact: true },
];

describe("corpus pairs that need a baseline", () => {
  for (const { target, reasons, exact } of REFUSALS) {
    it(`refuses calc v1 → ${target}, saying why`, async () => {
      const result = await build(calcCorpus(target));
      expect(result.kind).toBe("requires-baseline");
      expect(result).not.toHaveProperty("package");
      const expected = reasons.map((reason) => reason());
      if (exact) expect([...result.reasons].sort()).toEqual([...expected].sort());
      else for (const reason of expected) expect(result.reasons).toContain(reason);
    });
  }
});

describe("a change that only start-up code reaches", () => {
  it("refuses kvstore base → rotate-token: installSecret ran at start-up and never runs again", async () => {
    const result = await build(corpus("kvstore/rotate-token.ts"), await image(corpus("kvstore/base.ts")));
    expect(result.kind).toBe("requires-baseline");
    expect(result.functions.map((f) => f.key)).toEqual(["installSecret"]);
    expect(result.reasons).toEqual([
      "function installSecret runs only at start-up, which already happened in a running process: the change would never take effect",
    ]);
  });
});

describe("corpus pairs that are no change", () => {
  it("finds no change when only comments and blank lines change", async () => {
    const result = await build(calcCorpus("comments"));
    expect(result).toMatchObject({ kind: "no-change", functions: [], reasons: [] });
  });

  it("finds no change when code moves to other lines, although the abort calls' line numbers change", async () => {
    const [before, after] = await Promise.all([image(corpus("moved-lines/before/calc.ts")), image(corpus("moved-lines/after/calc.ts"))]);
    // The two builds really differ (line numbers are constants in the code)…
    expect(after.linkMap.buildId).not.toBe(before.linkMap.buildId);
    expect(before.linkMap.imports.map((i) => `${i.module}.${i.base}`)).toContain("env.abort");
    // …but only in abort's line and column arguments, which are noise.
    const result = await build(corpus("moved-lines/after/calc.ts"), before);
    expect(result).toMatchObject({ kind: "no-change", functions: [], reasons: [] });
  });
});
