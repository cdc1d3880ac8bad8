/**
 * Closure fingerprints (image mode `inline`).
 *
 * In inline mode library functions are called directly (engine/wasm/instrument.ts
 * `direct`): replacing such a function's slot does not reach the functions
 * that call it directly. So a slot's fingerprint also covers every body its
 * function reaches through direct calls, and the constants (immutable
 * globals) those bodies read. A change to a directly called function then
 * changes the fingerprint of every slot whose code reaches it, the patch
 * builder replaces all of them, and each code page carries its own copy of
 * the new body (a code page keeps whatever its functions call directly;
 * callUnchangedThroughSlots sends calls of unchanged library code through
 * the running process's slots instead). The start
 * function keeps its own fingerprint: it never runs again, and what it calls
 * is patched where it matters, in the functions that do run.
 */
import { binaryen, type BinaryenModule, definedFunctions, emitModule, expressionText, importedFunctions, withModule } from "./binaryen.ts";
import { functionFingerprint, type ModuleDescription, sha256Hex } from "./describe.ts";
import { IMPL_SUFFIX, SLOT_TABLE } from "./instrument.ts";
import { childrenOf, UnsupportedExpression, walk } from "./walk.ts";

/** Closure fingerprint by slot, for slots whose function reaches another body through direct calls (the others keep their own). */
export function closureFingerprints(module: BinaryenModule, keyOf: (name: string) => string, description: ModuleDescription): Map<number, string> {
  const defined = definedFunctions(module);
  const abortName = importedFunctions(module).find((f) => f.module === "env" && f.base === "abort")?.name;
  const constants = new Map(description.globals.filter((g) => !g.mutable && !g.imported).map((g) => [g.name, g.init]));
  const edges = new Map<string, { calls: Set<string>; reads: Set<string> }>();
  for (const fn of defined) edges.set(fn.name, directEdges(fn.body, constants));
  const byName = new Map(defined.map((f) => [f.name, f]));
  const own = new Map<string, string>();
  const fingerprintOf = (name: string) => {
    let fp = own.get(name);
    if (fp === undefined) {
      fp = functionFingerprint(byName.get(name)!, keyOf, abortName);
      own.set(name, fp);
    }
    return fp;
  };
  const label = (name: string) => (name.endsWith(IMPL_SUFFIX) ? `${keyOf(name)}${IMPL_SUFFIX}` : keyOf(name));
  const out = new Map<number, string>();
  for (const slot of description.slots) {
    const key = keyOf(slot.implName);
    if (key === description.start || key.startsWith("start:")) continue;
    const seen = new Set([slot.implName]);
    const stack = [slot.implName];
    const reached: string[] = [];
    while (stack.length > 0) {
      for (const callee of edges.get(stack.pop()!)?.calls ?? []) {
        if (seen.has(callee) || !byName.has(callee)) continue;
        seen.add(callee);
        stack.push(callee);
        const reads = [...(edges.get(callee)?.reads ?? [])].map((g) => `${keyOf(g)}=${constants.get(g)}`).sort();
        reached.push(`${label(callee)} ${fingerprintOf(callee)} ${reads.join(" ")}`);
      }
    }
    if (reached.length > 0) out.set(slot.slot, sha256Hex(`${slot.fingerprint}\n${reached.sort().join("\n")}`).slice(0, 32));
  }
  return out;
}

/** The functions a body calls directly and the constants (immutable globals) it reads. */
function directEdges(body: number, constants: ReadonlyMap<string, string>): { calls: Set<string>; reads: Set<string> } {
  const calls = new Set<string>();
  const reads = new Set<string>();
  try {
    walk(body, (expr) => {
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.CallId) calls.add((binaryen.getExpressionInfo(expr) as binaryen.CallInfo).target);
      else if (id === binaryen.GlobalGetId) {
        const name = (binaryen.getExpressionInfo(expr) as binaryen.GlobalGetInfo).name;
        if (constants.has(name)) reads.add(name);
      }
    });
  } catch (error) {
    if (!(error instanceof UnsupportedExpression)) throw error;
    // Read from the text instead: every `(call $f` and `(global.get $g`.
    const text = expressionText(body);
    for (const m of text.matchAll(/\((call|global\.get) \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) {
      const name = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, "$1") : m[2];
      if (m[1] === "call") calls.add(name);
      else if (constants.has(name)) reads.add(name);
    }
  }
  return { calls, reads };
}

/**
 * For a patch's code page: rewrites every direct call of a function in
 * `unchanged` (by `@impl` name: library code whose closure fingerprint the
 * running image shares, so its slot holds exactly this code) into a call
 * through its slot. The code page then calls the running process's copy
 * instead of carrying one of its own (the allocator and the GC would
 * otherwise travel with every patch of a function that allocates).
 */
export function callUnchangedThroughSlots(moduleBytes: Uint8Array, unchanged: ReadonlyMap<string, number>): Uint8Array {
  if (unchanged.size === 0) return moduleBytes;
  return withModule(moduleBytes, (module) => {
    const api = binaryen as unknown as {
      Call: { getTarget(e: number): string; getNumOperands(e: number): number; getOperandAt(e: number, i: number): number };
      Function: { setBody(f: number, body: number): void };
    };
    const signatures = new Map<string, { params: number; results: number }>();
    for (const fn of definedFunctions(module)) if (unchanged.has(fn.name)) signatures.set(fn.name, { params: fn.params, results: fn.results });
    for (const fn of definedFunctions(module)) {
      const rewrite = (expr: number): number | undefined => {
        if (binaryen.getExpressionId(expr) !== binaryen.CallId) return undefined;
        const target = api.Call.getTarget(expr);
        const slot = unchanged.get(target);
        const signature = signatures.get(target);
        if (slot === undefined || !signature) return undefined;
        const operands = Array.from({ length: api.Call.getNumOperands(expr) }, (_, i) => api.Call.getOperandAt(expr, i));
        return module.call_indirect(SLOT_TABLE, module.i32.const(slot), operands, signature.params, signature.results);
      };
      const visit = (expr: number): number | undefined => {
        for (const child of childrenOf(expr)) {
          const next = visit(child.expr);
          if (next !== undefined) child.replace(next);
        }
        return rewrite(expr);
      };
      try {
        const root = visit(fn.body);
        if (root !== undefined) api.Function.setBody(module.getFunction(fn.name) as unknown as number, root);
      } catch (error) {
        // A body the walker cannot analyse keeps its direct calls: the code page then carries those functions (correct, only larger).
        if (!(error instanceof UnsupportedExpression)) throw error;
      }
    }
    return emitModule(module);
  });
}
