/**
 * Reads what an instrumented, optimised module looks like: which function
 * sits in which slot with what signature and body fingerprint, its globals,
 * data segments, imports and exports. The image builder turns this into a
 * link map; the patch builder compares two of them.
 *
 * Fingerprints are independent of names that only reflect where a source file
 * lives (every name is replaced by its key), of type indices (which depend on
 * the order of the type section) and of the line and column arguments that
 * AssemblyScript bakes into `abort` calls (moved lines are not changes). Two bodies with equal fingerprints behave the same when slot
 * numbers, globals and data layout match — which the builder checks apart.
 */
import { createHash } from "node:crypto";
import {
  type BinaryenModule,
  binaryen,
  type DefinedFunction,
  dataSegments,
  definedFunctions,
  elementSegments,
  exports,
  expressionText,
  globals,
  importedFunctions,
  signatureOf,
  startFunctionName,
  typeName,
  withModule,
} from "./binaryen.ts";
import { SLOT_TABLE } from "./instrument.ts";
import { serialize, UnsupportedExpression, walk } from "./walk.ts";

export interface SlotDescription {
  slot: number;
  /** Name of the function in the slot (an `@impl`, possibly merged by the optimiser). */
  implName: string;
  signature: string;
  fingerprint: string;
}

export interface GlobalDescription {
  name: string;
  type: string;
  mutable: boolean;
  imported: boolean;
  /** Constant initial value as text, for immutable globals folded into code pages. */
  init: string;
}

export interface DataDescription {
  offset: number | null;
  size: number;
  sha256: string;
}

export interface ModuleDescription {
  slots: SlotDescription[];
  globals: GlobalDescription[];
  data: DataDescription[];
  imports: { module: string; base: string; kind: "function"; signature: string }[];
  exports: { name: string; kind: string; value: string }[];
  /** Key of the start function, if any (its body is in the slot with that key). */
  start?: string;
  /** Element segments of tables other than the slot table (function pointers). */
  elements: { table: string; offset: number | null; functions: string[] }[];
}

/**
 * The fingerprint of a function: signature, locals and the canonical form of
 * its body. Functions the walker cannot analyse get a fingerprint of their
 * printed text, so they still compare, only less forgivingly.
 */
