/**
 * The build cache: products of earlier builds on disk, keyed by a hash of
 * everything that determines them, so a rebuild of unchanged inputs is read
 * back, byte for byte what the build would give (docs/builder-and-corpus.md).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { type BuildCache, defaultCacheDir, openBuildCache } from "./store.ts";
export { cacheKey } from "./toolchain.ts";
export { recordSourceInputs, type SourceRead, sourceInputsDigest } from "./inputs.ts";
