/**
 * Faulty patches, generated on demand from a good one.
 *
 * Package faults are made from the bytes of a good package (seeded where a
 * choice is made); code faults are real AssemblyScript variants of the
 * kvstore guest (`assembly/faulty/kvstore/<kind>.ts`, each kvstore v1 with
 * one bad change) built by the real builder into real signed hotpatches of
 * the running image. WebAssembly cannot stop a patch from writing anywhere
 * in its process's memory, so each kind says how it is detected and what
 * recovery it gets.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { fileURLToPath } from "node:url";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import type { Image } from "../image/index.ts";
import { decodePackage, encodePackage, type PatchManifest } from "../patch/index.ts";
import { seededRandom } from "../guests/index.ts";

export const FAULTY_DIR = fileURLToPath(new URL("../../assembly/faulty/kvstore/", import.meta.url));

export type Detection = "refusal" | "crash" | "watchdog" | "latency" | "static-digest" | "memory-limit";
export type Recovery = "none" | "revert" | "revert+restart";

export interface FaultyKind {
  /** What is wrong with the patch. */
  what: string;
  /** How the engine notices. */
  detection: Detection;
  /** For refusals: the stable code. */
  code?: string;
  recovery: Recovery;
  /** Code faults: the variant's source (kvstore v1 with one change). */
  source?: string;
}

export const FAULTY_KINDS = {
  corrupt: {
    what: "bytes of the code page flipped after signing",
    detection: "refusal",
    code: "E_SIGNATURE",
    recovery: "none",
  },
  truncated: { what: "the package cut short", detection: "refusal", code: "E_FORMAT", recovery: "none" },
  "wrong-key": { what: "signed by a key the process does not trust", detection: "refusal", code: "E_UNTRUSTED_KEY", recovery: "none" },
  "wrong-target": {
    what: "built (and properly signed) for another image build",
    detection: "refusal",
    code: "E_TARGET_MISMATCH",
    recovery: "none",
  },
  "type-mismatch": {
    what: "a replacement whose declared type differs from its code's (signed)",
    detection: "refusal",
    code: "E_SLOT_SIGNATURE",
    recovery: "none",
  },
  trap: {
    what: "handleEcho traps on every heartbeat",
    detection: "crash",
    recovery: "revert",
    source: "trap.ts",
  },
  hang: { what: "handleEcho never returns", detection: "watchdog", recovery: "revert", source: "hang.ts" },
  slow: { what: "handleGet burns ~20 million loop rounds per call (latency regression)", detection: "latency", recovery: "revert", source: "slow.ts" },
  clobber: {
    what: "handleStats writes outside its own data (over a constant message string)",
    detection: "static-digest",
    recovery: "revert+restart",
    source: "clobber.ts",
  },
  leak: { what: "handlePut grows memory by 1 MiB per call (unbounded growth)", detection: "memory-limit", recovery: "revert+restart", source: "leak.ts" },
} as const satisfies Record<string, FaultyKind>;

export type FaultyKindName = keyof typeof FAULTY_KINDS;

export function isFaultyKind(name: string): name is FaultyKindName {
  return Object.hasOwn(FAULTY_KINDS, name);
}

export interface FaultyRequest {
  kind: FaultyKindName;
  /** The running image. */
  base: Image;
  /** A good, signed package for `base` (package faults are made from it). */
  good: Uint8Array;
  /** The trusted signing key. */
  key: KeyObject;
  /** Id of the faulty patch (code faults). */
  id: string;
  seed: number;
}

/** The bytes of a faulty package of the given kind. */
export async function faultyPatch(request: FaultyRequest): Promise<Uint8Array> {
  const { kind, good, key, seed } = request;
  const random = seededRandom(seed);
  const info: FaultyKind = FAULTY_KINDS[kind];
  if (info.source) {
    const built = await buildPatch({ base: request.base, target: `${FAULTY_DIR}${info.source}`, id: request.id, key, title: `faulty (${kind})` });
    if (built.kind !== "hotpatch") throw new HotpatchError("E_BUILD", `the faulty variant ${info.source} does not build as a hotpatch (${built.kind})`);
    return built.package;
  }
  const decoded = decodePackage(good);
  const codeAt = decoded.signedBytes.length - decoded.code.length;
  switch (kind) {
    case "corrupt": {
      const out = good.slice();
      for (let i = 0; i < 4; i++) out[codeAt + Math.floor(random() * decoded.code.length)] ^= 1 << Math.floor(random() * 8);
      return out;
    }
    case "truncated":
      return good.slice(0, 1 + Math.floor(random() * (good.length - 1)));
    case "wrong-key":
      return encodePackage({ manifest: decoded.manifest as unknown as PatchManifest, code: decoded.code }, generateKeyPairSync("ed25519").privateKey);
    case "wrong-target": {
      const manifest = structuredClone(decoded.manifest) as unknown as PatchManifest;
      manifest.target.buildId = "0".repeat(24);
      return encodePackage({ manifest, code: decoded.code }, key);
    }
    case "type-mismatch": {
      const manifest = structuredClone(decoded.manifest) as unknown as PatchManifest;
      const fn = manifest.functions[0];
      fn.signature = fn.signature === "(i32,i32)->i32" ? "(i32)->i32" : "(i32,i32)->i32";
      return encodePackage({ manifest, code: decoded.code }, key);
    }
  }
  throw new Error(`internal: no generator for faulty kind ${kind}`);
}
