/**
 * The `.hpk` patch package container, format version 1, and its manifest.
 *
 * Layout, integers little-endian:
 *
 *   offset 0   magic 00 48 50 4b ("\0HPK")
 *          4   u16 format version (1)
 *          6   u16 flags (0; version 1 defines none)
 *          8   u32 manifest length M, then M bytes of canonical UTF-8 JSON
 *     12 + M   u32 code length C, then C bytes of WebAssembly (opaque here)
 * 16 + M + C   32-byte key id (SHA-256 of the signer's SPKI DER)
 *              64-byte ed25519 signature over bytes [0, 16 + M + C)
 *
 * Nothing may follow the signature block. Decoding checks structure only;
 * `verifyPackage` checks the signature against a trust store, and
 * `validateManifest` checks the manifest's fields. A loader runs all three,
 * in that order, before believing anything in the manifest.
 */
import { type KeyObject, sign, verify } from "node:crypto";
import { type ErrorContext, HotpatchError } from "../errors.ts";
import { rawKeyId, type TrustStore } from "./keys.ts";

export const PACKAGE_FORMAT_VERSION = 1;
const SUPPORTED_VERSIONS = [PACKAGE_FORMAT_VERSION];
const MAGIC = [0x00, 0x48, 0x50, 0x4b];
const HEADER_SIZE = 8;
const KEY_ID_SIZE = 32;
const SIGNATURE_SIZE = 64;
const SIGNATURE_BLOCK_SIZE = KEY_ID_SIZE + SIGNATURE_SIZE;
const MAX_U32 = 0xffffffff;

export interface FunctionReplacement {
  /** Stable name of the replaced function in the image. */
  key: string;
  /** Index of the function's slot in the image's funcref table. */
  slot: number;
  /** As written by `formatSignature`, e.g. "(i32,i32)->i32". */
  signature: string;
  oldFingerprint: string;
  newFingerprint: string;
  /** Name of the code module's export that replaces the function. */
  export: string;
}

export interface PatchManifest {
  format: 1;
  /** e.g. "KB5036001" */
  id: string;
  title: string;
  classification: string;
  kind: "hotpatch";
  target: { buildId: string };
  functions: FunctionReplacement[];
  helpers: string[];
  /**
   * Installed hotpatches this one replaces in one swap. Absent: every
   * hotpatch of the same target build with a lower KB number (cumulative).
   * Empty: none (the patch stacks per function).
   */
  supersedes?: string[];
  /** New static objects, carried in the code page's `hotpatch.data` custom section. */
  data?: PatchData;
  /**
   * The code page's caller table (`patch.callers`): entry i calls slot
   * `callers[i].slot`, whose signature must be `callers[i].signature`. Absent
   * when the code page calls no other slot.
   */
  callers?: CallerEntry[];
}

export interface CallerEntry {
  slot: number;
  signature: string;
}

export interface PatchData {
  /** Size of the blob in bytes. */
  size: number;
  /** Offset of each new object in the blob (objects are numbered in this order). */
  objects: number[];
  /** Blob words to set, when placed, to (address of new object `object`) + `offset`. */
  relocations: { at: number; object: number; offset: number }[];
}

export interface PackageContents {
  manifest: PatchManifest;
  code: Uint8Array;
}

export interface DecodedPackage {
  formatVersion: number;
  /** Parsed but neither verified nor validated: see `verifyPackage`, `validateManifest`. */
  manifest: Record<string, unknown>;
  /** View into the decoded bytes. */
  manifestBytes: Uint8Array;
  /** A copy, ready for `WebAssembly.Module`. */
  code: Uint8Array<ArrayBuffer>;
  /** Hex key id of the signer, 64 characters. */
  keyId: string;
  /** View into the decoded bytes (64 bytes). */
  signature: Uint8Array;
  /** View into the decoded bytes: everything the signature covers. */
  signedBytes: Uint8Array;
}

