import { describe, expect, it } from "vitest";
import { HotpatchError } from "../engine/errors.ts";
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

function formatError(bytes: Uint8Array, context?: { patch?: string }): HotpatchError {
  try {
    readModuleSummary(bytes, context);
  } catch (error) {
    if (error instanceof HotpatchError && error.code === "E_FORMAT") return error;
    throw new Error(`expected E_FORMAT, got ${String(error)}`);
  }
  throw new Error("expected E_FORMAT, but the module was accepted");
}

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
    expect(formatError(bytes).message).toMatch(/bad magic.*byte offset 1/);
  });

  it("rejects a binary version other than 1", () => {
    const bytes = sampleModule();
    bytes[4] = 2;
    expect(formatError(bytes).message).toMatch(/unsupported binary version.*byte offset 4/);
  });

  it("rejects input shorter than the header", () => {
    expect(formatError(new Uint8Array([0, 0x61, 0x73])).message).toMatch(/shorter than the 8-byte header/);
  });

  it("rejects a truncated LEB128 in a section size", () => {
    expect(formatError(wasmModule([SECTION.type, 0x80, 0x80])).message).toMatch(
      /truncated LEB128 \(type section size\) at byte offset 9/,
    );
  });

  it("rejects a LEB128 longer than five bytes", () => {
    expect(formatError(wasmModule([SECTION.type, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).message).toMatch(
      /longer than 5 bytes at byte offset 9/,
    );
  });

  it("rejects a section running past the end of the module", () => {
    expect(formatError(wasmModule([SECTION.type, 10, 0x01, 0x60])).message).toMatch(
      /type section of 10 bytes runs past the end of the module at byte offset 8/,
    );
  });

  it("rejects an unknown section id", () => {
    expect(formatError(wasmModule([14, 0])).message).toMatch(/unknown section id 14 at byte offset 8/);
  });

  it("rejects GC type forms such as rec groups as an unsupported type form", () => {
    const bytes = wasmModule(section(SECTION.type, vec([[0x4e, ...vec([funcType([], [])])]])));
    expect(formatError(bytes).message).toMatch(/unsupported type form 0x4e .* at byte offset 11/);
  });

  it("rejects value types outside MVP and reference types", () => {
    const bytes = wasmModule(section(SECTION.type, vec([[0x60, 1, 0x64, 0x70, 0]])));
    expect(formatError(bytes).message).toMatch(/unsupported value type 0x64/);
  });

  it("rejects contents running past the end of their section", () => {
    const types = wasmModule(section(SECTION.type, [1, 0x60, 1]));
    expect(formatError(types).message).toMatch(/parameter count 1 runs past the end at byte offset 13/);
    const imports = wasmModule(section(SECTION.import, [1, ...name("e"), ...name("g"), 0x03, I32]));
    expect(formatError(imports).message).toMatch(/unexpected end of global mutability at byte offset 17/);
  });

  it("rejects a section whose contents are shorter than its size", () => {
    const bytes = wasmModule(section(SECTION.type, [...vec([funcType([], [])]), 0]));
    expect(formatError(bytes).message).toMatch(/type section size does not match its contents at byte offset 14/);
  });

  it("rejects duplicate and out-of-order sections", () => {
    const types = section(SECTION.type, vec([]));
    const functions = section(SECTION.function, vec([]));
    expect(formatError(wasmModule(types, types)).message).toMatch(/duplicate type section at byte offset 11/);
    expect(formatError(wasmModule(functions, types)).message).toMatch(/type section out of order/);
  });

  it("rejects a function whose type index is out of range", () => {
    const bytes = wasmModule(section(SECTION.type, vec([funcType([], [])])), section(SECTION.function, vec([[3]])));
    expect(formatError(bytes).message).toMatch(/function 0 refers to type 3 but the module has 1 types/);
  });

  it("rejects an export whose index is out of range", () => {
    const bytes = wasmModule(
      section(SECTION.type, vec([funcType([], [])])),
      section(SECTION.function, vec([[0]])),
      section(SECTION.export, vec([[...name("f"), 0x00, 1]])),
    );
    expect(formatError(bytes).message).toMatch(/export "f" refers to function 1 but the module has 1/);
  });

  it("rejects names that are not UTF-8", () => {
    const bytes = wasmModule(section(SECTION.custom, [2, 0xc3, 0x28]));
    expect(formatError(bytes).message).toMatch(/custom section name is not valid UTF-8 at byte offset 11/);
  });

  it("rejects a vector count larger than its section", () => {
    const bytes = wasmModule(section(SECTION.function, [...leb(1_000_000), 0]));
    expect(formatError(bytes).message).toMatch(/function count 1000000 runs past the end of its section/);
  });

  it("names the patch when given one", () => {
    expect(formatError(new Uint8Array(4), { patch: "KB5036001" }).message).toMatch(/^E_FORMAT: patch KB5036001: /);
  });

  it("fails with E_FORMAT for every truncation that does not end on a section boundary", () => {
    const bytes = sampleModule();
    const boundaries = new Set<number>();
    for (let cut = 0; cut < bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      try {
        readModuleSummary(prefix);
        boundaries.add(cut);
      } catch (error) {
        expect(error).toBeInstanceOf(HotpatchError);
        expect((error as HotpatchError).code).toBe("E_FORMAT");
      }
    }
    expect(boundaries.size).toBe(7); // the header and the end of each of the first six sections
  });

  it("never throws anything but E_FORMAT on randomly mutated modules, and accepts whatever WebAssembly accepts", () => {
    const original = sampleModule();
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let stillValid = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      let accepted = true;
      try {
        readModuleSummary(bytes);
      } catch (error) {
        accepted = false;
        expect(error).toBeInstanceOf(HotpatchError);
        expect((error as HotpatchError).code).toBe("E_FORMAT");
      }
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
