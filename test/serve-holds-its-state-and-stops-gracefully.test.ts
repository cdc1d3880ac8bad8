/**
 * `hotpatch serve` as a user runs it: a real child process over HTTPS. It
 * prints its URL and a `Portal: ` line, holds the state file (the CLI refuses
 * it with E_STATE_BUSY and names the server), stops on SIGTERM with exit 0
 * and gives the state back; after a SIGKILL the next start takes the stale
 * lock over and finds everything that was answered.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.ts";
import { call, spawnServer } from "./serve-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "hotpatch-serve-"));
const state = join(dir, "state.db");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GROUP = "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-one?api-version=2025-04-01";

describe("hotpatch serve", () => {
  it("prints its URLs, holds the state against the CLI, and stops gracefully on SIGTERM", async () => {
    const server = await spawnServer(["--state", state, "--now", "2026-01-05T12:00:00Z"]);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.portalLine).toMatch(new RegExp(`^Portal: ${server.url.replace(/[.]/g, "\\.")}/\\?token=[A-Za-z0-9_-]{32}$`));

    const busy = await runCli(["vm", "list", "--state", state]);
    expect(busy.status).not.toBe(0);
    expect(busy.stderr).toContain("E_STATE_BUSY");
    expect(busy.stderr).toContain(server.url);

    const created = await call(server, "PUT", GROUP, { body: { location: "EastUS", tags: { team: "patching" } } });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ name: "rg-one", location: "eastus", tags: { team: "patching" }, properties: { provisioningState: "Succeeded" } });
    expect(created.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);

    const portal = await call(server, "GET", "/", { token: null });
    expect(portal.status).toBe(200);
    expect(portal.headers["content-type"]).toContain("text/html");

    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("stopped");
    const free = await runCli(["clock", "show", "--state", state, "--json"]);
    expect(free.status).toBe(0);
    expect(JSON.parse(free.stdout).clock).toBe("2026-01-05T12:00:00Z");
  }, 60_000);

  it("after a SIGKILL, starts again over the stale lock with everything it had answered", async () => {
    const first = await spawnServer(["--state", state]);
    expect((await call(first, "PUT", GROUP.replace("rg-one", "rg-two"), { body: { location: "westus" } })).status).toBe(201);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();

    const second = await spawnServer(["--state", state]);
    try {
      const list = await call(second, "GET", "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups?api-version=2025-04-01");
      expect(list.status).toBe(200);
      expect(list.json().value.map((g: { name: string }) => g.name)).toEqual(["rg-one", "rg-two"]);
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  }, 60_000);

  it("refuses a second server on a held state with E_STATE_BUSY", async () => {
    const first = await spawnServer(["--state", state]);
    try {
      await expect(spawnServer(["--state", state])).rejects.toThrow(/E_STATE_BUSY/);
    } finally {
      first.child.kill("SIGINT");
      expect(await first.exited).toBe(0);
    }
  }, 60_000);
});
