import { describe, expect, it } from "vitest";
import { exportedFunctionSignature, formatSignature, readModuleSummary } from "../engine/format/index.ts";
import {
  customSection,
  EXTERNREF,
  F32,
  F64,
  FUNCREF,
  funcType,
  I32,
  I64,
  name,
  SECTION,
  section,
  unreachableBody,
  V128,
  vec,
  wasmModule,
} from "./wasm-bytes.ts";

/**
 * A module touching every section the reader knows: imports of all five
 * kinds, defined functions/table/tag/globals, exports of all kinds (one
 * re-exporting an import), start, element, data count, data and two custom
 * sections.
 */
function richModule(): Uint8Array<ArrayBuffer> {
  return wasmModule(
    customSection("hotpatch.meta", [1, 2, 3]),
    section(
      SECTION.type,
      vec([
        funcType([I32, I32], [I32]), // 0
        funcType([], []), // 1
        funcType([I64, F32, F64], [F64, I32]), // 2
        funcType([V128, FUNCREF, EXTERNREF], [EXTERNREF]), // 3
        funcType([I32], []), // 4
      ]),
    ),
    section(
      SECTION.import,
      vec([
        [...name("env"), ...name("add2"), 0x00, 0],
        [...name("env"), ...name("log"), 0x00, 4],
        [...name("env"), ...name("table"), 0x01, FUNCREF, 0x00, 1],
        [...name("env"), ...name("memory"), 0x02, 0x01, 1, 2],
        [...name("env"), ...name("g"), 0x03, I64, 0x01],
        [...name("env"), ...name("k"), 0x03, F32, 0x00],
        [...name("env"), ...name("err"), 0x04, 0x00, 4],
      ]),
    ),
    section(SECTION.function, vec([[1], [2], [3], [0]])),
    section(SECTION.table, vec([[FUNCREF, 0x00, 2]])),
    section(SECTION.tag, vec([[0x00, 4]])),
    section(
      SECTION.global,
      vec([
        [I32, 0x00, 0x41, 7, 0x0b],
        [F64, 0x01, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b],
      ]),
    ),
    section(
      SECTION.export,
      vec([
        [...name("init"), 0x00, 2],
        [...name("triple"), 0x00, 3],
        [...name("refs"), 0x00, 4],
        [...name("sum"), 0x00, 5],
        [...name("add2again"), 0x00, 0],
        [...name("tbl"), 0x01, 1],
        [...name("mem"), 0x02, 0],
        [...name("g"), 0x03, 0],
        [...name("counter"), 0x03, 3],
        [...name("err"), 0x04, 0],
      ]),
    ),
    section(SECTION.start, [2]),
    section(SECTION.element, vec([[0x00, 0x41, 0, 0x0b, ...vec([[2]])]])),
    section(SECTION.datacount, [1]),
    section(SECTION.code, vec([unreachableBody(), unreachableBody(), unreachableBody(), unreachableBody()])),
    section(SECTION.data, vec([[0x00, 0x41, 0, 0x0b, ...vec([[0x68], [0x69]])]])),
    customSection("extra", []),
  );
}

