import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HotpatchError } from "../engine/errors.ts";
import { canonicalJson } from "../engine/patch/canonical-json.ts";
import { decodePackage, encodePackage, keyId, TrustStore, verifyPackage } from "../engine/patch/index.ts";
import { newKey, sampleCode, sampleManifest, samplePackage } from "./package-fixtures.ts";

describe("canonicalJson", () => {
  it("gives the same text whatever the key order, at every depth", () => {
    const a = { b: 1, a: { y: [1, { q: true, p: null }], x: "s" } };
    const b = { a: { x: "s", y: [1, { p: null, q: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}');
  });

  it("writes no whitespace and keeps array order", () => {
    expect(canonicalJson({ list: [3, 1, 2], text: "a b" })).toBe('{"list":[3,1,2],"text":"a b"}');
  });

  it("is stable under a parse and rewrite", () => {
    const text = canonicalJson(sampleManifest());
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it("escapes strings as JSON does, including non-ASCII and lone surrogates", () => {
    const value = { "ключ": 'quote " and \\ and \n', s: "\ud800" };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
    expect(Buffer.from(canonicalJson(value), "utf8").toString("utf8")).toBe(canonicalJson(value));
  });

  it("leaves out undefined properties", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it("refuses values JSON cannot represent exactly", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ n: Number.NaN }, { n: Infinity }, { n: 1n }, { f: () => 1 }, [undefined], { d: new Date(0) }, { u: new Uint8Array(1) }, cyclic]) {
      expect(() => canonicalJson(bad)).toThrow(HotpatchError);
    }
    expect(() => canonicalJson({ a: { b: [0, Number.NaN] } })).toThrow(/\$\.a\.b\[1\] is NaN/);
  });

  it("accepts a repeated but acyclic object", () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe("encodePackage and decodePackage", () => {
  it("round-trips manifest and code and verifies against the signer's key", () => {
    const key = newKey();
    const manifest = sampleManifest();
    const code = sampleCode();
    const bytes = encodePackage({ manifest, code }, key.privateKey);
    const decoded = decodePackage(bytes);
    expect(decoded.formatVersion).toBe(1);
    expect(decoded.manifest).toEqual(manifest);
    expect(decoded.code).toEqual(code);
    expect(decoded.keyId).toBe(keyId(key.publicKey));
    expect(decoded.signature.length).toBe(64);
    expect(decoded.signedBytes.length).toBe(bytes.length - 96);
    expect(() => verifyPackage(decoded, new TrustStore([key.publicKey]))).not.toThrow();
    expect(() => new WebAssembly.Module(decoded.code)).not.toThrow();
  });

  it("lays the package out as documented", () => {
    const key = newKey();
    const manifest = sampleManifest();
    const code = sampleCode();
    const bytes = encodePackage({ manifest, code }, key.privateKey);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x48, 0x50, 0x4b]);
    expect(view.getUint16(4, true)).toBe(1);
    expect(view.getUint16(6, true)).toBe(0);
    const manifestText = canonicalJson(manifest);
    const manifestLength = view.getUint32(8, true);
    expect(manifestLength).toBe(Buffer.byteLength(manifestText));
    expect(Buffer.from(bytes.subarray(12, 12 + manifestLength)).toString("utf8")).toBe(manifestText);
    expect(view.getUint32(12 + manifestLength, true)).toBe(code.length);
    const signatureAt = 16 + manifestLength + code.length;
    expect(bytes.length).toBe(signatureAt + 96);
    const rawId = createHash("sha256").update(key.publicKey.export({ type: "spki", format: "der" })).digest();
    expect(Buffer.from(bytes.subarray(signatureAt, signatureAt + 32))).toEqual(rawId);
  });

  it("writes identical bytes for manifests that differ only in key order", () => {
    const key = newKey();
    const manifest = sampleManifest();
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const reordered = reversed({ ...manifest, functions: manifest.functions.map(reversed) });
    const first = encodePackage({ manifest, code: sampleCode() }, key.privateKey);
    const second = encodePackage({ manifest: reordered, code: sampleCode() }, key.privateKey);
    expect(Object.keys(reordered)).not.toEqual(Object.keys(manifest));
    expect(second).toEqual(first); // ed25519 signatures are deterministic
  });

  it("keeps unknown manifest fields", () => {
    const key = newKey();
    const manifest = { ...sampleManifest(), supersedes: ["KB5035001"], future: { x: 1 } };
    const decoded = decodePackage(encodePackage({ manifest, code: sampleCode() }, key.privateKey));
    expect(decoded.manifest.supersedes).toEqual(["KB5035001"]);
    expect(decoded.manifest.future).toEqual({ x: 1 });
  });

  it("returns code that does not alias the package bytes", () => {
    const key = newKey();
    const bytes = samplePackage(key);
    const decoded = decodePackage(bytes);
    bytes.fill(0);
    expect(decoded.code).toEqual(sampleCode());
  });

  it("decodes a package that sits inside a larger buffer", () => {
    const key = newKey();
    const bytes = samplePackage(key);
    const big = new Uint8Array(bytes.length + 20);
    big.set(bytes, 7);
    const decoded = decodePackage(big.subarray(7, 7 + bytes.length));
    expect(decoded.keyId).toBe(keyId(key.publicKey));
    expect(() => verifyPackage(decoded, new TrustStore([key.publicKey]))).not.toThrow();
  });

  it("refuses to encode an invalid manifest unless validation is turned off", () => {
    const key = newKey();
    const manifest = { ...sampleManifest(), id: "not-a-kb" };
    expect(() => encodePackage({ manifest, code: sampleCode() }, key.privateKey)).toThrow(/E_FORMAT: .*manifest\.id/);
    const bytes = encodePackage({ manifest, code: sampleCode() }, key.privateKey, { validate: false });
    expect(decodePackage(bytes).manifest.id).toBe("not-a-kb");
  });

  it("refuses to sign with a key that is not an ed25519 private key", () => {
    const key = newKey();
    expect(() => encodePackage({ manifest: sampleManifest(), code: sampleCode() }, key.publicKey)).toThrow(/E_KEY/);
  });

  // How long verifying takes is measured by bench/ (suite apply-latency, phase "verify signature"), not asserted here.
  it("verifies a package with 64 KiB of code again and again against one parsed key", () => {
    const key = newKey();
    const code = new Uint8Array(64 * 1024).fill(1);
    const decoded = decodePackage(encodePackage({ manifest: sampleManifest(), code }, key.privateKey));
    expect(decoded.code).toEqual(code);
    const trust = new TrustStore([key.publicKey]);
    for (let round = 0; round < 3; round++) expect(() => verifyPackage(decoded, trust)).not.toThrow();
  });
});
