/**
 * The README's SDK example (examples/sdk-install-hotpatch.ts) runs as users
 * run it — a child process with NODE_EXTRA_CA_CERTS and HOTPATCH_TOKEN —
 * against a real server, and prints what the README shows: the VM created,
 * the hotpatch offered and installed live, the guest's counter continuing.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { mintToken } from "../engine/serve/auth.ts";
import { startServer } from "../engine/serve/server.ts";

const EXAMPLE = fileURLToPath(new URL("../examples/sdk-install-hotpatch.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "hotpatch-sdk-example-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the SDK example", () => {
  it("creates, assesses, installs live and reads the patch status through @azure/arm-compute", async () => {
    const server = await startServer({ statePath: join(dir, "state.db"), port: 0, now: "2026-02-20T12:00:00Z" });
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", EXAMPLE, server.url], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: server.certPath, HOTPATCH_TOKEN: mintToken(new Date()) },
      });
      const lines = stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^created web01: 2022-datacenter-azure-edition-core 20348\.\d+, hotpatch true$/);
      expect(lines).toContain("installPatches: Succeeded, 1 installed, 1 excluded, reboot NotNeeded");
      expect(stdout).toMatch(/KB\d+ {2}Security {2}NeverReboots {2}2026-02 Hotpatch Security Update/);
      const [, before, after] = /requests served by the guest: (\d+) before the install, (\d+) after \(no restart\)/.exec(stdout) ?? [];
      expect(Number(after)).toBeGreaterThan(Number(before));
      expect(lines.at(-1)).toMatch(/^instanceView: OS build 20348\.\d+, last installation Succeeded \(1 installed\)$/);
      expect(server.context.store.vm("web01")).toBeUndefined(); // the example deletes its VM
    } finally {
      await server.close();
    }
  }, 60_000);
});