// ---------------------------------------------------------------------------
// Canonical JSON

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no
 * whitespace, so equal values give equal bytes whatever their key order.
 * Object properties that are undefined are left out, as JSON.stringify does;
 * anything JSON cannot represent exactly (NaN, Infinity, bigint, functions,
 * undefined array items, class instances such as Date or Uint8Array, cycles)
 * is refused with E_FORMAT rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, "$", new Set());
}

function canonical(value: unknown, path: string, open: Set<object>): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw canonicalError(path, `is ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value !== "object") throw canonicalError(path, `is a ${typeof value}`);
  if (open.has(value)) throw canonicalError(path, "is a cycle");
  open.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item, i) => canonical(item, `${path}[${i}]`, open)).join(",")}]`;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw canonicalError(path, `is a ${proto?.constructor?.name ?? "non-plain object"}`);
    }
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      if (record[key] === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${canonical(record[key], `${path}.${key}`, open)}`);
    }
    text = `{${parts.join(",")}}`;
  }
  open.delete(value);
  return text;
}

function canonicalError(path: string, what: string): HotpatchError {
  return new HotpatchError("E_FORMAT", `cannot write canonical JSON: ${path} ${what}`);
}

// ---------------------------------------------------------------------------
// Encoding and decoding

function requireSigningKey(privateKey: KeyObject): void {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new HotpatchError("E_KEY", "packages are signed with an ed25519 private key");
  }
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = (value >>> 24) & 0xff;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function readU16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

/** `signed` followed by a signature block for it. */
function appendSignature(signed: Uint8Array, privateKey: KeyObject, rest?: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(signed.length + SIGNATURE_BLOCK_SIZE + (rest?.length ?? 0));
  out.set(signed, 0);
  out.set(rawKeyId(privateKey), signed.length);
  out.set(sign(null, signed, privateKey), signed.length + KEY_ID_SIZE);
  if (rest) out.set(rest, signed.length + SIGNATURE_BLOCK_SIZE);
  return out;
}

/**
 * Builds and signs a package. The manifest is checked with `validateManifest`
 * first unless `options.validate` is false (for tests that need packages
 * with bad manifests); it is always written as canonical JSON.
 */
export function encodePackage(
  contents: PackageContents,
  privateKey: KeyObject,
  options: { validate?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  requireSigningKey(privateKey);
  const { manifest, code } = contents;
  if (options.validate !== false) validateManifest(manifest);
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    throw new HotpatchError("E_FORMAT", "manifest must be a JSON object");
  }
  const manifestBytes = Buffer.from(canonicalJson(manifest), "utf8");
  if (manifestBytes.length > MAX_U32 || code.length > MAX_U32) {
    throw new HotpatchError("E_FORMAT", "manifest or code is larger than 4 GiB", { patch: patchIdOf(manifest) });
  }
  const signed = new Uint8Array(HEADER_SIZE + 4 + manifestBytes.length + 4 + code.length);
  signed.set(MAGIC, 0);
  signed[4] = PACKAGE_FORMAT_VERSION; // u16 LE version, u16 flags = 0
  writeU32(signed, HEADER_SIZE, manifestBytes.length);
  signed.set(manifestBytes, HEADER_SIZE + 4);
  const codeAt = HEADER_SIZE + 4 + manifestBytes.length;
  writeU32(signed, codeAt, code.length);
  signed.set(code, codeAt + 4);
  return appendSignature(signed, privateKey);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function formatError(reason: string, context: ErrorContext = {}): HotpatchError {
  return new HotpatchError("E_FORMAT", reason, context);
}

/**
 * Parses the container's structure. Does not check the signature (see
 * `verifyPackage`) nor the manifest's fields (see `validateManifest`), so
 * nothing in the result is to be trusted yet. Every malformation is E_FORMAT.
 */
export function decodePackage(bytes: Uint8Array): DecodedPackage {
  const size = bytes.length;
  for (let i = 0; i < MAGIC.length && i < size; i++) {
    if (bytes[i] !== MAGIC[i]) throw formatError(`bad magic at byte offset ${i}: not a .hpk patch package`);
  }
  if (size < HEADER_SIZE) throw formatError(`package of ${size} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  const version = readU16(bytes, 4);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw formatError(`package format version ${version} is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`);
  }
  const flags = readU16(bytes, 6);
  if (flags !== 0) throw formatError(`unknown flags 0x${flags.toString(16)} (format version ${version} defines none)`);

  if (size < HEADER_SIZE + 4) throw formatError(`package of ${size} bytes ends before the manifest length at byte offset 8`);
  const manifestLength = readU32(bytes, HEADER_SIZE);
  const manifestAt = HEADER_SIZE + 4;
  if (manifestLength > size - manifestAt) {
    throw formatError(`manifest of ${manifestLength} bytes at byte offset ${manifestAt} runs past the end of the package (${size} bytes)`);
  }
  const manifestBytes = bytes.subarray(manifestAt, manifestAt + manifestLength);
  const manifest = parseManifest(manifestBytes);
  const context = { patch: patchIdOf(manifest) };

  const codeLengthAt = manifestAt + manifestLength;
  if (size - codeLengthAt < 4) {
    throw formatError(`package of ${size} bytes ends before the code length at byte offset ${codeLengthAt}`, context);
  }
  const codeLength = readU32(bytes, codeLengthAt);
  const codeAt = codeLengthAt + 4;
  if (codeLength > size - codeAt) {
    throw formatError(`code of ${codeLength} bytes at byte offset ${codeAt} runs past the end of the package (${size} bytes)`, context);
  }
  const signatureAt = codeAt + codeLength;
  const remaining = size - signatureAt;
  if (remaining < SIGNATURE_BLOCK_SIZE) {
    throw formatError(`signature block at byte offset ${signatureAt} is truncated (${remaining} of ${SIGNATURE_BLOCK_SIZE} bytes)`, context);
  }
  if (remaining > SIGNATURE_BLOCK_SIZE) {
    throw formatError(`${remaining - SIGNATURE_BLOCK_SIZE} trailing bytes after the signature block at byte offset ${signatureAt + SIGNATURE_BLOCK_SIZE}`, context);
  }
  return {
    formatVersion: version,
    manifest,
    manifestBytes,
    code: bytes.slice(codeAt, signatureAt),
    keyId: Buffer.from(bytes.buffer, bytes.byteOffset + signatureAt, KEY_ID_SIZE).toString("hex"),
    signature: bytes.subarray(signatureAt + KEY_ID_SIZE, size),
    signedBytes: bytes.subarray(0, signatureAt),
  };
}

