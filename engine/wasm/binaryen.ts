/**
 * The thin wrapper around binaryen.js. Only files in `engine/wasm/` import
 * binaryen, and they get it from here.
 *
 * binaryen modules live in the Emscripten heap and are not garbage-collected:
 * every module read here must be disposed, which `withModule` guarantees.
 * binaryen's optimisation settings are process-global, so `optimize` sets all
 * of them on every call instead of trusting what an earlier caller left.
 */
import binaryen from "binaryen";

export { binaryen };
export type BinaryenModule = binaryen.Module;

/**
 * The feature set every module is read and written with: what V8 in Node 20
 * runs by default. `readBinary` does not keep a binary's features, so this is
 * set after every read; BulkMemoryOpt must come with BulkMemory.
 */
export const FEATURES: number =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.SIMD128 |
  binaryen.Features.Multivalue;

export function readModule(bytes: Uint8Array): BinaryenModule {
  const module = binaryen.readBinary(bytes);
  module.setFeatures(FEATURES);
  return module;
}

/** Reads `bytes`, runs `fn` on the module, and always disposes it. */
export function withModule<T>(bytes: Uint8Array, fn: (module: BinaryenModule) => T): T {
  const module = readModule(bytes);
  try {
    return fn(module);
  } finally {
    module.dispose();
  }
}

/** Emits the module with its name section (names make traps readable and diffs possible). */
export function emitModule(module: BinaryenModule): Uint8Array {
  binaryen.setDebugInfo(true);
  return module.emitBinary();
}

/** Validates; returns the validator's complaint, or undefined when valid. */
export function validationError(module: BinaryenModule): string | undefined {
  // binaryen prints the details to stderr; capture nothing, report a summary.
  return module.validate() ? undefined : "binaryen validation failed (details were printed to stderr)";
}

/** binaryen's inlining limits: its defaults, and the ones `asc -O3` uses (AssemblyScript's Module.optimize). */
const DEFAULT_INLINING = { alwaysInlineMaxSize: 2, flexibleInlineMaxSize: 20, oneCallerInlineMaxSize: -1, loops: false };
const ASC_O3_INLINING = { alwaysInlineMaxSize: 12, flexibleInlineMaxSize: 70, oneCallerInlineMaxSize: 200, loops: true };

/**
 * Runs binaryen's -O3 pipeline with pinned settings (deterministic output).
 * `inlining: "asc"` uses asc -O3's more generous inlining limits (image
 * mode `inline`); the default keeps binaryen's.
 */
export function optimize(module: BinaryenModule, options: { inlining?: "default" | "asc" } = {}): void {
  const inlining = options.inlining === "asc" ? ASC_O3_INLINING : DEFAULT_INLINING;
  const b = binaryen as unknown as {
    setAlwaysInlineMaxSize(n: number): void;
    setFlexibleInlineMaxSize(n: number): void;
    setOneCallerInlineMaxSize(n: number): void;
    setAllowInliningFunctionsWithLoops(on: boolean): void;
  };
  b.setAlwaysInlineMaxSize(inlining.alwaysInlineMaxSize);
  b.setFlexibleInlineMaxSize(inlining.flexibleInlineMaxSize);
  b.setOneCallerInlineMaxSize(inlining.oneCallerInlineMaxSize);
  b.setAllowInliningFunctionsWithLoops(inlining.loops);
  binaryen.setOptimizeLevel(3);
  binaryen.setShrinkLevel(0);
  binaryen.setDebugInfo(true);
  binaryen.setLowMemoryUnused(false);
  binaryen.setZeroFilledMemory(false);
  binaryen.setFastMath(false);
  binaryen.setTrapsNeverHappen(false);
  binaryen.setClosedWorld(false);
  module.optimize();
}

/** Marks the named functions (those the module defines) so that the optimiser never inlines them. */
export function markNoInline(module: BinaryenModule, names: readonly string[]): void {
  const present = new Set(definedFunctions(module).map((f) => f.name));
  try {
    for (const name of names) {
      if (!present.has(name)) continue;
      // binaryen's no-inline pass marks the functions matching its argument, a wildcard pattern (no `*` or `?` in these names).
      binaryen.setPassArgument("no-inline", name);
      module.runPasses(["no-inline"]);
    }
  } finally {
    binaryen.clearPassArguments();
  }
}

export function runPasses(module: BinaryenModule, passes: string[]): void {
  module.runPasses(passes);
}

/** A function signature in the notation used by link maps and manifests: `(i32,i32)->i32`, `()->()`. */
export function signatureOf(params: number, results: number): string {
  const names = (type: number) => binaryen.expandType(type).map(typeName);
  const res = names(results);
  return `(${names(params).join(",")})->${res.length === 1 ? res[0] : `(${res.join(",")})`}`;
}

