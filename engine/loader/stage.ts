/**
 * Staging a patch: everything that can be checked without the running
 * process — container format, signature against trusted keys, manifest
 * fields, the code page's shape and export signatures — and compilation.
 * Like kpatch's "load" step, it can run ahead of time; `enable` (loader.ts)
 * then only links and swaps.
 *
 * Checks run in this order and stop at the first failure, each with its own
 * code: E_FORMAT (container) → E_UNTRUSTED_KEY / E_SIGNATURE → E_FORMAT
 * (manifest) → E_FORMAT (code page shape) → E_SLOT_SIGNATURE (exports) →
 * E_COMPILE. After compiling, the code page is instantiated once against
 * placeholder imports (`warm`): V8 does part of its per-module work at the
 * first instantiation (~8 µs for a small page), and this moves it out of
 * `enable`. The placeholder instance runs no code (a code page has no start
 * function, data or element segments) and is dropped at once.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import { decodePackage, type PatchManifest, type TrustStore, validateManifest, verifyPackage } from "../patch/index.ts";
import { CALLERS_IMPORT, exportedFunctionSignature, formatSignature, type ModuleImport, type ModuleSummary, NEW_OBJECT_MODULE, readModuleSummary } from "../format/index.ts";

export interface StagedPatch {
  id: string;
  manifest: PatchManifest;
  code: WebAssembly.Module;
  /** The code page's imports, for the link check. */
  imports: ModuleSummary["imports"];
  keyId: string;
  packageBytes: Uint8Array;
}

export interface StageOptions {
  /** Skip the signature check (benchmarks measure its cost apart). Never used by the CLI. */
  skipSignature?: boolean;
  /** Skip the placeholder instantiation: for a stage followed at once by its enable (PatchLoader.apply). Default: warm. */
  skipWarm?: boolean;
}

export function stagePatch(bytes: Uint8Array, trust: TrustStore, options: StageOptions = {}): StagedPatch {
  const { decoded, manifest, summary } = checkPackage(bytes, trust, options);
  let code: WebAssembly.Module;
  try {
    code = new WebAssembly.Module(decoded.code);
  } catch (error) {
    throw new HotpatchError("E_COMPILE", `the code page does not compile: ${(error as Error).message}`, { patch: manifest.id });
  }
  if (!options.skipWarm) warm(code, summary.imports);
  return { id: manifest.id, manifest, code, imports: summary.imports, keyId: decoded.keyId, packageBytes: bytes };
}

export async function stagePatchAsync(bytes: Uint8Array, trust: TrustStore, options: StageOptions = {}): Promise<StagedPatch> {
  const { decoded, manifest, summary } = checkPackage(bytes, trust, options);
  let code: WebAssembly.Module;
  try {
    code = await WebAssembly.compile(decoded.code);
  } catch (error) {
    throw new HotpatchError("E_COMPILE", `the code page does not compile: ${(error as Error).message}`, { patch: manifest.id });
  }
  if (!options.skipWarm) warm(code, summary.imports);
  return { id: manifest.id, manifest, code, imports: summary.imports, keyId: decoded.keyId, packageBytes: bytes };
}

/**
 * Instantiates a compiled code page once against placeholder imports and
 * drops the instance, so V8's first-instantiation work is done before
 * `enable`. Best effort: an import it cannot imitate (a v128 global, a
 * 64-bit memory) just skips the warm-up; whether the page links is decided
 * by `enable` against the real process. Safe because stage has refused
 * start functions, data and element segments: the instance runs nothing.
 */
export function warm(code: WebAssembly.Module, imports: readonly ModuleImport[]): void {
  const namespaces: Record<string, Record<string, unknown>> = {};
  for (const imp of imports) {
    const value = placeholder(imp);
    if (value === undefined) return;
    namespaces[imp.module] ??= {};
    namespaces[imp.module][imp.name] = value;
  }
  try {
    new WebAssembly.Instance(code, namespaces as WebAssembly.Imports);
  } catch {
    // Placeholders that do not fit: no warm-up; `enable` links against the real imports.
  }
}

const placeholderMemories = new Map<string, WebAssembly.Memory>();
const placeholderGlobals = new Map<string, WebAssembly.Global>();

function unreachablePlaceholder(): never {
  throw new Error("internal: a placeholder import was called");
}

