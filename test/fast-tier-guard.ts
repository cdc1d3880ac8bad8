/**
 * Setup file of the fast tier (vitest.fast.config.ts). A test file of that
 * tier that compiles AssemblyScript, starts a worker thread or starts a child
 * process fails at that call, with a message that names the list the file
 * belongs in, so a slow test cannot slip into the fast tier unnoticed.
 * Everything else of those modules stays the real thing.
 */
import { vi } from "vitest";

vi.mock("assemblyscript/asc", () => {
  throw new Error("the fast tier compiles no AssemblyScript: add this test file to SLOW_TESTS in vitest.fast.config.ts");
});

vi.mock("node:worker_threads", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:worker_threads")>();
  class RefusedWorker {
    constructor() {
      throw new Error("the fast tier starts no worker thread: add this test file to SLOW_TESTS in vitest.fast.config.ts");
    }
  }
  return { ...original, Worker: RefusedWorker };
});

vi.mock("node:child_process", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:child_process")>();
  const refused = () => {
    throw new Error("the fast tier starts no child process: add this test file to SLOW_TESTS in vitest.fast.config.ts");
  };
  return { ...original, spawn: refused, spawnSync: refused, exec: refused, execSync: refused, execFile: refused, execFileSync: refused, fork: refused };
});
