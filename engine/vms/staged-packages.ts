/**
 * Packages staged once per thread: a package is verified and compiled once
 * (`stagePatch`), and the staged package — its compiled WebAssembly.Module,
 * which instantiates any number of times — is shared by every process of
 * every VM this thread holds (a VM pool worker holds hundreds). A fleet's
 * rollout so verifies and compiles each package once per worker thread, not
 * once per process.
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
export function stagedOnce(bytes: Uint8Array, trust: TrustStore): StagedPatch {
  const key = `${createHash("sha256").update(bytes).digest("hex")}/${trust.keyIds().sort().join(",")}`;
  const hit = staged.get(key);
  if (hit !== undefined) {
    hits += 1;
    staged.delete(key); // re-inserted below: most recently used last
    staged.set(key, hit);
    return hit;
  }
  const fresh = stagePatch(bytes, trust);
  stages += 1;
  staged.set(key, fresh);
  if (staged.size > MAX_STAGED) staged.delete(staged.keys().next().value as string);
  return fresh;
}

/** How many packages this thread staged, and how many applies reused one. */
export function stagedStats(): { stages: number; hits: number } {
  return { stages, hits };
}
