import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time: vitest's default (cores - 1) runs one at a time on a 2-core machine.
    maxWorkers: 2,
  },
});
