/** The build cache of `image build` and `patch build` (engine/build-cache/): on unless `--no-cache`. */
import { type BuildCache, defaultCacheDir, openBuildCache } from "../build-cache/index.ts";

export const BUILD_CACHE_HELP = `build without the build cache (default: reuse and record builds in ${defaultCacheDir()}, set by HOTPATCH_CACHE_DIR, else $XDG_CACHE_HOME/wasm-hotpatch or ~/.cache/wasm-hotpatch)`;

/** The cache a build command uses: none with `--no-cache` (commander's `cache: false`). */
export function buildCacheOf(options: { cache: boolean }): BuildCache | undefined {
  return options.cache ? openBuildCache() : undefined;
}
