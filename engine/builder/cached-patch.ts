/**
 * The builder's entry points, which load the builder (build-patch.ts) only
 * when they build, and `buildPatch` behind the build cache, for the command line: a rebuild of
 * exactly the same inputs reads the unsigned result back and only signs it,
 * without loading the compiler, binaryen or the builder itself (they are
 * imported only on a miss). A miss builds with the cache passed down, so the
 * compiles and the base image are reused and recorded too.
 *
 * The key covers every input of the result: the base (its source inputs,
 * engine/build-cache/inputs.ts, or its file's bytes), the target likewise,
 * and every request field but the signing key. The package is signed here
 * either way, and ed25519 signatures are deterministic, so a hit gives the
 * same bytes as a build (test/build-cache-gives-the-bytes-of-a-fresh-build.test.ts).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { type BuildCache, cacheKey, sourceInputsDigest } from "../build-cache/index.ts";
import { encodePackage, type PatchManifest } from "../patch/index.ts";
import type { PatchBuildRequest, PatchBuildResult } from "./build-patch.ts";
import type { FunctionChange } from "./classify.ts";

/** What the command line needs of a build: the result without the base image. */
export type CachedPatchResult =
  | { kind: "hotpatch"; id: string; functions: FunctionChange[]; reasons: []; manifest: PatchManifest; package: Uint8Array }
  | { kind: "requires-baseline"; id: string; functions: FunctionChange[]; reasons: string[] }
  | { kind: "no-change"; id: string; functions: []; reasons: [] };

/** Stored: this JSON, a zero byte, then the code page (hotpatches only). */
type Stored = Exclude<CachedPatchResult, { kind: "hotpatch" }> | Omit<Extract<CachedPatchResult, { kind: "hotpatch" }>, "package">;

export async function buildPatchCached(request: PatchBuildRequest & { base: string; cache?: BuildCache }): Promise<CachedPatchResult> {
  const { cache } = request;
  const key = cache && patchKeyOf(request);
  const hit = key ? cache.get(key) : undefined;
  if (hit) return signed(hit, request);
  const result = await buildPatch(request);
  const { kind, id, functions, reasons } = result;
  const kept = (result.kind === "hotpatch" ? { kind, id, functions, reasons, manifest: result.manifest } : { kind, id, functions, reasons }) as Stored;
  // Keyed after the build: a first compile is what records a source's inputs.
  const after = cache && patchKeyOf(request);
  if (after) {
    const code = result.kind === "hotpatch" ? result.code : new Uint8Array();
    cache.put(after, Buffer.concat([new TextEncoder().encode(JSON.stringify(kept)), new Uint8Array([0]), code]));
  }
  return (result.kind === "hotpatch" ? { ...kept, package: result.package } : kept) as CachedPatchResult;
}

/** The builder (build-patch.ts), loaded on first use: importing this folder loads neither the compiler nor binaryen. */
export async function buildPatch(request: PatchBuildRequest): Promise<PatchBuildResult> {
  return (await import("./build-patch.ts")).buildPatch(request);
}

function signed(entry: Uint8Array, request: PatchBuildRequest): CachedPatchResult {
  const split = entry.indexOf(0);
  const stored = JSON.parse(new TextDecoder().decode(entry.subarray(0, split))) as Stored;
  if (stored.kind !== "hotpatch") return stored as CachedPatchResult;
  return { ...stored, package: encodePackage({ manifest: stored.manifest, code: entry.slice(split + 1) }, request.key) };
}

/** The key of a request's result; undefined while an input is unknown to the cache (or unreadable: the build reports that). */
function patchKeyOf(request: PatchBuildRequest & { base: string; cache?: BuildCache }): string | undefined {
  const base = inputOf(request.base, request.cache!);
  const target = inputOf(request.target, request.cache!);
  if (!base || !target) return undefined;
  const { id, title, classification, supersedes, mode } = request;
  return cacheKey("patch", { base, target, id, title: title ?? null, classification: classification ?? null, supersedes: supersedes ?? null, mode: mode ?? null });
}

function inputOf(path: string, cache: BuildCache): { source: string } | { file: Uint8Array; name: string } | undefined {
  if (path.endsWith(".ts")) {
    const digest = sourceInputsDigest(cache, path);
    return digest ? { source: digest } : undefined;
  }
  try {
    return { file: new Uint8Array(readFileSync(path)), name: basename(path) };
  } catch {
    return undefined;
  }
}
