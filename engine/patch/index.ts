/**
 * The package format (canonical JSON, manifest, signed container) and the keys
 * that sign and verify it.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { type PatchManifest, type PatchState, type StateCell, validateManifest } from "./manifest.ts";
export { CALLBACK_EXPORTS, CALLBACK_NAMES, CALLBACK_SIGNATURES, type CallbackName, type PatchCallbacks, STATE_ID_PATTERN, type StateVersion } from "./callbacks-and-states.ts";
export { decodePackage, encodePackage, resignPackage, verifyPackage } from "./package.ts";
export { keyId, loadPrivateKey, TrustStore, writeKeyPair } from "./keys.ts";
