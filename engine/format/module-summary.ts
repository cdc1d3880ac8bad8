/**
 * The interface of a module (types, imports, functions, exports, section
 * counts) read straight from its bytes by wasm-reader.ts: no binaryen, so it
 * runs on the patch-apply hot path and in worker threads.
 */
import type { ErrorContext } from "../errors.ts";
import {
  type CustomSection,
  type ExternalKind,
  type FuncSig,
  forEachSection,
  hex,
  KINDS,
  type ModuleExport,
  type ModuleImport,
  Reader,
  SECTION_NAMES,
  type SectionHeader,
} from "./wasm-reader.ts";

export type { CustomSection, FuncSig, ModuleExport, ModuleImport, ValType } from "./wasm-reader.ts";

export interface ModuleSummary {
  types: FuncSig[];
  imports: ModuleImport[];
  /** Type index of each function defined in the module, in definition order. */
  functions: number[];
  exports: ModuleExport[];
  hasStart: boolean;
  dataSegmentCount: number;
  elementSegmentCount: number;
  definedMemoryCount: number;
  definedTableCount: number;
  definedGlobalCount: number;
  definedTagCount: number;
  /** In file order; a name may occur more than once. */
  customSections: CustomSection[];
}

/**
 * Summarises a module's interface. `context` (e.g. `{ patch: "KB5036001" }`)
 * is attached to any E_FORMAT error so its message names the patch.
 */
export function readModuleSummary(bytes: Uint8Array, context: ErrorContext = {}): ModuleSummary {
  const summary: ModuleSummary = {
    types: [],
    imports: [],
    functions: [],
    exports: [],
    hasStart: false,
    dataSegmentCount: 0,
    elementSegmentCount: 0,
    definedMemoryCount: 0,
    definedTableCount: 0,
    definedGlobalCount: 0,
    definedTagCount: 0,
    customSections: [],
  };
  const r = new Reader(bytes, context);
  forEachSection(r, (section) => {
    r.end = section.bodyEnd;
    readSection(r, section, summary);
  });
  return summary;
}

function readSection(r: Reader, section: SectionHeader, s: ModuleSummary): void {
  const what = SECTION_NAMES[section.id];
  switch (section.id) {
    case 0: {
      const name = r.name("custom section name");
      s.customSections.push({ name, offset: r.pos, size: section.bodyEnd - r.pos });
      return; // the payload is opaque
    }
    case 1:
      readTypes(r, s);
      break;
    case 2:
      readImports(r, s);
      break;
    case 3: {
      const count = r.count("function");
      for (let i = 0; i < count; i++) {
        const at = r.pos;
        const index = r.u32("function type index");
        if (index >= s.types.length) r.fail(`function ${i} refers to type ${index} but the module has ${s.types.length} types`, at);
        s.functions.push(index);
      }
      break;
    }
    case 4:
      s.definedTableCount = r.count("table");
      return;
    case 5:
      s.definedMemoryCount = r.count("memory");
      return;
    case 6:
      s.definedGlobalCount = r.count("global");
      return;
    case 7:
      readExports(r, s);
      break;
    case 8:
      r.u32("start function index");
      s.hasStart = true;
      break;
    case 9:
      s.elementSegmentCount = r.count("element segment");
      return;
    case 10:
      return; // code bodies are never decoded
    case 11:
      s.dataSegmentCount = r.count("data segment");
      return;
    case 12:
      r.u32("data count");
      break;
    case 13:
      s.definedTagCount = r.count("tag");
      return;
  }
  if (r.pos !== section.bodyEnd) r.fail(`${what} section size does not match its contents`, r.pos);
}

function readTypes(r: Reader, s: ModuleSummary): void {
  const count = r.count("type");
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const form = r.byte("type form");
    if (form !== 0x60) r.fail(`unsupported type form 0x${hex(form)} (only function types, 0x60, are supported)`, at);
    const params = r.valTypes("parameter");
    const results = r.valTypes("result");
    s.types.push({ params, results });
  }
}

function funcType(r: Reader, s: ModuleSummary, what: string): FuncSig {
  const at = r.pos;
  const index = r.u32(`${what} type index`);
  if (index >= s.types.length) r.fail(`${what} refers to type ${index} but the module has ${s.types.length} types`, at);
  return s.types[index];
}

function readImports(r: Reader, s: ModuleSummary): void {
  const count = r.count("import");
  for (let i = 0; i < count; i++) {
    const module = r.name("import module name");
    const name = r.name("import name");
    const at = r.pos;
    const kindCode = r.byte("import kind");
    const kind = KINDS[kindCode];
    if (kind === undefined) r.fail(`unknown import kind 0x${hex(kindCode)}`, at);
    const entry: ModuleImport = { module, name, kind };
    switch (kind) {
      case "function":
        entry.signature = funcType(r, s, `import ${module}.${name}`);
        break;
      case "table":
        r.valType("table element type");
        entry.limits = r.limits("table");
        break;
      case "memory":
        entry.limits = r.limits("memory");
        break;
      case "global": {
        const type = r.valType("global type");
        const mutAt = r.pos;
        const mut = r.byte("global mutability");
        if (mut > 1) r.fail(`invalid global mutability 0x${hex(mut)}`, mutAt);
        entry.global = { type, mutable: mut === 1 };
        break;
      }
      case "tag": {
        const attrAt = r.pos;
        if (r.byte("tag attribute") !== 0) r.fail("unknown tag attribute", attrAt);
        entry.signature = funcType(r, s, `import ${module}.${name}`);
        break;
      }
    }
    s.imports.push(entry);
  }
}

/**
 * Section order puts every index space before the export section, so each
 * export's index is checked against its space here and lookups on a summary
 * never go out of range.
 */
function readExports(r: Reader, s: ModuleSummary): void {
  const spaces: Record<ExternalKind, number> = {
    function: s.functions.length,
    table: s.definedTableCount,
    memory: s.definedMemoryCount,
    global: s.definedGlobalCount,
    tag: s.definedTagCount,
  };
  for (const entry of s.imports) spaces[entry.kind]++;
  const count = r.count("export");
  for (let i = 0; i < count; i++) {
    const name = r.name("export name");
    const at = r.pos;
    const kindCode = r.byte("export kind");
    const kind = KINDS[kindCode];
    if (kind === undefined) r.fail(`unknown export kind 0x${hex(kindCode)}`, at);
    const index = r.u32("export index");
    if (index >= spaces[kind]) r.fail(`export "${name}" refers to ${kind} ${index} but the module has ${spaces[kind]}`, at);
    s.exports.push({ name, kind, index });
  }
}

/**
 * The signature of the function exported as `exportName`, or undefined when
 * there is no such function export. Imported functions take the first indices.
 */
export function exportedFunctionSignature(summary: ModuleSummary, exportName: string): FuncSig | undefined {
  const entry = summary.exports.find((e) => e.kind === "function" && e.name === exportName);
  if (entry === undefined) return undefined;
  let index = entry.index;
  for (const imported of summary.imports) {
    if (imported.kind !== "function") continue;
    if (index === 0) return imported.signature;
    index--;
  }
  const typeIndex = summary.functions[index];
  return typeIndex === undefined ? undefined : summary.types[typeIndex];
}

/**
 * A signature as text: `(i32,i32)->i32`, `(i32)->()` for no results,
 * `()->(i32,i64)` for several. Equal signatures give equal strings.
 */
export function formatSignature(sig: FuncSig): string {
  const results = sig.results.length === 1 ? sig.results[0] : `(${sig.results.join(",")})`;
  return `(${sig.params.join(",")})->${results}`;
}