describe("readModuleSummary on hand-assembled modules", () => {
  it("accepts the test module, which WebAssembly itself compiles", () => {
    expect(() => new WebAssembly.Module(richModule())).not.toThrow();
  });

  it("reads the function types including multi-value, v128 and reference types", () => {
    const summary = readModuleSummary(richModule());
    expect(summary.types.map(formatSignature)).toEqual([
      "(i32,i32)->i32",
      "()->()",
      "(i64,f32,f64)->(f64,i32)",
      "(v128,funcref,externref)->externref",
      "(i32)->()",
    ]);
  });

  it("reads imports of every kind with their signatures and global types", () => {
    const summary = readModuleSummary(richModule());
    expect(summary.imports).toEqual([
      { module: "env", name: "add2", kind: "function", signature: { params: ["i32", "i32"], results: ["i32"] } },
      { module: "env", name: "log", kind: "function", signature: { params: ["i32"], results: [] } },
      { module: "env", name: "table", kind: "table", limits: { min: 1, shared: false } },
      { module: "env", name: "memory", kind: "memory", limits: { min: 1, max: 2, shared: false } },
      { module: "env", name: "g", kind: "global", global: { type: "i64", mutable: true } },
      { module: "env", name: "k", kind: "global", global: { type: "f32", mutable: false } },
      { module: "env", name: "err", kind: "tag", signature: { params: ["i32"], results: [] } },
    ]);
  });

  it("agrees with WebAssembly.Module about import and export names and kinds", () => {
    const bytes = richModule();
    const summary = readModuleSummary(bytes);
    const compiled = new WebAssembly.Module(bytes);
    expect(summary.exports.map(({ name, kind }) => ({ name, kind }))).toEqual(WebAssembly.Module.exports(compiled));
    expect(summary.imports.map(({ module, name, kind }) => ({ module, name, kind }))).toEqual(
      WebAssembly.Module.imports(compiled),
    );
  });

  it("reads defined functions, exports with their indices and the counts of the other sections", () => {
    const summary = readModuleSummary(richModule());
    expect(summary.functions).toEqual([1, 2, 3, 0]);
    expect(summary.exports.find((e) => e.name === "counter")).toEqual({ name: "counter", kind: "global", index: 3 });
    expect(summary.hasStart).toBe(true);
    expect(summary.dataSegmentCount).toBe(1);
    expect(summary.elementSegmentCount).toBe(1);
    expect(summary.definedMemoryCount).toBe(0);
    expect(summary.definedTableCount).toBe(1);
    expect(summary.definedGlobalCount).toBe(2);
    expect(summary.definedTagCount).toBe(1);
  });

  it("lists custom sections in file order with the offset and size of their payloads", () => {
    const bytes = richModule();
    const summary = readModuleSummary(bytes);
    expect(summary.customSections.map((c) => c.name)).toEqual(["hotpatch.meta", "extra"]);
    const [meta, extra] = summary.customSections;
    expect([...bytes.subarray(meta.offset, meta.offset + meta.size)]).toEqual([1, 2, 3]);
    expect(extra.size).toBe(0);
    expect(extra.offset).toBe(bytes.length);
  });

  it("resolves exported function signatures past the imported functions' indices", () => {
    const summary = readModuleSummary(richModule());
    const sig = (exportName: string) => {
      const found = exportedFunctionSignature(summary, exportName);
      return found && formatSignature(found);
    };
    expect(sig("init")).toBe("()->()");
    expect(sig("triple")).toBe("(i64,f32,f64)->(f64,i32)");
    expect(sig("refs")).toBe("(v128,funcref,externref)->externref");
    expect(sig("sum")).toBe("(i32,i32)->i32");
    expect(sig("add2again")).toBe("(i32,i32)->i32");
  });

  it("gives no signature for a missing export or an export that is not a function", () => {
    const summary = readModuleSummary(richModule());
    expect(exportedFunctionSignature(summary, "nope")).toBeUndefined();
    expect(exportedFunctionSignature(summary, "mem")).toBeUndefined();
    expect(exportedFunctionSignature(summary, "counter")).toBeUndefined();
  });

  it("counts a defined memory and reports no start for a module without one", () => {
    const bytes = wasmModule(
      section(SECTION.memory, vec([[0x00, 1]])),
      section(SECTION.export, vec([[...name("memory"), 0x02, 0]])),
    );
    new WebAssembly.Module(bytes);
    const summary = readModuleSummary(bytes);
    expect(summary.definedMemoryCount).toBe(1);
    expect(summary.hasStart).toBe(false);
    expect(summary.exports).toEqual([{ name: "memory", kind: "memory", index: 0 }]);
  });

  it("summarises a module of only a header as empty", () => {
    expect(readModuleSummary(wasmModule())).toEqual({
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
    });
  });

  it("reads non-ASCII and long names", () => {
    const long = "x".repeat(300);
    const bytes = wasmModule(
      section(SECTION.type, vec([funcType([], [])])),
      section(SECTION.function, vec([[0], [0]])),
      section(
        SECTION.export,
        vec([
          [...name("größe→λ"), 0x00, 0],
          [...name(long), 0x00, 1],
        ]),
      ),
      section(SECTION.code, vec([unreachableBody(), unreachableBody()])),
    );
    expect(readModuleSummary(bytes).exports.map((e) => e.name)).toEqual(
      WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name),
    );
  });
});

describe("formatSignature", () => {
  it("writes parameters in parentheses and a single result bare", () => {
    expect(formatSignature({ params: ["i32", "i32"], results: ["i32"] })).toBe("(i32,i32)->i32");
  });

  it("writes an empty result list as ()", () => {
    expect(formatSignature({ params: ["i32"], results: [] })).toBe("(i32)->()");
    expect(formatSignature({ params: [], results: [] })).toBe("()->()");
  });

  it("writes several results in parentheses", () => {
    expect(formatSignature({ params: [], results: ["i64", "f32"] })).toBe("()->(i64,f32)");
  });
});