function parseManifest(manifestBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(manifestBytes);
  } catch {
    throw formatError("manifest is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw formatError(`manifest is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw formatError(`manifest must be a JSON object, found ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}`);
  }
  return value as Record<string, unknown>;
}

/** The manifest's `id` for error messages, if it is a string; unverified, so made printable and short. */
function patchIdOf(manifest: Record<string, unknown> | PatchManifest): string | undefined {
  const id = (manifest as Record<string, unknown>).id;
  if (typeof id !== "string" || id.length === 0) return undefined;
  const printable = id.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 64 ? `${printable.slice(0, 64)}...` : printable;
}

/**
 * Checks that a trusted key signed exactly `decoded.signedBytes`.
 * E_UNTRUSTED_KEY if the signer's key id is not in `trust`, E_SIGNATURE if the
 * signature does not verify. Returns normally only for an authentic package.
 */
export function verifyPackage(decoded: DecodedPackage, trust: TrustStore): void {
  const context = { patch: patchIdOf(decoded.manifest) };
  const shortId = decoded.keyId.slice(0, 16);
  const key = trust.get(decoded.keyId);
  if (key === undefined) {
    throw new HotpatchError("E_UNTRUSTED_KEY", `signed by key ${shortId}, which is not in the trust store`, context);
  }
  let valid = false;
  try {
    valid = verify(null, decoded.signedBytes, key, decoded.signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new HotpatchError("E_SIGNATURE", `signature by key ${shortId} does not match the package contents`, context);
  }
}

/**
 * Signs arbitrary, possibly mutated, package bytes again with `privateKey`
 * (a tool for fuzzing). If the two length fields describe a layout that fits
 * (magic, version and flags are not checked), everything up to the end of the
 * code is signed, the old signature block is replaced and any bytes after it
 * are kept. Otherwise the last 96 bytes are taken as the old signature block
 * and replaced (inputs shorter than that are signed whole).
 */
export function resignPackage(bytes: Uint8Array, privateKey: KeyObject): Uint8Array<ArrayBuffer> {
  requireSigningKey(privateKey);
  const signedEnd = structuralEnd(bytes);
  if (signedEnd !== undefined) {
    const rest = bytes.length >= signedEnd + SIGNATURE_BLOCK_SIZE ? bytes.subarray(signedEnd + SIGNATURE_BLOCK_SIZE) : undefined;
    return appendSignature(bytes.subarray(0, signedEnd), privateKey, rest);
  }
  const end = bytes.length >= SIGNATURE_BLOCK_SIZE ? bytes.length - SIGNATURE_BLOCK_SIZE : bytes.length;
  return appendSignature(bytes.subarray(0, end), privateKey);
}

/** End of the code according to the length fields, or undefined if they do not fit in `bytes`. */
function structuralEnd(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_SIZE + 4) return undefined;
  const codeLengthAt = HEADER_SIZE + 4 + readU32(bytes, HEADER_SIZE);
  if (codeLengthAt + 4 > bytes.length) return undefined;
  const end = codeLengthAt + 4 + readU32(bytes, codeLengthAt);
  return end <= bytes.length ? end : undefined;
}

