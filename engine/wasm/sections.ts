/**
 * A small, fast reader of WebAssembly binaries.
 *
 * It runs on the patch-apply hot path, so it decodes section headers and only
 * the sections whose contents the engine needs (types, imports, functions,
 * exports, start); every other section is skipped by its size, or only its
 * entry count is read. Instructions are never decoded.
 *
 * It is not a validator: a summary of bytes that `WebAssembly.Module` would
 * reject may still be returned. It does guarantee that every index it hands out
 * (function type indices, export indices) is in range, so lookups on a summary
 * never fail. Malformed input is a `HotpatchError` E_FORMAT whose reason says
 * what is wrong and at which byte offset.
 *
 * Supported: the MVP binary format plus reference types, multi-value, bulk
 * memory, SIMD (v128), memory64, threads and exception-handling tags. Type
 * forms other than plain function types (GC rec groups, structs, arrays) are
 * refused as "unsupported type form".
 */
import { type ErrorContext, HotpatchError } from "../errors.ts";

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

export type ExternalKind = "function" | "table" | "memory" | "global" | "tag";

export interface ModuleImport {
  module: string;
  name: string;
  kind: ExternalKind;
  /** Present for function imports (and tag imports: the tag's type). */
  signature?: FuncSig;
  /** Present for global imports. */
  global?: { type: ValType; mutable: boolean };
  /** Present for table and memory imports (64-bit limits are not reported). */
  limits?: Limits;
}

export interface Limits {
  min: number;
  max?: number;
  shared: boolean;
}

export interface ModuleExport {
  name: string;
  kind: ExternalKind;
  /** Index in the kind's index space (imports of that kind come first). */
  index: number;
}

export interface CustomSection {
  name: string;
  /** Byte offset of the section's payload (the bytes after its name). */
  offset: number;
  /** Byte length of that payload. */
  size: number;
}

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

const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

const VALTYPES = new Map<number, ValType>([
  [0x7f, "i32"],
  [0x7e, "i64"],
  [0x7d, "f32"],
  [0x7c, "f64"],
  [0x7b, "v128"],
  [0x70, "funcref"],
  [0x6f, "externref"],
]);

const KINDS: ExternalKind[] = ["function", "table", "memory", "global", "tag"];

const SECTION_NAMES = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "datacount",
  "tag",
];

