/**
 * Shared, memoised builds for engine tests: building an image compiles
 * AssemblyScript (about a second warm, several cold), so each test file builds
 * each guest once.
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

/** The image of a source path, built once per test file. */
export function image(path: string): Promise<Image> {
  let built = images.get(path);
  if (!built) {
    built = buildImageFromPath(path);
    images.set(path, built);
  }
  return built;
}

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

/** Builds a hotpatch and fails the test if the builder decided otherwise. */
export async function hotpatch(base: Image, target: string, id: string, key: KeyObject): Promise<Extract<PatchBuildResult, { kind: "hotpatch" }>> {
  const result = await buildPatch({ base, target, id, key });
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
