/**
 * Packages staged once: a package is verified and compiled once
 * (`stagePatch`), and the staged package — its compiled WebAssembly.Module,
 * which instantiates any number of times — is shared by every process of
 * every VM this thread holds. The VM pool stages on the server's thread and
 * posts the staged package to its workers with each apply (a posted
 * WebAssembly.Module is shared, not copied; `postable`), where it is adopted
 * (`stagedOnce` with the posted package): a fleet's rollout so verifies and
 * compiles each package once for the whole pool, not once per worker or
 * per process.
 *
 * Contracts:
 * - Keyed by the package's bytes (sha256) and the trusted key ids: the same
 *   bytes under the same trust verify the same way, so a hit is what a fresh
 *   stage would return. A refused package throws and is not kept.
 * - At most MAX_STAGED packages are kept, least recently used out first
 *   (a process that holds a staged package keeps it alive regardless).
 * - A staged package is never mutated by a loader (prepare instantiates it
 *   against that loader's process), so sharing it is safe.
 */
import { createHash } from "node:crypto";
import { type StagedPatch, stagePatch } from "../loader/index.ts";
import type { TrustStore } from "../patch/index.ts";

export const MAX_STAGED = 32;

const staged = new Map<string, StagedPatch>();
let stages = 0;
let hits = 0;

/** The package staged (verified and compiled) once for this thread and trust. */
export function stagedOnce(bytes: Uint8Array, trust: TrustStore, posted?: PostedStaged): StagedPatch {
  const key = `${createHash("sha256").update(bytes).digest("hex")}/${trust.keyIds().sort().join(",")}`;
  const hit = staged.get(key);
  if (hit !== undefined) {
    hits += 1;
    staged.delete(key); // re-inserted below: most recently used last
    staged.set(key, hit);
    return hit;
  }
  // Posted by the pool, which staged these bytes under this trust: adopted, not staged again (a reuse).
  const fresh = posted ? { ...posted, packageBytes: bytes } : stagePatch(bytes, trust);
  if (posted) hits += 1;
  else stages += 1;
  staged.set(key, fresh);
  if (staged.size > MAX_STAGED) staged.delete(staged.keys().next().value as string);
  return fresh;
}

/** A staged package as the pool posts it to a worker: without the package bytes, which travel beside it. */
export type PostedStaged = Omit<StagedPatch, "packageBytes">;

export function postable(patch: StagedPatch): PostedStaged {
  const { packageBytes: _, ...posted } = patch;
  return posted;
}

/** How many packages this thread staged (verified and compiled), and how many applies reused one staged before (here or by the pool). */
export function stagedStats(): { stages: number; hits: number } {
  return { stages, hits };
}