export function functionFingerprint(fn: DefinedFunction, keyOf: (name: string) => string, abortName?: string): string {
  const header = `${signatureOf(fn.params, fn.results)} vars(${fn.vars.map(typeName).join(",")})`;
  let body: string;
  try {
    body = serialize(fn.body, { keyOf, abortName });
  } catch (error) {
    if (!(error instanceof UnsupportedExpression)) throw error;
    body = normalizeText(expressionText(fn.body), keyOf);
  }
  return sha256Hex(`${header}\n${body}`).slice(0, 32);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function describeModule(module: BinaryenModule, keyOf: (name: string) => string): ModuleDescription {
  const functionsByName = new Map(definedFunctions(module).map((f) => [f.name, f]));
  const abortName = importedFunctions(module).find((f) => f.module === "env" && f.base === "abort")?.name;
  const fingerprintOf = (name: string) => {
    const fn = functionsByName.get(name);
    if (!fn) throw new Error(`internal: slot function ${name} is not defined`);
    return functionFingerprint(fn, keyOf, abortName);
  };

  const slots: SlotDescription[] = [];
  const elements: ModuleDescription["elements"] = [];
  for (const segment of elementSegments(module)) {
    if (segment.table !== SLOT_TABLE) {
      elements.push({ table: segment.table, offset: segment.offset, functions: segment.functions.map(keyOf) });
      continue;
    }
    segment.functions.forEach((implName, i) => {
      const fn = functionsByName.get(implName)!;
      slots.push({
        slot: (segment.offset ?? 0) + i,
        implName,
        signature: signatureOf(fn.params, fn.results),
        fingerprint: fingerprintOf(implName),
      });
    });
  }
  slots.sort((a, b) => a.slot - b.slot);

  const start = startFunctionName(module);
  return {
    slots,
    globals: globals(module).map((g) => ({
      name: g.name,
      type: typeName(g.type),
      mutable: g.mutable,
      imported: g.imported,
      init: g.imported ? "" : normalizeText(expressionText(g.init), keyOf),
    })),
    data: dataSegments(module).map((d) => ({ offset: d.offset, size: d.bytes.length, sha256: sha256Hex(d.bytes).slice(0, 32) })),
    imports: importedFunctions(module).map((f) => ({
      module: f.module,
      base: f.base,
      kind: "function" as const,
      signature: signatureOf(f.params, f.results),
    })),
    exports: exports(module)
      .filter((e) => !e.name.startsWith("hotpatch:"))
      .map((e) => ({ name: e.name, kind: e.kind, value: e.kind === "function" || e.kind === "global" ? keyOf(e.value) : e.value })),
    start: start ? keyOf(start) : undefined,
    elements,
  };
}

/** Replaces `$name` tokens with their keys and drops type indices. */
export function normalizeText(text: string, keyOf: (name: string) => string): string {
  return text.replace(/ \(type \$[^\s()]+\)/g, "").replace(/\$([^\s()]+)/g, (_, name: string) => `$${keyOf(name)}`);
}

/** Keys of the functions (slot bodies) whose code reads or writes any of the given globals (by key). */
export function readersOfGlobals(moduleBytes: Uint8Array, keyOf: (name: string) => string, globalKeys: ReadonlySet<string>): Set<string> {
  const readers = new Set<string>();
  if (globalKeys.size === 0) return readers;
  withModule(moduleBytes, (module) => {
    for (const fn of definedFunctions(module)) {
      walk(fn.body, (expr) => {
        const id = binaryen.getExpressionId(expr);
        if (id !== binaryen.GlobalGetId && id !== binaryen.GlobalSetId) return;
        const name = (binaryen.getExpressionInfo(expr) as binaryen.GlobalGetInfo).name;
        if (globalKeys.has(keyOf(name))) readers.add(keyOf(fn.name));
      });
    }
  });
  return readers;
}

/**
 * Which functions (by key) can run after start-up: everything reachable from
 * the exports and from function-pointer tables, following calls through slots
 * and direct calls. A function reachable only from the start function has
 * already run its last time in a running process.
 */
export function reachableAfterStartup(moduleBytes: Uint8Array, keyOf: (name: string) => string, keyBySlot: ReadonlyMap<number, string>): Set<string> {
  return withModule(moduleBytes, (module) => {
    const calls = new Map<string, Set<string>>();
    for (const fn of definedFunctions(module)) {
      const out = calls.get(keyOf(fn.name)) ?? new Set<string>();
      walk(fn.body, (expr) => {
        const id = binaryen.getExpressionId(expr);
        if (id === binaryen.CallId) {
          out.add(keyOf((binaryen.getExpressionInfo(expr) as binaryen.CallInfo).target));
        } else if (id === binaryen.CallIndirectId) {
          const info = binaryen.getExpressionInfo(expr) as binaryen.CallIndirectInfo & { table: string };
          const target = info.target;
          if (info.table === SLOT_TABLE && binaryen.getExpressionId(target) === binaryen.ConstId) {
            const key = keyBySlot.get((binaryen.getExpressionInfo(target) as binaryen.ConstInfo).value as number);
            if (key) out.add(key);
          } else {
            out.add("*"); // through a function pointer: any function in a table may run
          }
        }
      });
      calls.set(keyOf(fn.name), out);
    }
    const roots = [
      ...exports(module).filter((e) => e.kind === "function" && !e.name.startsWith("hotpatch:")).map((e) => keyOf(e.value)),
      ...elementSegments(module)
        .filter((s) => s.table !== SLOT_TABLE)
        .flatMap((s) => s.functions.map(keyOf)),
    ];
    const seen = new Set<string>();
    const stack = [...roots];
    while (stack.length > 0) {
      const key = stack.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const next of calls.get(key) ?? []) if (next !== "*") stack.push(next);
    }
    return seen;
  });
}
