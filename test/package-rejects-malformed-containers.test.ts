import { describe, expect, it } from "vitest";
import { HotpatchError } from "../engine/errors.ts";
import { decodePackage, encodePackage, resignPackage } from "../engine/patch/index.ts";
import { newKey, sampleCode, sampleManifest } from "./package-fixtures.ts";

const key = newKey();

function samplePackage(): Uint8Array<ArrayBuffer> {
  return encodePackage({ manifest: sampleManifest(), code: sampleCode() }, key.privateKey);
}

function decodeError(bytes: Uint8Array): HotpatchError {
  try {
    decodePackage(bytes);
  } catch (error) {
    if (error instanceof HotpatchError) return error;
    throw new Error(`expected a HotpatchError, got ${String(error)}`);
  }
  throw new Error("expected decodePackage to fail");
}

/** A package with the given raw manifest bytes, correctly framed and signed. */
function packageWithManifest(manifest: Uint8Array): Uint8Array<ArrayBuffer> {
  const code = sampleCode();
  const body = new Uint8Array(12 + manifest.length + 4 + code.length);
  const view = new DataView(body.buffer);
  body.set([0x00, 0x48, 0x50, 0x4b, 1, 0, 0, 0]);
  view.setUint32(8, manifest.length, true);
  body.set(manifest, 12);
  view.setUint32(12 + manifest.length, code.length, true);
  body.set(code, 16 + manifest.length);
  return resignPackage(body, key.privateKey); // short input: signed whole, block appended
}

describe("decodePackage on malformed containers", () => {
  it("fails with E_FORMAT, and nothing else, at every truncation of a package", () => {
    const bytes = samplePackage();
    for (let cut = 0; cut < bytes.length; cut++) {
      const error = decodeError(bytes.subarray(0, cut));
      expect(error.code, `cut at ${cut}`).toBe("E_FORMAT");
    }
  });

  it("names the patch in errors found after the manifest was read", () => {
    const bytes = samplePackage();
    expect(decodeError(bytes.subarray(0, bytes.length - 1)).message).toMatch(
      /^E_FORMAT: patch KB5036001: signature block at byte offset \d+ is truncated \(95 of 96 bytes\)/,
    );
  });

  it("rejects trailing bytes after the signature block", () => {
    const bytes = samplePackage();
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(decodeError(longer).message).toMatch(/3 trailing bytes after the signature block/);
  });

  it("rejects bad magic", () => {
    const bytes = samplePackage();
    bytes[1] = 0x49;
    expect(decodeError(bytes).message).toMatch(/bad magic at byte offset 1: not a \.hpk patch package/);
    expect(decodeError(new TextEncoder().encode("HPK1")).code).toBe("E_FORMAT");
  });

  it("rejects format version 2, saying which versions are supported", () => {
    const bytes = samplePackage();
    bytes[4] = 2;
    const error = decodeError(bytes);
    expect(error.code).toBe("E_FORMAT");
    expect(error.message).toMatch(/package format version 2 is not supported \(supported: 1\)/);
  });

  it("reads the version as a little-endian u16", () => {
    const bytes = samplePackage();
    bytes[5] = 1;
    expect(decodeError(bytes).message).toMatch(/version 257 is not supported/);
  });

  it("rejects flags that version 1 does not define", () => {
    const bytes = samplePackage();
    bytes[6] = 4;
    expect(decodeError(bytes).message).toMatch(/unknown flags 0x4/);
  });

  it("rejects a manifest length that runs past the end", () => {
    const bytes = samplePackage();
    new DataView(bytes.buffer).setUint32(8, 0xffffffff, true);
    expect(decodeError(bytes).message).toMatch(/manifest of 4294967295 bytes at byte offset 12 runs past the end/);
  });

  it("rejects a code length that runs past the end", () => {
    const bytes = samplePackage();
    const view = new DataView(bytes.buffer);
    const codeLengthAt = 12 + view.getUint32(8, true);
    view.setUint32(codeLengthAt, bytes.length, true);
    expect(decodeError(bytes).message).toMatch(/^E_FORMAT: patch KB5036001: code of \d+ bytes .* runs past the end/);
  });

  it("rejects a manifest that is not UTF-8", () => {
    expect(decodeError(packageWithManifest(new Uint8Array([0x7b, 0xff, 0x7d]))).message).toMatch(
      /manifest is not valid UTF-8/,
    );
  });

  it("rejects a manifest that starts with a byte order mark", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("{}")]);
    expect(decodeError(packageWithManifest(bom)).message).toMatch(/manifest is not valid JSON/);
  });

  it("rejects a manifest that is not JSON", () => {
    expect(decodeError(packageWithManifest(new TextEncoder().encode("{id:1}"))).message).toMatch(
      /manifest is not valid JSON/,
    );
  });

  it("rejects a manifest that is JSON but not an object", () => {
    for (const [text, found] of [
      ["[]", "an array"],
      ["null", "null"],
      ["42", "a number"],
      ['"KB1"', "a string"],
    ]) {
      expect(decodeError(packageWithManifest(new TextEncoder().encode(text))).message).toMatch(
        `manifest must be a JSON object, found ${found}`,
      );
    }
  });

  it("parses structure only: a manifest with bad fields still decodes", () => {
    const decoded = decodePackage(packageWithManifest(new TextEncoder().encode('{"id":7}')));
    expect(decoded.manifest).toEqual({ id: 7 });
  });

  it("makes unverified patch ids printable and short in messages", () => {
    const id = `KB1\u001b[31m${"x".repeat(100)}`;
    const bytes = packageWithManifest(new TextEncoder().encode(JSON.stringify({ id })));
    const message = decodeError(bytes.subarray(0, bytes.length - 1)).message;
    expect(message).toContain("patch KB1?[31mxxx");
    expect(message).not.toContain("\u001b");
    expect(message).toMatch(/x\.\.\.: signature block/);
  });

  it("never throws anything but E_FORMAT on randomly mutated packages", () => {
    const original = samplePackage();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 3000; round++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        decodePackage(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(HotpatchError);
        expect((error as HotpatchError).code).toBe("E_FORMAT");
      }
    }
  });
});
