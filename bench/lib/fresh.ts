/**
 * Fresh package bytes for every timed apply.
 *
 * V8 caches compiled modules by their bytes, and a verification cache would
 * make repeated signatures free, so no timed apply may see bytes it has seen
 * before. Each variant of a package gets: a new id and title (so the manifest,
 * hence the signed bytes and the signature, differ) and a custom section
 * `bench.nonce` holding a counter and random bytes appended to the code page
 * (so the bytes V8 compiles differ). The apply-latency suite checks, in every
 * run, that a custom section defeats V8's module cache as well as a change in
 * a function body does (see wasm-micro.ts, `cacheCheck`).
 */
import { randomBytes, type KeyObject } from "node:crypto";
import { decodePackage, encodePackage, type PatchManifest, validateManifest } from "../../engine/patch/index.ts";
import { appendCustomSection } from "../../engine/format/index.ts";

let counter = 0;

/** A patch id no earlier variant in this run has used. */
export function freshId(): string {
  counter++;
  return `KB${7_000_000 + counter}`;
}

/** A unique nonce: counter + 12 random bytes. */
export function nonce(): Uint8Array {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setUint32(0, ++counter, true);
  out.set(randomBytes(12), 4);
  return out;
}

export interface PackageTemplate {
  manifest: PatchManifest;
  code: Uint8Array;
}

export function templateOf(packageBytes: Uint8Array): PackageTemplate {
  const decoded = decodePackage(packageBytes);
  return { manifest: validateManifest(decoded.manifest), code: decoded.code };
}

/** A variant of the template never seen before: new id, title and signature, new code bytes. `padding` adds that many bytes in a custom section. */
export function freshPackage(template: PackageTemplate, key: KeyObject, padding = 0): { id: string; bytes: Uint8Array } {
  const id = freshId();
  const manifest: PatchManifest = { ...template.manifest, id, title: `${template.manifest.title} (bench variant ${id})` };
  let code = appendCustomSection(template.code, "bench.nonce", nonce());
  if (padding > 0) code = appendCustomSection(code, "bench.padding", randomBytes(padding));
  return { id, bytes: encodePackage({ manifest, code }, key) };
}

export function freshPackages(template: PackageTemplate, key: KeyObject, count: number, padding = 0): { id: string; bytes: Uint8Array }[] {
  return Array.from({ length: count }, () => freshPackage(template, key, padding));
}

/** Module bytes never seen before: the same module plus a unique custom section. */
export function freshModuleBytes(module: Uint8Array): Uint8Array<ArrayBuffer> {
  return appendCustomSection(module, "bench.nonce", nonce());
}