/** A value that satisfies the import (memories and globals shared between warm-ups; tables fresh: V8 slows a table by every instance importing it). */
function placeholder(imp: ModuleImport): unknown {
  switch (imp.kind) {
    case "function":
      return unreachablePlaceholder;
    case "table":
      // A new table each time, unlike the memories: V8 (11.3) keeps every instance that imports a table
      // alive for as long as the table (its dispatch tables list), so a shared placeholder table kept every
      // warmed code page's compiled code, and the scaling suite's 10,000 applies ran out of wasm code space.
      return imp.limits ? new WebAssembly.Table({ element: "anyfunc", initial: imp.limits.min, maximum: imp.limits.max }) : undefined;
    case "memory": {
      const limits = imp.limits;
      if (!limits) return undefined;
      const key = `${limits.min}/${limits.max}/${limits.shared}`;
      let memory = placeholderMemories.get(key);
      if (!memory) {
        memory = new WebAssembly.Memory({ initial: limits.min, maximum: limits.max ?? (limits.shared ? limits.min : undefined), shared: limits.shared });
        placeholderMemories.set(key, memory);
      }
      return memory;
    }
    case "global": {
      const type = imp.global?.type;
      if (!imp.global || (type !== "i32" && type !== "i64" && type !== "f32" && type !== "f64")) return undefined;
      const key = `${type}/${imp.global.mutable}`;
      let global = placeholderGlobals.get(key);
      if (!global) {
        global = new WebAssembly.Global({ value: type, mutable: imp.global.mutable }, type === "i64" ? 0n : 0);
        placeholderGlobals.set(key, global);
      }
      return global;
    }
    default:
      return undefined;
  }
}

function checkPackage(bytes: Uint8Array, trust: TrustStore, options: StageOptions) {
  faults.hit("package.read");
  const decoded = decodePackage(bytes);
  faults.hit("signature.verify");
  if (!options.skipSignature) verifyPackage(decoded, trust);
  const manifest = validateManifest(decoded.manifest);
  const summary = readModuleSummary(decoded.code, { patch: manifest.id });
  checkCodePageShape(summary, manifest);
  faults.hit("compile", { patch: manifest.id });
  return { decoded, manifest, summary };
}

/** A code page may only bring functions: anything that would write into the process at instantiation is refused. */
function checkCodePageShape(summary: ModuleSummary, manifest: PatchManifest): void {
  const refuse = (what: string) => {
    throw new HotpatchError("E_FORMAT", `the code page ${what}; a code page may only define functions`, { patch: manifest.id });
  };
  if (summary.hasStart) refuse("has a start function");
  if (summary.dataSegmentCount > 0) refuse(`has ${summary.dataSegmentCount} data segment(s)`);
  if (summary.elementSegmentCount > 0) refuse(`has ${summary.elementSegmentCount} element segment(s)`);
  if (summary.definedMemoryCount > 0) refuse("defines its own memory");
  if (summary.definedTableCount > 0) refuse("defines its own table");
  const callerTable = summary.imports.find((i) => i.module === NEW_OBJECT_MODULE && i.name === CALLERS_IMPORT);
  const callers = manifest.callers?.length ?? 0;
  const callerTableFits = callerTable ? callerTable.kind === "table" && (callerTable.limits?.min ?? 0) <= callers : callers === 0;
  if (!callerTableFits) {
    const found = callerTable ? `a ${callerTable.kind} ${NEW_OBJECT_MODULE}.${CALLERS_IMPORT} of at least ${callerTable.limits?.min ?? 0} entries` : "no caller table";
    throw new HotpatchError("E_FORMAT", `the manifest lists ${callers} caller(s) but the code page imports ${found}`, { patch: manifest.id });
  }
  for (const fn of manifest.functions) {
    const signature = exportedFunctionSignature(summary, fn.export);
    if (!signature) {
      throw new HotpatchError("E_FORMAT", `the code page does not export ${fn.export}`, { patch: manifest.id, function: fn.key });
    }
    const actual = formatSignature(signature);
    if (actual !== fn.signature) {
      throw new HotpatchError("E_SLOT_SIGNATURE", `the replacement has signature ${actual} but the manifest declares ${fn.signature}`, {
        patch: manifest.id,
        function: fn.key,
      });
    }
  }
}
