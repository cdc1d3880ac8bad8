/**
 * The `.hpk` patch package container, format version 1: encoding, decoding,
 * signature verification, and re-signing (for fuzzing).
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
 * What is signed: every byte before the signature block (header, manifest
 * and code); nothing may follow the signature block. Decoding checks
 * structure only; `verifyPackage` checks the signature against a trust
 * store, and `validateManifest` (manifest.ts) checks the manifest's fields.
 * A loader runs all three, in that order, before believing anything in the
 * manifest.
 *
 * Refusals: every malformation is E_FORMAT saying what is wrong, with the
 * byte offset where the layout breaks (bad magic, a length running past the
 * end, a truncated signature block, trailing bytes) and the manifest's `id`
 * as `patch` context once the manifest parsed. An unknown signer is
 * E_UNTRUSTED_KEY and a bad signature E_SIGNATURE, both naming the first 16
 * hex digits of the key id; a signing key that is not an ed25519 private key
 * is E_KEY.
 */
import { isUtf8 } from "node:buffer";
import { type KeyObject, sign, verify } from "node:crypto";
import { HotpatchError } from "../errors.ts";
import { canonicalJson } from "./canonical-json.ts";
import { rawKeyId, type TrustStore } from "./keys.ts";
import { formatError, MAX_U32, type PatchManifest, patchIdOf, validateManifest } from "./manifest.ts";

export const PACKAGE_FORMAT_VERSION = 1;
const SUPPORTED_VERSIONS = [PACKAGE_FORMAT_VERSION];
const MAGIC = [0x00, 0x48, 0x50, 0x4b];
const HEADER_SIZE = 8;
const KEY_ID_SIZE = 32;
const SIGNATURE_SIZE = 64;
const SIGNATURE_BLOCK_SIZE = KEY_ID_SIZE + SIGNATURE_SIZE;

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
  // isUtf8 + toString rather than a fatal TextDecoder: the same check, a few µs less on the staging path.
  if (!isUtf8(manifestBytes)) throw formatError("manifest is not valid UTF-8");
  const text = Buffer.from(manifestBytes.buffer, manifestBytes.byteOffset, manifestBytes.byteLength).toString("utf8");
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
