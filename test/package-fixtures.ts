/** Shared inputs for the package tests: a valid manifest, a small code module, keys, and the package they make. */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { encodePackage, type PatchManifest } from "../engine/patch/index.ts";
import { funcType, I32, name, SECTION, section, unreachableBody, vec, wasmModule } from "./wasm-bytes.ts";

export function sampleManifest(): PatchManifest {
  return {
    format: 1,
    id: "KB5036001",
    title: "Fix off-by-one in checksum",
    classification: "Security Updates",
    kind: "hotpatch",
    target: { buildId: "build-7f3a" },
    functions: [
      {
        key: "checksum",
        slot: 3,
        signature: "(i32,i32)->i32",
        oldFingerprint: "a".repeat(64),
        newFingerprint: "b".repeat(64),
        export: "hp$checksum",
      },
    ],
    helpers: ["hp$helper0"],
  };
}

export function sampleCode(): Uint8Array<ArrayBuffer> {
  return wasmModule(
    section(SECTION.type, vec([funcType([I32, I32], [I32])])),
    section(SECTION.function, vec([[0]])),
    section(SECTION.export, vec([[...name("hp$checksum"), 0x00, 0]])),
    section(SECTION.code, vec([unreachableBody()])),
  );
}

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function newKey(): TestKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** The sample manifest and code page, signed by `key`. */
export function samplePackage(key: TestKey): Uint8Array<ArrayBuffer> {
  return encodePackage({ manifest: sampleManifest(), code: sampleCode() }, key.privateKey);
}
