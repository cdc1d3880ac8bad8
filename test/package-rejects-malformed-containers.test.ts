import { describe, expect, it } from "vitest";
import { decodePackage, resignPackage } from "../engine/patch/index.ts";
import { mutatedCopies } from "./byte-mutations.ts";
import { newKey, sampleCode, samplePackage } from "./package-fixtures.ts";
import { acceptedOrRefused, refusal } from "./refusal.ts";

const key = newKey();

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
    const bytes = samplePackage(key);
    for (let cut = 0; cut < bytes.length; cut++) {
      refusal(() => decodePackage(bytes.subarray(0, cut)), "E_FORMAT");
    }
  });

  it("names the patch in errors found after the manifest was read", () => {
    const bytes = samplePackage(key);
    expect(refusal(() => decodePackage(bytes.subarray(0, bytes.length - 1)), "E_FORMAT").message).toMatch(
      /^E_FORMAT: patch KB5036001: signature block at byte offset \d+ is truncated \(95 of 96 bytes\)/,
    );
  });

  it("rejects trailing bytes after the signature block", () => {
    const bytes = samplePackage(key);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(refusal(() => decodePackage(longer), "E_FORMAT").message).toMatch(/3 trailing bytes after the signature block/);
  });

  it("rejects bad magic", () => {
    const bytes = samplePackage(key);
    bytes[1] = 0x49;
    expect(refusal(() => decodePackage(bytes), "E_FORMAT").message).toMatch(/bad magic at byte offset 1: not a \.hpk patch package/);
    refusal(() => decodePackage(new TextEncoder().encode("HPK1")), "E_FORMAT");
  });

  it("rejects format version 2, saying which versions are supported", () => {
    const bytes = samplePackage(key);
    bytes[4] = 2;
    const error = refusal(() => decodePackage(bytes), "E_FORMAT");
    expect(error.message).toMatch(/package format version 2 is not supported \(supported: 1\)/);
  });

  it("reads the version as a little-endian u16", () => {
    const bytes = samplePackage(key);
    bytes[5] = 1;
    expect(refusal(() => decodePackage(bytes), "E_FORMAT").message).toMatch(/version 257 is not supported/);
  });

  it("rejects flags that version 1 does not define", () => {
    const bytes = samplePackage(key);
    bytes[6] = 4;
    expect(refusal(() => decodePackage(bytes), "E_FORMAT").message).toMatch(/unknown flags 0x4/);
  });

  it("rejects a manifest length that runs past the end", () => {
    const bytes = samplePackage(key);
    new DataView(bytes.buffer).setUint32(8, 0xffffffff, true);
    expect(refusal(() => decodePackage(bytes), "E_FORMAT").message).toMatch(/manifest of 4294967295 bytes at byte offset 12 runs past the end/);
  });

  it("rejects a code length that runs past the end", () => {
    const bytes = samplePackage(key);
    const view = new DataView(bytes.buffer);
    const codeLengthAt = 12 + view.getUint32(8, true);
    view.setUint32(codeLengthAt, bytes.length, true);
    expect(refusal(() => decodePackage(bytes), "E_FORMAT").message).toMatch(/^E_FORMAT: patch KB5036001: code of \d+ bytes .* runs past the end/);
  });

  it("rejects a manifest that is not UTF-8", () => {
    expect(refusal(() => decodePackage(packageWithManifest(new Uint8Array([0x7b, 0xff, 0x7d]))), "E_FORMAT").message).toMatch(
      /manifest is not valid UTF-8/,
    );
  });

  it("rejects a manifest that starts with a byte order mark", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("{}")]);
    expect(refusal(() => decodePackage(packageWithManifest(bom)), "E_FORMAT").message).toMatch(/manifest is not valid JSON/);
  });

  it("rejects a manifest that is not JSON", () => {
    expect(refusal(() => decodePackage(packageWithManifest(new TextEncoder().encode("{id:1}"))), "E_FORMAT").message).toMatch(
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
      expect(refusal(() => decodePackage(packageWithManifest(new TextEncoder().encode(text))), "E_FORMAT").message).toMatch(
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
    const message = refusal(() => decodePackage(bytes.subarray(0, bytes.length - 1)), "E_FORMAT").message;
    expect(message).toContain("patch KB1?[31mxxx");
    expect(message).not.toContain("\u001b");
    expect(message).toMatch(/x\.\.\.: signature block/);
  });

  it("never throws anything but E_FORMAT on randomly mutated packages", () => {
    for (const bytes of mutatedCopies(samplePackage(key), { seed: 7, rounds: 3000, maxFlips: 4 })) acceptedOrRefused(() => decodePackage(bytes), "E_FORMAT");
  });
});
