import { describe, expect, it } from "vitest";
import { validateManifest } from "../engine/patch/index.ts";
import { formatSignature } from "../engine/format/index.ts";
import { sampleManifest } from "./package-fixtures.ts";
import { refusal } from "./refusal.ts";

type Mutable = Record<string, unknown> & { functions: Record<string, unknown>[]; target: Record<string, unknown> };

function mutated(change: (m: Mutable) => void): unknown {
  const manifest = structuredClone(sampleManifest()) as unknown as Mutable;
  manifest.functions.push({ ...manifest.functions[0], key: "second", slot: 4 });
  manifest.functions.push({ ...manifest.functions[0], key: "third", slot: 5 });
  change(manifest);
  return manifest;
}

const CELL = { key: "n", type: "i32", init: "0" };
const withState = (fields: Record<string, unknown>) => ({ cells: [CELL], buffers: [], migrate: "migrate", ...fields });

const validationMessage = (value: unknown): string => refusal(() => validateManifest(value), "E_FORMAT").message;

describe("validateManifest", () => {
  it("accepts a complete manifest and returns the same object", () => {
    const manifest = sampleManifest();
    expect(validateManifest(manifest)).toBe(manifest);
  });

  it("accepts unknown extra fields at any level", () => {
    const value = mutated((m) => {
      m.supersedes = ["KB1"];
      m.target.arch = "wasm32";
      m.functions[1].note = "x";
    });
    expect(validateManifest(value)).toBe(value);
  });

  it("accepts empty function and helper lists", () => {
    expect(() => validateManifest({ ...sampleManifest(), functions: [], helpers: [] })).not.toThrow();
  });

  it("names the field with its array index, e.g. a negative slot", () => {
    const message = validationMessage(mutated((m) => (m.functions[2].slot = -1)));
    expect(message).toBe("E_FORMAT: patch KB5036001: manifest.functions[2].slot must be a non-negative integer");
  });

  it.each([
    ["a missing id", (m: Mutable) => delete m.id, /manifest\.id must be a string of the form KB<digits>/],
    ["an id not of the form KB<digits>", (m: Mutable) => (m.id = "KB12a"), /manifest\.id must be/],
    ["a lower-case id", (m: Mutable) => (m.id = "kb123"), /manifest\.id must be/],
    ["format 2", (m: Mutable) => (m.format = 2), /manifest\.format must be 1 \(found 2\)/],
    ["format as a string", (m: Mutable) => (m.format = "1"), /manifest\.format must be 1$/],
    ["a missing title", (m: Mutable) => delete m.title, /manifest\.title must be a non-empty string/],
    ["an empty classification", (m: Mutable) => (m.classification = ""), /manifest\.classification must be/],
    ["another kind", (m: Mutable) => (m.kind = "coldpatch"), /manifest\.kind must be "hotpatch"/],
    ["a missing target", (m: Mutable) => Reflect.deleteProperty(m, "target"), /manifest\.target must be an object/],
    ["a target that is an array", (m: Mutable) => (m.target = [] as unknown as Record<string, unknown>), /manifest\.target must be an object/],
    ["a numeric build id", (m: Mutable) => (m.target.buildId = 7), /manifest\.target\.buildId must be a non-empty string/],
    ["functions that are not an array", (m: Mutable) => (m.functions = {} as never), /manifest\.functions must be an array/],
    ["a function that is not an object", (m: Mutable) => (m.functions[1] = "f" as never), /manifest\.functions\[1\] must be an object/],
    ["a missing key", (m: Mutable) => delete m.functions[0].key, /manifest\.functions\[0\]\.key must be a non-empty string/],
    ["a fractional slot", (m: Mutable) => (m.functions[1].slot = 1.5), /manifest\.functions\[1\]\.slot must be a non-negative integer/],
    ["a string slot", (m: Mutable) => (m.functions[1].slot = "1"), /manifest\.functions\[1\]\.slot must be a non-negative integer/],
    ["a slot beyond u32", (m: Mutable) => (m.functions[1].slot = 2 ** 32), /manifest\.functions\[1\]\.slot must be below 2\^32/],
    ["a repeated slot", (m: Mutable) => (m.functions[2].slot = 3), /manifest\.functions\[2\]\.slot repeats slot 3 of functions\[0\]/],
    ["a repeated key", (m: Mutable) => (m.functions[2].key = "second"), /manifest\.functions\[2\]\.key repeats key "second" of functions\[1\]/],
    ["a malformed signature", (m: Mutable) => (m.functions[0].signature = "i32->i32"), /manifest\.functions\[0\]\.signature must be a signature/],
    ["a single result in parentheses", (m: Mutable) => (m.functions[0].signature = "(i32)->(i32)"), /signature must be a signature/],
    ["an unknown value type", (m: Mutable) => (m.functions[0].signature = "(i8)->()"), /signature must be a signature/],
    ["a missing old fingerprint", (m: Mutable) => delete m.functions[0].oldFingerprint, /manifest\.functions\[0\]\.oldFingerprint must be/],
    ["a missing new fingerprint", (m: Mutable) => delete m.functions[0].newFingerprint, /manifest\.functions\[0\]\.newFingerprint must be/],
    ["a missing export", (m: Mutable) => delete m.functions[2].export, /manifest\.functions\[2\]\.export must be a non-empty string/],
    ["missing helpers", (m: Mutable) => delete m.helpers, /manifest\.helpers must be an array/],
    ["a helper that is not a string", (m: Mutable) => (m.helpers = ["h", 3]), /manifest\.helpers\[1\] must be a non-empty string/],
    ["state that is not an object", (m: Mutable) => (m.state = []), /manifest\.state must be an object/],
    ["state cells of an unknown type", (m: Mutable) => (m.state = withState({ cells: [{ key: "n", type: "i8", init: "0" }] })), /manifest\.state\.cells\[0\]\.type must be i32, i64, f32 or f64/],
    ["a repeated state cell", (m: Mutable) => (m.state = withState({ cells: [CELL, CELL] })), /manifest\.state\.cells\[1\]\.key repeats the cell n/],
    ["a cell whose initial value is not a number", (m: Mutable) => (m.state = withState({ cells: [{ ...CELL, init: "x" }] })), /manifest\.state\.cells\[0\]\.init must be a decimal number/],
    ["a state buffer that is no new object", (m: Mutable) => (m.state = withState({ buffers: [{ object: 0, size: 16 }] })), /manifest\.state\.buffers must be a list of new objects/],
    ["state without its migration", (m: Mutable) => (m.state = withState({ migrate: "" })), /manifest\.state\.migrate must be a non-empty string/],
  ])("rejects %s", (_what, change, pattern) => {
    expect(validationMessage(mutated(change))).toMatch(pattern);
  });

  it("accepts state: cells, no buffers, a migration and its reverse", () => {
    expect(() => validateManifest(mutated((m) => (m.state = withState({ unmigrate: "unmigrate", cells: [CELL, { key: "w", type: "i64", init: "-3" }] }))))).not.toThrow();
  });

  it("rejects values that are not objects", () => {
    for (const value of [[], null, "KB1", 1]) {
      expect(validationMessage(value)).toBe("E_FORMAT: manifest must be a JSON object");
    }
  });

  it("accepts every signature formatSignature writes", () => {
    const signatures = [
      formatSignature({ params: [], results: [] }),
      formatSignature({ params: ["i32", "i32"], results: ["i32"] }),
      formatSignature({ params: ["i64"], results: [] }),
      formatSignature({ params: ["f32", "f64", "v128"], results: ["funcref", "externref"] }),
    ];
    for (const signature of signatures) {
      expect(() => validateManifest(mutated((m) => (m.functions[0].signature = signature)))).not.toThrow();
    }
  });

  it("does not name a patch whose id is invalid as if it were valid", () => {
    expect(validationMessage(mutated((m) => (m.id = "")))).toBe(
      "E_FORMAT: manifest.id must be a string of the form KB<digits>, e.g. KB5036001",
    );
  });
});
