/**
 * Image mode `inline` calls library code (AssemblyScript's `~lib/` standard
 * library and runtime, except the runtime functions the compiler generates
 * per program) directly, as a plain build does, instead of through slots.
 * Library functions keep their slots (exports and code pages use them), and a
 * change to one reaches the running process through every function whose code
 * calls it: their fingerprints cover the bodies they reach through direct
 * calls and the constants those read, so the builder replaces them all and
 * each code page carries the new body (unchanged library code it calls through
 * the process's slots). Checked differentially on hand-written
 * modules whose `~lib/` function changes, and on the kvstore image's code.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvstoreVersion } from "../engine/guests/index.ts";
import { isLibraryFunction } from "../engine/image/build.ts";
import { buildImageFromPath, type Image } from "../engine/image/index.ts";
import { decodePackage } from "../engine/patch/index.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { binaryen } from "../engine/wasm/binaryen.ts";
import { IMPL_SUFFIX, withModule } from "../engine/wasm/index.ts";
import { walk } from "../engine/wasm/walk.ts";
import { readModuleSummary } from "../engine/format/index.ts";
import { hotpatch, inlineImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const keys = signingKeys();
const workDir = mkdtempSync(join(tmpdir(), "hotpatch-inline-lib-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/**
 * A module with a library function too large to inline (a chain of steps
 * over its argument) that reads a constant, an entry point that calls it
 * directly and counts its calls, and the library function also exported (so
 * the host reaches it through its slot).
 */
function moduleText(op: "i32.mul" | "i32.add", base: number): string {
  const steps = Array.from({ length: 40 }, (_, k) => `  (local.set $a (i32.xor (${k === 20 ? op : "i32.mul"} (local.get $a) (i32.const ${2 * k + 3})) (local.get $n)))`);
  return `(module
 (memory $memory 1)
 (export "memory" (memory $memory))
 (global $~lib/base i32 (i32.const ${base}))
 (global $calls (mut i32) (i32.const 0))
 (func $~lib/fold (param $n i32) (result i32) (local $a i32)
  (local.set $a (global.get $~lib/base))
${steps.join("\n")}
  (local.get $a))
 (func $main (param $n i32) (result i32)
  (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
  (i32.add (call $~lib/fold (local.get $n)) (i32.mul (global.get $calls) (i32.const 1000))))
 (export "main" (func $main))
 (export "fold" (func $~lib/fold))
)`;
}

function writeModule(name: string, text: string): string {
  const module = binaryen.parseText(text);
  try {
    binaryen.setDebugInfo(true); // keeps the names: functions match across versions by name
    const path = join(workDir, name);
    writeFileSync(path, module.emitBinary());
    return path;
  } finally {
    module.dispose();
  }
}

const bodyText = (module: binaryen.Module, name: string) => binaryen.emitText(binaryen.getFunctionInfo(module.getFunction(name)).body);

describe("a changed library function in an inline-mode image", () => {
  let base: Image;
  beforeAll(async () => {
    base = await buildImageFromPath(writeModule("v1.wasm", moduleText("i32.mul", 1)), { mode: "inline" });
  });

  it("is called directly by its callers and keeps its slot", () => {
    expect(base.linkMap.functions.map((f) => f.key).sort()).toEqual(["main", "~lib/fold"]);
    const text = withModule(base.module, (module) => bodyText(module, `main${IMPL_SUFFIX}`));
    expect(text).toContain(`(call $~lib/fold${IMPL_SUFFIX}`);
    expect(text).not.toContain("call_indirect");
  });

  const cases = [
    { name: "body", file: "v2-body.wasm", text: moduleText("i32.add", 1) },
    { name: "a constant it reads", file: "v2-constant.wasm", text: moduleText("i32.mul", 2) },
  ];
  cases.forEach(({ name, file, text }, i) => {
    it(`(${name}) is patched with every function that calls it directly: the process answers like a fresh target`, async () => {
      const target = writeModule(file, text);
      const built = await hotpatch(base, target, `KB50392${i}0`, keys.privateKey);
      // `main`'s own code did not change: only the library body it calls did.
      expect(built.functions.map((f) => f.key).sort()).toEqual(["main", "~lib/fold"]);

      const { process: patched, loader } = startProcess(base);
      const fresh = GuestProcess.start(await buildImageFromPath(target, { mode: "inline" }));
      for (const p of [patched, fresh]) p.call("main", [3]);
      loader.apply(built.package, keys.trust);
      for (const n of [1, 2, 5, 7]) {
        expect(patched.call("main", [n])).toBe(fresh.call("main", [n])); // direct calls: the code page's copy of the new body
        expect(patched.call("fold", [n])).toBe(fresh.call("fold", [n])); // the export: through the slot
      }
      expect(patched.call("main", [4])).not.toBe(GuestProcess.start(base).call("main", [4]));
    });
  });
});

describe("the kvstore inline-mode image", () => {
  it("gets code pages that call unchanged library code through its slots instead of carrying a copy", async () => {
    const base = await inlineImage(kvstoreVersion("v1"));
    const built = await hotpatch(base, kvstoreVersion("v2"), "KB5039230", keys.privateKey);
    expect(built.functions.map((f) => f.key)).toEqual(["handle"]);
    // handle allocates and hashes, but only its own body travels.
    expect(readModuleSummary(decodePackage(built.package).code).functions).toHaveLength(1);
  });

  it("calls library code directly and everything else through slots", async () => {
    const image = await inlineImage(kvstoreVersion("v1"));
    const isLibrarySlot = new Map(image.linkMap.functions.map((f) => [f.slot, isLibraryFunction(f.name)]));
    withModule(image.module, (module) => {
      expect(bodyText(module, `v1/handle${IMPL_SUFFIX}`)).toMatch(/\(call \$~lib\/[^\s()]+@impl/);
      // Every call through a slot inside a body (not a trampoline) targets a function that is not library code.
      let slotCalls = 0;
      for (let i = 0; i < module.getNumFunctions(); i++) {
        const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
        if (info.module || !info.name.endsWith(IMPL_SUFFIX)) continue;
        walk(info.body, (expr) => {
          if (binaryen.getExpressionId(expr) !== binaryen.CallIndirectId) return;
          const target = (binaryen.getExpressionInfo(expr) as binaryen.CallIndirectInfo).target;
          const slot = (binaryen.getExpressionInfo(target) as binaryen.ConstInfo).value as number;
          slotCalls++;
          expect(isLibrarySlot.get(slot), `${info.name} calls slot ${slot}`).toBe(false);
        });
      }
      expect(slotCalls).toBeGreaterThan(0); // readKey, the runtime's program-generated visitors
    });
  });
});
