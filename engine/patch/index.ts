/**
 * The package format (canonical JSON, manifest, signed container) and the keys
 * that sign and verify it.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { decodePackage, encodePackage, type PatchManifest, resignPackage, validateManifest, verifyPackage } from "./format.ts";
export { keyId, loadPrivateKey, TrustStore, writeKeyPair } from "./keys.ts";
