import { describe, expect, it } from "vitest";
import { HotpatchError } from "../engine/errors.ts";
import { appendCustomSection, readModuleSummary, stripCustomSection } from "../engine/format/index.ts";
import { customSection, funcType, I32, name, SECTION, section, unreachableBody, vec, wasmModule } from "./wasm-bytes.ts";

function baseModule(): Uint8Array {
  return wasmModule(
    section(SECTION.type, vec([funcType([I32], [I32])])),
    section(SECTION.function, vec([[0]])),
    section(SECTION.export, vec([[...name("f"), 0x00, 0]])),
    section(SECTION.code, vec([unreachableBody()])),
  );
}

const bytesOf = (text: string) => new TextEncoder().encode(text);

describe("appendCustomSection", () => {
  it("appends a section the reader finds at the end with the given payload", () => {
    const base = baseModule();
    const payload = bytesOf('{"buildId":"b1"}');
    const out = appendCustomSection(base, "hotpatch.image", payload);
    expect([...out.subarray(0, base.length)]).toEqual([...base]);
    const [custom] = readModuleSummary(out).customSections;
    expect(custom.name).toBe("hotpatch.image");
    expect(out.subarray(custom.offset, custom.offset + custom.size)).toEqual(payload);
    expect(custom.offset + custom.size).toBe(out.length);
  });

  it("keeps the module compilable with the same exports", () => {
    const out = appendCustomSection(baseModule(), "meta", new Uint8Array(300).fill(7));
    expect(WebAssembly.Module.exports(new WebAssembly.Module(out))).toEqual([{ name: "f", kind: "function" }]);
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(out), "meta")[0].byteLength).toBe(300);
  });

  it("handles non-ASCII names and empty payloads", () => {
    const out = appendCustomSection(baseModule(), "métadonnées", new Uint8Array());
    expect(readModuleSummary(out).customSections).toEqual([{ name: "métadonnées", offset: out.length, size: 0 }]);
  });

  it("refuses bytes that are not a WebAssembly module", () => {
    expect(() => appendCustomSection(bytesOf("not wasm"), "x", new Uint8Array())).toThrow(HotpatchError);
  });
});

describe("stripCustomSection", () => {
  it("removes every section of that name, returns the last payload and keeps everything else in order", () => {
    const withSections = wasmModule(
      customSection("meta", [1]),
      section(SECTION.type, vec([funcType([I32], [I32])])),
      customSection("other", [5, 5]),
      section(SECTION.function, vec([[0]])),
      customSection("meta", [2, 2]),
      section(SECTION.export, vec([[...name("f"), 0x00, 0]])),
      section(SECTION.code, vec([unreachableBody()])),
    );
    const expected = wasmModule(
      section(SECTION.type, vec([funcType([I32], [I32])])),
      customSection("other", [5, 5]),
      section(SECTION.function, vec([[0]])),
      section(SECTION.export, vec([[...name("f"), 0x00, 0]])),
      section(SECTION.code, vec([unreachableBody()])),
    );
    const { module, payload } = stripCustomSection(withSections, "meta");
    expect(module).toEqual(expected);
    expect(payload).toEqual(new Uint8Array([2, 2]));
  });

  it("undoes appendCustomSection exactly", () => {
    const base = baseModule();
    const payload = bytesOf("payload");
    const { module, payload: found } = stripCustomSection(appendCustomSection(base, "hp", payload), "hp");
    expect(module).toEqual(base);
    expect(found).toEqual(payload);
  });

  it("returns an unchanged copy and no payload when there is no such section", () => {
    const base = appendCustomSection(baseModule(), "other", bytesOf("x"));
    const { module, payload } = stripCustomSection(base, "hp");
    expect(module).toEqual(base);
    expect(module).not.toBe(base);
    expect(payload).toBeUndefined();
  });

  it("returns copies that do not alias the input", () => {
    const input = appendCustomSection(baseModule(), "hp", bytesOf("abc"));
    const { module, payload } = stripCustomSection(input, "hp");
    input.fill(0);
    expect(new TextDecoder().decode(payload)).toBe("abc");
    expect(module).toEqual(baseModule());
  });

  it("refuses malformed modules with E_FORMAT", () => {
    const truncated = appendCustomSection(baseModule(), "hp", bytesOf("abc")).subarray(0, -1);
    expect(() => stripCustomSection(truncated, "hp")).toThrow(/E_FORMAT: .*custom section of \d+ bytes runs past the end/);
  });
});