export function typeName(type: number): string {
  switch (type) {
    case binaryen.i32:
      return "i32";
    case binaryen.i64:
      return "i64";
    case binaryen.f32:
      return "f32";
    case binaryen.f64:
      return "f64";
    case binaryen.v128:
      return "v128";
    case binaryen.funcref:
      return "funcref";
    case binaryen.externref:
      return "externref";
    default:
      return `type${type}`;
  }
}

export interface DefinedFunction {
  name: string;
  params: number;
  results: number;
  vars: number[];
  body: number;
}

/** The module's functions that have a body (imports excluded), in index order. */
export function definedFunctions(module: BinaryenModule): DefinedFunction[] {
  const out: DefinedFunction[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module) continue;
    out.push({ name: info.name, params: info.params, results: info.results, vars: info.vars, body: info.body });
  }
  return out;
}

export interface ImportedFunction {
  name: string;
  module: string;
  base: string;
  params: number;
  results: number;
}

export function importedFunctions(module: BinaryenModule): ImportedFunction[] {
  const out: ImportedFunction[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (!info.module) continue;
    out.push({ name: info.name, module: info.module, base: info.base ?? "", params: info.params, results: info.results });
  }
  return out;
}

export interface GlobalDescription {
  name: string;
  type: number;
  mutable: boolean;
  imported: boolean;
  init: number;
}

export function globals(module: BinaryenModule): GlobalDescription[] {
  const out: GlobalDescription[] = [];
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const info = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
    out.push({ name: info.name, type: info.type, mutable: info.mutable, imported: !!info.module, init: info.init });
  }
  return out;
}

export interface ExportDescription {
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  value: string;
}

export function exports(module: BinaryenModule): ExportDescription[] {
  const kinds: Record<number, ExportDescription["kind"]> = {
    [binaryen.ExternalFunction]: "function",
    [binaryen.ExternalTable]: "table",
    [binaryen.ExternalMemory]: "memory",
    [binaryen.ExternalGlobal]: "global",
    [binaryen.ExternalTag]: "tag",
  };
  const out: ExportDescription[] = [];
  for (let i = 0; i < module.getNumExports(); i++) {
    const info = binaryen.getExportInfo(module.getExportByIndex(i));
    out.push({ name: info.name, kind: kinds[info.kind], value: info.value });
  }
  return out;
}

export interface TableDescription {
  name: string;
  imported: boolean;
  initial: number;
  max?: number;
}

export function tables(module: BinaryenModule): TableDescription[] {
  const out: TableDescription[] = [];
  for (let i = 0; i < module.getNumTables(); i++) {
    const info = binaryen.getTableInfo(module.getTableByIndex(i));
    out.push({ name: info.name, imported: !!info.module, initial: info.initial, max: info.max });
  }
  return out;
}

export interface DataSegment {
  offset: number | null; // null for passive or non-constant offsets
  bytes: Uint8Array;
}

export function dataSegments(module: BinaryenModule): DataSegment[] {
  const out: DataSegment[] = [];
  // getDataSegmentInfo exists in the JS but is missing from index.d.ts.
  const m = module as unknown as {
    getNumDataSegments(): number;
    getDataSegmentByIndex(i: number): number;
    // `offset` is the byte offset itself (BinaryenGetDataSegmentByteOffset), not an expression; null if passive.
    getDataSegmentInfo(ref: number): { name: string; passive: boolean; offset: number | null; data: ArrayBuffer };
  };
  for (let i = 0; i < m.getNumDataSegments(); i++) {
    const info = m.getDataSegmentInfo(m.getDataSegmentByIndex(i));
    const offset = info.passive ? null : info.offset;
    out.push({ offset, bytes: new Uint8Array(info.data) });
  }
  return out;
}

export function startFunctionName(module: BinaryenModule): string | undefined {
  const start = module.getStart();
  return start ? binaryen.getFunctionInfo(start).name : undefined;
}

/** The text of an expression (used for fingerprints). */
export function expressionText(expr: number): string {
  return binaryen.emitText(expr);
}

/** Element segments as table name + function names (active segments with constant offsets). */
export function elementSegments(module: BinaryenModule): { name: string; table: string; offset: number | null; functions: string[] }[] {
  const out = [];
  for (let i = 0; i < module.getNumElementSegments(); i++) {
    const info = binaryen.getElementSegmentInfo(module.getElementSegmentByIndex(i));
    let offset: number | null = null;
    if (info.offset && binaryen.getExpressionId(info.offset) === binaryen.ConstId) {
      offset = (binaryen.getExpressionInfo(info.offset) as binaryen.ConstInfo).value as number;
    }
    out.push({ name: info.name, table: info.table, offset, functions: info.data });
  }
  return out;
}
