import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time: vitest's default (cores - 1) runs one at a time on a 2-core machine.
    maxWorkers: 2,
    // The build cache of the `image build` and `patch build` commands (engine/build-cache/), for tests
    // and the commands they start: a folder of the temporary directory, never the user's ~/.cache.
    env: { HOTPATCH_CACHE_DIR: join(tmpdir(), "wasm-hotpatch-test-build-cache") },
  },
});
