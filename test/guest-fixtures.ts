/**
 * Shared, memoised builds for engine tests: building an image compiles
 * AssemblyScript (about a second warm, several cold), so each test file builds
 * each guest once per image mode. Also the keys, processes and snapshots the
 * engine tests start from, and the comparison of slot tables.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { PatchBuildResult } from "../engine/builder/build-patch.ts";
import { buildPatch } from "../engine/builder/index.ts";
import { kvstoreVersion } from "../engine/guests/index.ts";
import { buildImageFromPath, type Image } from "../engine/image/index.ts";
import { PatchLoader } from "../engine/loader/index.ts";
import { TrustStore } from "../engine/patch/index.ts";
import { GuestProcess } from "../engine/process/index.ts";

const images = new Map<string, Promise<Image>>();

function memoisedImage(path: string, mode: "slots" | "inline"): Promise<Image> {
  const key = `${mode}:${path}`;
  let built = images.get(key);
  if (!built) {
    built = buildImageFromPath(path, { mode });
    images.set(key, built);
  }
  return built;
}

/** The image of a source path, built once per test file. */
export const image = (path: string): Promise<Image> => memoisedImage(path, "slots");

/** The inline-mode image of a source path, built once per test file. */
export const inlineImage = (path: string): Promise<Image> => memoisedImage(path, "inline");

export const kvImage = (version = "v1") => image(kvstoreVersion(version));

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  trust: TrustStore;
}

export function signingKeys(): SigningKeys {
  const pair = generateKeyPairSync("ed25519");
  const privateKey = createPrivateKey(pair.privateKey.export({ format: "pem", type: "pkcs8" }));
  const publicKey = createPublicKey(pair.publicKey.export({ format: "pem", type: "spki" }));
  return { privateKey, publicKey, trust: new TrustStore([publicKey]) };
}

export type BuiltHotpatch = Extract<PatchBuildResult, { kind: "hotpatch" }>;

/** Builds a hotpatch (superseding what `supersedes` lists, when given) and fails the test if the builder decided otherwise. */
export async function hotpatch(base: Image, target: string, id: string, key: KeyObject, supersedes?: string[]): Promise<BuiltHotpatch> {
  const result = await buildPatch({ base, target, id, key, supersedes });
  if (result.kind !== "hotpatch") throw new Error(`expected a hotpatch for ${target}, got ${result.kind}: ${result.reasons.join("; ")}`);
  return result;
}

export function startProcess(img: Image): { process: GuestProcess; loader: PatchLoader } {
  const process = GuestProcess.start(img);
  return { process, loader: new PatchLoader(process) };
}

/** Everything that must stay the same when a patch is refused. */
export function snapshot(process: GuestProcess) {
  return { entries: process.slotEntries(), state: process.state() };
}

/** The slots whose entry in `after` is not the very entry (===) of `before`, ascending. */
export function changedSlots(before: readonly unknown[], after: readonly unknown[]): number[] {
  return after.map((entry, slot) => (entry === before[slot] ? -1 : slot)).filter((slot) => slot >= 0);
}
