/**
 * The portal's Fleet view in a real browser (Debian's chromium driven by
 * playwright-core) against a real `hotpatch serve`: a state with no fleet
 * offers a spec form (a bad spec gets the API's message naming the field),
 * the created fleet is drawn by region, zone and update domain, a defective
 * release started from the form halts after its first batch (those VMs
 * marked Unhealthy, the reason shown), Resume halts it again, Stop ends it,
 * and a sound release turns every VM Succeeded — all live, from the server's
 * fleet events, without a reload. With PORTAL_SCREENSHOTS=<dir> (`npm run
 * screenshots`) it saves the screenshots docs/portal.md shows.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../engine/serve/server.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.PORTAL_SCREENSHOTS;
const SPEC = {
  image: CORE,
  timezone: "America/New_York",
  groups: [
    { region: "eastus", availabilitySet: "web", updateDomains: 3, faultDomains: 2, count: 6 },
    { region: "eastus", zone: "1", count: 3 },
    { region: "westus", count: 3, timezone: "America/Los_Angeles" },
  ],
};

let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  if (SHOTS === undefined) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const chips = (outcome: string) => page.locator(`[data-testid=fleet-map] .vm[data-outcome=${outcome}]`).count();
const row = (release: string) => page.locator("[data-testid=rollouts] tbody tr", { hasText: release });

async function startRollout(release: string, defect: string): Promise<void> {
  const form = page.locator("[data-testid=start-rollout]");
  await form.locator("input").fill(release);
  await form.locator("select").selectOption(defect);
  await form.locator("button[type=submit]").click();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-portal-fleet-"));
  server = await startServer({ statePath: join(dir, "state.db"), port: 0, now: "2026-02-09T12:00:00Z", retryAfterSeconds: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await page.goto(server.portalUrl);
  await page.goto(`${server.url}/#/fleet`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the portal's Fleet view in chromium", () => {
  it("offers a spec form on a state without a fleet, shows the API's refusal, and draws the created fleet", async () => {
    const form = page.locator("[data-testid=create-fleet]");
    await form.waitFor();
    await form.locator("textarea").fill(JSON.stringify({ ...SPEC, groups: [{ region: "eastus", zone: "1", availabilitySet: "web", count: 2 }] }));
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator("[role=alert]").textContent()).toMatch(/^InvalidParameter: E_USAGE: fleet spec: groups\[0\] names both a zone and an availability set/);

    await form.locator("textarea").fill(JSON.stringify(SPEC));
    await form.locator("button[type=submit]").click();
    await expect.poll(() => page.locator("[data-testid=fleet-facts]").textContent(), { timeout: 30_000 }).toMatch(/VMs\s*12 \(12 running\).*eastus 9, westus 3/);
    expect(await page.textContent("main")).toContain("No rollout yet");
  }, 60_000);

  it("halts a defective release after its first batch, resumes it into a second halt, and stops it", async () => {
    await startRollout("2026-02", "trap");
    await expect.poll(() => row("2026-02").textContent(), { timeout: 30_000 }).toMatch(/Halted.*ended unhealthy after installing KB/);
    await expect.poll(() => page.locator("header .clock").textContent()).not.toContain("2026-02-09"); // the rollout moved the emulated clock
    const first = await chips("Unhealthy");
    expect(first).toBeGreaterThan(0);
    expect(await chips("NotStarted")).toBe(12 - first);
    expect(await page.locator("[data-testid=rollout] [role=alert]").textContent()).toMatch(/^Halted: westus-1 ended unhealthy/);
    await shot("fleet-halted");

    await row("2026-02").getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => chips("Unhealthy"), { timeout: 30_000 }).toBeGreaterThan(first);
    await expect.poll(() => row("2026-02").textContent()).toContain("Halted");
    await row("2026-02").getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => row("2026-02").textContent()).toContain("Stopped");
    expect(await row("2026-02").getByRole("button").count()).toBe(1); // the release link only: nothing to resume
  }, 60_000);

  it("rolls a sound release out to every VM, shown live", async () => {
    await startRollout("2026-03", "");
    await expect.poll(() => row("2026-03").textContent(), { timeout: 30_000 }).toMatch(/Completed\s*1200/);
    expect(await page.locator("[data-testid=rollout] h2").textContent()).toBe("Rollout of 2026-03: Completed");
    expect(await chips("Succeeded")).toBe(12);
    const batches = await page.locator("[data-testid=batches] tbody tr").allTextContents();
    expect(batches[0]).toMatch(/^1westusstandalone/); // the smallest region first, as the canary
    expect(batches.every((b) => b.includes("Succeeded"))).toBe(true);
    await shot("fleet");
  }, 60_000);
});