// ---------------------------------------------------------------------------
// Manifest validation

const VALTYPE = "(?:i32|i64|f32|f64|v128|funcref|externref)";
/** The shapes `formatSignature` writes: `(a,b)->r`, `(a)->()`, `()->(r,s)`. */
const SIGNATURE_PATTERN = new RegExp(`^\\((?:${VALTYPE}(?:,${VALTYPE})*)?\\)->(?:${VALTYPE}|\\(\\)|\\(${VALTYPE}(?:,${VALTYPE})+\\))$`);
const PATCH_ID_PATTERN = /^KB\d+$/;

type Fields = Record<string, unknown>;

function validateData(data: unknown, fail: (field: string, rule: string) => never): void {
  const isIndex = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_U32;
  if (!isObject(data)) fail("data", "must be an object");
  const d = data as Fields;
  if (!isIndex(d.size)) fail("data.size", "must be a non-negative integer");
  if (!Array.isArray(d.objects) || !d.objects.every((o) => isIndex(o) && (o as number) < (d.size as number))) {
    fail("data.objects", "must be a list of offsets inside the data");
  }
  if (!Array.isArray(d.relocations)) fail("data.relocations", "must be an array");
  (d.relocations as unknown[]).forEach((r, i) => {
    const rel = r as Fields;
    if (!isObject(r) || !isIndex(rel.at) || (rel.at as number) + 4 > (d.size as number)) fail(`data.relocations[${i}].at`, "must be a word inside the data");
    if (!isIndex(rel.object) || (rel.object as number) >= (d.objects as unknown[]).length) fail(`data.relocations[${i}].object`, "must name a new object");
    if (!isIndex(rel.offset)) fail(`data.relocations[${i}].offset`, "must be a non-negative integer");
  });
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Checks every field of a manifest and returns it, typed (the same object,
 * extra fields kept: unknown fields are allowed for forward compatibility).
 * E_FORMAT names the first offending field, e.g.
 * "manifest.functions[2].slot must be a non-negative integer". Slots and keys
 * must be unique within a patch.
 */
export function validateManifest(value: unknown): PatchManifest {
  if (!isObject(value)) throw formatError("manifest must be a JSON object");
  const context: ErrorContext = {};
  const fail = (field: string, rule: string): never => {
    throw formatError(`manifest.${field} ${rule}`, context);
  };
  const nonEmptyString = (object: Fields, field: string, path: string): void => {
    if (typeof object[field] !== "string" || object[field] === "") fail(path, "must be a non-empty string");
  };

  if (typeof value.id !== "string" || !PATCH_ID_PATTERN.test(value.id)) {
    context.patch = patchIdOf(value);
    fail("id", "must be a string of the form KB<digits>, e.g. KB5036001");
  }
  context.patch = value.id as string;
  if (value.format !== 1) fail("format", `must be 1${typeof value.format === "number" ? ` (found ${value.format})` : ""}`);
  nonEmptyString(value, "title", "title");
  nonEmptyString(value, "classification", "classification");
  if (value.kind !== "hotpatch") fail("kind", 'must be "hotpatch"');
  if (!isObject(value.target)) fail("target", "must be an object");
  nonEmptyString(value.target as Fields, "buildId", "target.buildId");

  if (!Array.isArray(value.functions)) fail("functions", "must be an array");
  const slots = new Map<number, number>();
  const keys = new Map<string, number>();
  (value.functions as unknown[]).forEach((entry, i) => {
    const at = `functions[${i}]`;
    if (!isObject(entry)) fail(at, "must be an object");
    const fn = entry as Fields;
    nonEmptyString(fn, "key", `${at}.key`);
    const slot = fn.slot;
    if (typeof slot !== "number" || !Number.isInteger(slot) || slot < 0) fail(`${at}.slot`, "must be a non-negative integer");
    if ((slot as number) > MAX_U32) fail(`${at}.slot`, "must be below 2^32 (it is a table index)");
    if (typeof fn.signature !== "string" || !SIGNATURE_PATTERN.test(fn.signature)) {
      fail(`${at}.signature`, 'must be a signature such as "(i32,i32)->i32" or "(i32)->()"');
    }
    nonEmptyString(fn, "oldFingerprint", `${at}.oldFingerprint`);
    nonEmptyString(fn, "newFingerprint", `${at}.newFingerprint`);
    nonEmptyString(fn, "export", `${at}.export`);
    const slotOwner = slots.get(slot as number);
    if (slotOwner !== undefined) fail(`${at}.slot`, `repeats slot ${slot} of functions[${slotOwner}]`);
    slots.set(slot as number, i);
    const keyOwner = keys.get(fn.key as string);
    if (keyOwner !== undefined) fail(`${at}.key`, `repeats key "${fn.key}" of functions[${keyOwner}]`);
    keys.set(fn.key as string, i);
  });

  if (value.supersedes !== undefined) {
    if (!Array.isArray(value.supersedes)) fail("supersedes", "must be an array of KB ids");
    (value.supersedes as unknown[]).forEach((id, i) => {
      if (typeof id !== "string" || !PATCH_ID_PATTERN.test(id)) fail(`supersedes[${i}]`, "must be a KB id such as KB5036001");
    });
  }
  if (value.data !== undefined) validateData(value.data, fail);
  if (value.callers !== undefined) {
    if (!Array.isArray(value.callers)) fail("callers", "must be an array");
    (value.callers as unknown[]).forEach((entry, i) => {
      const at = `callers[${i}]`;
      if (!isObject(entry)) fail(at, "must be an object");
      const { slot, signature } = entry as Fields;
      if (typeof slot !== "number" || !Number.isInteger(slot) || slot < 0 || slot > MAX_U32) fail(`${at}.slot`, "must be a table index");
      if (typeof signature !== "string" || !SIGNATURE_PATTERN.test(signature)) fail(`${at}.signature`, 'must be a signature such as "(i32)->()"');
    });
  }
  if (!Array.isArray(value.helpers)) fail("helpers", "must be an array");
  (value.helpers as unknown[]).forEach((helper, i) => {
    if (typeof helper !== "string" || helper === "") fail(`helpers[${i}]`, "must be a non-empty string");
  });
  return value as unknown as PatchManifest;
}
