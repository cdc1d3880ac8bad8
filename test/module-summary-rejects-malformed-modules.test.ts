import { describe, expect, it } from "vitest";
import { readModuleSummary } from "../engine/format/index.ts";
import {
  customSection,
  F64,
  funcType,
  I32,
  leb,
  name,
  SECTION,
  section,
  unreachableBody,
  vec,
  wasmModule,
} from "./wasm-bytes.ts";
import { mutatedCopies } from "./byte-mutations.ts";
import { acceptedOrRefused, refusal } from "./refusal.ts";

/** A valid module with imports, functions, exports, code and a custom section. */
function sampleModule(): Uint8Array {
  return wasmModule(
    section(SECTION.type, vec([funcType([I32, I32], [I32]), funcType([F64], [])])),
    section(SECTION.import, vec([[...name("env"), ...name("abort"), 0x00, 1]])),
    section(SECTION.function, vec([[0], [1]])),
    section(SECTION.memory, vec([[0x00, 1]])),
    section(
      SECTION.export,
      vec([
        [...name("add"), 0x00, 1],
        [...name("memory"), 0x02, 0],
      ]),
    ),
    section(SECTION.code, vec([unreachableBody(), unreachableBody()])),
    customSection("note", [9, 9]),
  );
}

describe("readModuleSummary on malformed input", () => {
  it("rejects bad magic, naming the byte offset", () => {
    const bytes = sampleModule();
    bytes[1] = 0x62;
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/bad magic.*byte offset 1/);
  });

  it("rejects a binary version other than 1", () => {
    const bytes = sampleModule();
    bytes[4] = 2;
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/unsupported binary version.*byte offset 4/);
  });

  it("rejects input shorter than the header", () => {
    expect(refusal(() => readModuleSummary(new Uint8Array([0, 0x61, 0x73])), "E_FORMAT").message).toMatch(/shorter than the 8-byte header/);
  });

  it("rejects a truncated LEB128 in a section size", () => {
    expect(refusal(() => readModuleSummary(wasmModule([SECTION.type, 0x80, 0x80])), "E_FORMAT").message).toMatch(
      /truncated LEB128 \(type section size\) at byte offset 9/,
    );
  });

  it("rejects a LEB128 longer than five bytes", () => {
    expect(refusal(() => readModuleSummary(wasmModule([SECTION.type, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])), "E_FORMAT").message).toMatch(
      /longer than 5 bytes at byte offset 9/,
    );
  });

  it("rejects a section running past the end of the module", () => {
    expect(refusal(() => readModuleSummary(wasmModule([SECTION.type, 10, 0x01, 0x60])), "E_FORMAT").message).toMatch(
      /type section of 10 bytes runs past the end of the module at byte offset 8/,
    );
  });

  it("rejects an unknown section id", () => {
    expect(refusal(() => readModuleSummary(wasmModule([14, 0])), "E_FORMAT").message).toMatch(/unknown section id 14 at byte offset 8/);
  });

  it("rejects GC type forms such as rec groups as an unsupported type form", () => {
    const bytes = wasmModule(section(SECTION.type, vec([[0x4e, ...vec([funcType([], [])])]])));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/unsupported type form 0x4e .* at byte offset 11/);
  });

  it("rejects value types outside MVP and reference types", () => {
    const bytes = wasmModule(section(SECTION.type, vec([[0x60, 1, 0x64, 0x70, 0]])));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/unsupported value type 0x64/);
  });

  it("rejects contents running past the end of their section", () => {
    const types = wasmModule(section(SECTION.type, [1, 0x60, 1]));
    expect(refusal(() => readModuleSummary(types), "E_FORMAT").message).toMatch(/parameter count 1 runs past the end at byte offset 13/);
    const imports = wasmModule(section(SECTION.import, [1, ...name("e"), ...name("g"), 0x03, I32]));
    expect(refusal(() => readModuleSummary(imports), "E_FORMAT").message).toMatch(/unexpected end of global mutability at byte offset 17/);
  });

  it("rejects a section whose contents are shorter than its size", () => {
    const bytes = wasmModule(section(SECTION.type, [...vec([funcType([], [])]), 0]));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/type section size does not match its contents at byte offset 14/);
  });

  it("rejects duplicate and out-of-order sections", () => {
    const types = section(SECTION.type, vec([]));
    const functions = section(SECTION.function, vec([]));
    expect(refusal(() => readModuleSummary(wasmModule(types, types)), "E_FORMAT").message).toMatch(/duplicate type section at byte offset 11/);
    expect(refusal(() => readModuleSummary(wasmModule(functions, types)), "E_FORMAT").message).toMatch(/type section out of order/);
  });

  it("rejects a function whose type index is out of range", () => {
    const bytes = wasmModule(section(SECTION.type, vec([funcType([], [])])), section(SECTION.function, vec([[3]])));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/function 0 refers to type 3 but the module has 1 types/);
  });

  it("rejects an export whose index is out of range", () => {
    const bytes = wasmModule(
      section(SECTION.type, vec([funcType([], [])])),
      section(SECTION.function, vec([[0]])),
      section(SECTION.export, vec([[...name("f"), 0x00, 1]])),
    );
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/export "f" refers to function 1 but the module has 1/);
  });

  it("rejects names that are not UTF-8", () => {
    const bytes = wasmModule(section(SECTION.custom, [2, 0xc3, 0x28]));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/custom section name is not valid UTF-8 at byte offset 11/);
  });

  it("rejects a vector count larger than its section", () => {
    const bytes = wasmModule(section(SECTION.function, [...leb(1_000_000), 0]));
    expect(refusal(() => readModuleSummary(bytes), "E_FORMAT").message).toMatch(/function count 1000000 runs past the end of its section/);
  });

  it("names the patch when given one", () => {
    expect(refusal(() => readModuleSummary(new Uint8Array(4), { patch: "KB5036001" }), "E_FORMAT").message).toMatch(/^E_FORMAT: patch KB5036001: /);
  });

  it("fails with E_FORMAT for every truncation that does not end on a section boundary", () => {
    const bytes = sampleModule();
    const boundaries = new Set<number>();
    for (let cut = 0; cut < bytes.length; cut++) {
      if (acceptedOrRefused(() => readModuleSummary(bytes.subarray(0, cut)), "E_FORMAT")) boundaries.add(cut);
    }
    expect(boundaries.size).toBe(7); // the header and the end of each of the first six sections
  });

  it("never throws anything but E_FORMAT on randomly mutated modules, and accepts whatever WebAssembly accepts", () => {
    let stillValid = 0;
    for (const bytes of mutatedCopies(sampleModule(), { seed: 42, rounds: 3000, maxFlips: 3 })) {
      const accepted = acceptedOrRefused(() => readModuleSummary(bytes), "E_FORMAT");
      if (WebAssembly.validate(bytes)) {
        stillValid++;
        expect(accepted).toBe(true);
        const exports = readModuleSummary(bytes).exports.map(({ name, kind }) => ({ name, kind }));
        expect(exports).toEqual(WebAssembly.Module.exports(new WebAssembly.Module(bytes)));
      }
    }
    expect(stillValid).toBeGreaterThan(100); // the comparison with WebAssembly really ran
  });
});
