/**
 * The teaching demo in the browser: `hotpatch demo --portal` tells the
 * exploit story on a server and the portal narrates it (engine/serve/demo-story.ts,
 * portal/views/demo.tsx). In chromium: the Demo view's button starts it, the
 * steps arrive as they happen, the demo VM's Processes view shows the fix's
 * KB in the slot table while it is live and marks the apply and the revert,
 * and the request counter never resets. The command itself runs the story
 * with --start and prints every step.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../engine/serve/server.ts";

const BIN = fileURLToPath(new URL("../bin/hotpatch.mjs", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "hotpatch-portal-demo-"));
let server: RunningServer | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await server?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("the demo in the portal", () => {
  it("starts from its button and narrates every step beside the demo VM's live processes", async () => {
    server = await startServer({ statePath: join(dir, "state.db"), port: 0, demo: { stepMillis: 1500 } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${server.portalUrl}#/demo`);
    expect(new URL(page.url()).hash).toBe("#/demo"); // the fragment survives the sign-in redirect
    await page.getByRole("link", { name: "Demo" }).waitFor();
    await page.getByRole("button", { name: "Start the demo" }).click();
    const story = page.locator("[data-testid=story] li");
    await expect.poll(() => story.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const requests = page.locator("[data-testid=process-0] [data-testid=requests]");
    await requests.waitFor({ timeout: 20_000 });
    const seen: number[] = [Number(await requests.textContent())];
    // While the fix is live the slot it replaces runs the KB.
    await expect.poll(() => page.textContent("[data-testid=story]"), { timeout: 30_000 }).toContain("Applied live in");
    await expect.poll(() => page.locator("[data-testid=process-0] tr.patched", { hasText: "KB5036001" }).count(), { timeout: 5_000 }).toBeGreaterThan(0);
    seen.push(Number(await requests.textContent()));
    if (process.env.PORTAL_SCREENSHOTS) {
      mkdirSync(process.env.PORTAL_SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(process.env.PORTAL_SCREENSHOTS, "demo.png") });
    }
    await expect.poll(() => page.textContent("[data-testid=story]"), { timeout: 30_000 }).toContain("The fix went in live: no restart, no lost state, the exploit stopped.");
    const text = (await page.textContent("[data-testid=story]")) ?? "";
    expect(text).toContain('including "ADMIN-TOKEN=7f3a9c-do-not-leak"');
    expect(text).toMatch(/The same heartbeat now gets status MALFORMED and 1 byte\(s\): nothing leaks/);
    const [, before, after] = /Counters continued: (\d+) → (\d+) requests, never reset/.exec(text) ?? [];
    expect(Number(after)).toBeGreaterThan(Number(before));
    expect(text).toMatch(/Reverted KB5036001 live \(a [\d.]+ µs switch\): the heartbeat leaks "ADMIN-TOKEN=7f3a9c-do-not-leak" again/);
    await expect.poll(() => page.textContent("[data-testid=markers]")).toMatch(/KB5036001 live, pause [\d.]+ µs.*KB5036001 reverted, pause [\d.]+ µs/s);
    await expect.poll(() => page.locator("[data-testid=process-0] tr.patched").count()).toBe(0);
    seen.push(Number(await requests.textContent()));
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // the counter only climbs: no restart
    expect((await page.getByRole("button", { name: "Run the demo again" }).count())).toBe(1);
  }, 90_000);

  it("runs from the command line with --start and prints each step", async () => {
    const child = spawn(process.execPath, [BIN, "demo", "--portal", "--port", "0", "--start", "--step-seconds", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await expect.poll(() => out, { timeout: 60_000 }).toContain("The fix went in live: no restart, no lost state, the exploit stopped.");
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^Portal: https:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+#\/demo$/);
    expect(out).toMatch(/Applied live in \d+ µs/);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});
