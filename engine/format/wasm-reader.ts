/**
 * The byte-level reader of WebAssembly binaries that module-summary.ts and
 * custom-sections.ts share: a bounds-checked cursor, the header check and
 * the section walk (ids, sizes, order, duplicates).
 *
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

export const KINDS: ExternalKind[] = ["function", "table", "memory", "global", "tag"];

export const SECTION_NAMES = [
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
export const utf8Encoder = new TextEncoder();

/** A cursor over module bytes; every read is bounds-checked against `end`. */
export class Reader {
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

export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** The position of the first section, after checking magic and version. */
export function readHeader(r: Reader): number {
  if (r.bytes.length < 8) r.fail(`module of ${r.bytes.length} bytes is shorter than the 8-byte header`, 0);
  for (let i = 0; i < 4; i++) {
    if (r.bytes[i] !== WASM_HEADER[i]) r.fail("bad magic, not a WebAssembly module", i);
  }
  for (let i = 4; i < 8; i++) {
    if (r.bytes[i] !== WASM_HEADER[i]) r.fail("unsupported binary version (only version 1 is supported)", 4);
  }
  return 8;
}

export interface SectionHeader {
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offsets of the section contents. */
  bodyStart: number;
  bodyEnd: number;
}

/** Calls `visit` for every section in file order; checks ids, sizes, order and duplicates. */
export function forEachSection(r: Reader, visit: (section: SectionHeader) => void): void {
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