/** Position of each known non-custom section id in the order the spec requires. */
const SECTION_RANK: Record<number, number> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** A cursor over module bytes; every read is bounds-checked against `end`. */
class Reader {
  pos: number;
  end: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly context: ErrorContext,
    pos = 0,
    end = bytes.length,
  ) {
    this.pos = pos;
    this.end = end;
  }

  fail(reason: string, at = this.pos): never {
    throw new HotpatchError("E_FORMAT", `malformed WebAssembly module: ${reason} at byte offset ${at}`, this.context);
  }

  byte(what: string): number {
    if (this.pos >= this.end) this.fail(`unexpected end of ${what}`);
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(what: string): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail(`truncated LEB128 (${what})`, start);
      const b = this.bytes[this.pos++];
      if (shift === 28 && (b & 0x70) !== 0) this.fail(`LEB128 (${what}) exceeds 32 bits`, start);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail(`LEB128 (${what}) longer than 5 bytes`, start);
  }

  /** Skips an unsigned LEB128 of at most 64 bits (memory64 limits). */
  skipU64(what: string): void {
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`truncated LEB128 (${what})`, start);
      if ((this.bytes[this.pos++] & 0x80) === 0) return;
    }
    this.fail(`LEB128 (${what}) longer than 10 bytes`, start);
  }

  name(what: string): string {
    const length = this.u32(`${what} length`);
    const start = this.pos;
    if (length > this.end - start) this.fail(`${what} of ${length} bytes runs past the end`, start);
    this.pos = start + length;
    let ascii = length <= 64;
    for (let i = start; ascii && i < this.pos; i++) {
      if (this.bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, this.bytes.subarray(start, this.pos) as unknown as number[]);
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }

  valType(what: string): ValType {
    const at = this.pos;
    const code = this.byte(what);
    const type = VALTYPES.get(code);
    if (type === undefined) this.fail(`unsupported value type 0x${hex(code)} (${what})`, at);
    return type;
  }

  valTypes(what: string): ValType[] {
    const count = this.u32(`${what} count`);
    // Each value type is one byte: refuse absurd counts before allocating.
    if (count > this.end - this.pos) this.fail(`${what} count ${count} runs past the end`);
    const types = new Array<ValType>(count);
    for (let i = 0; i < count; i++) types[i] = this.valType(what);
    return types;
  }

  /** Reads limits; undefined for 64-bit ones (skipped). */
  limits(what: string): Limits | undefined {
    const at = this.pos;
    const flags = this.byte(`${what} limits`);
    if (flags > 0x0f) this.fail(`unknown ${what} limits flags 0x${hex(flags)}`, at);
    const is64 = (flags & 0x04) !== 0;
    const read = () => (is64 ? this.skipU64(`${what} limit`) : this.u32(`${what} limit`));
    const min = read();
    const max = flags & 0x01 ? read() : undefined;
    if (flags & 0x08) this.u32(`${what} page size`);
    if (is64) return undefined;
    return { min: min as number, ...(max === undefined ? {} : { max: max as number }), shared: (flags & 0x02) !== 0 };
  }

  /** A vector length, refusing counts that cannot fit in the rest of the section (one byte per entry minimum). */
  count(what: string): number {
    const count = this.u32(`${what} count`);
    if (count > this.end - this.pos) this.fail(`${what} count ${count} runs past the end of its section`);
    return count;
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** The position of the first section, after checking magic and version. */
function readHeader(r: Reader): number {
  if (r.bytes.length < 8) r.fail(`module of ${r.bytes.length} bytes is shorter than the 8-byte header`, 0);
  for (let i = 0; i < 4; i++) {
    if (r.bytes[i] !== WASM_HEADER[i]) r.fail("bad magic, not a WebAssembly module", i);
  }
  for (let i = 4; i < 8; i++) {
    if (r.bytes[i] !== WASM_HEADER[i]) r.fail("unsupported binary version (only version 1 is supported)", 4);
  }
  return 8;
}

interface SectionHeader {
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offsets of the section contents. */
  bodyStart: number;
  bodyEnd: number;
}

/** Calls `visit` for every section in file order; checks ids, sizes, order and duplicates. */
function forEachSection(r: Reader, visit: (section: SectionHeader) => void): void {
  let lastRank = 0;
  r.pos = readHeader(r);
  while (r.pos < r.bytes.length) {
    const start = r.pos;
    const id = r.byte("section id");
    if (id >= SECTION_NAMES.length) r.fail(`unknown section id ${id}`, start);
    const size = r.u32(`${SECTION_NAMES[id]} section size`);
    const bodyStart = r.pos;
    if (size > r.bytes.length - bodyStart) {
      r.fail(`${SECTION_NAMES[id]} section of ${size} bytes runs past the end of the module`, start);
    }
    if (id !== 0) {
      const rank = SECTION_RANK[id];
      if (rank === lastRank) r.fail(`duplicate ${SECTION_NAMES[id]} section`, start);
      if (rank < lastRank) r.fail(`${SECTION_NAMES[id]} section out of order`, start);
      lastRank = rank;
    }
    visit({ id, start, bodyStart, bodyEnd: bodyStart + size });
    r.pos = bodyStart + size;
    r.end = r.bytes.length;
  }
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

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/** A new module: `bytes` followed by a custom section (id 0) called `name` holding `payload`. */
export function appendCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  readHeader(new Reader(bytes, {}));
  const nameBytes = utf8Encoder.encode(name);
  const nameLength = leb(nameBytes.length);
  const bodySize = nameLength.length + nameBytes.length + payload.length;
  if (bodySize > 0xffffffff) throw new HotpatchError("E_FORMAT", `custom section "${name}" is too large`);
  const head = [0, ...leb(bodySize), ...nameLength];
  const out = new Uint8Array(bytes.length + head.length + nameBytes.length + payload.length);
  out.set(bytes, 0);
  out.set(head, bytes.length);
  out.set(nameBytes, bytes.length + head.length);
  out.set(payload, bytes.length + head.length + nameBytes.length);
  return out;
}

/**
 * Removes every custom section called `name`. Returns a new module (always a
 * copy) and a copy of the payload of the last such section, or undefined when
 * there was none. Other sections keep their bytes and order.
 */
export function stripCustomSection(
  bytes: Uint8Array,
  name: string,
): { module: Uint8Array<ArrayBuffer>; payload: Uint8Array<ArrayBuffer> | undefined } {
  const r = new Reader(bytes, {});
  const keep: Array<[number, number]> = [];
  let payload: Uint8Array<ArrayBuffer> | undefined;
  let keptFrom = 0;
  forEachSection(r, (section) => {
    if (section.id !== 0) return;
    r.end = section.bodyEnd;
    if (r.name("custom section name") !== name) return;
    payload = bytes.slice(r.pos, section.bodyEnd);
    keep.push([keptFrom, section.start]);
    keptFrom = section.bodyEnd;
  });
  keep.push([keptFrom, bytes.length]);
  const out = new Uint8Array(keep.reduce((n, [from, to]) => n + to - from, 0));
  let at = 0;
  for (const [from, to] of keep) {
    out.set(bytes.subarray(from, to), at);
    at += to - from;
  }
  return { module: out, payload };
}
