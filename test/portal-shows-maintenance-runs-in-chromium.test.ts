/**
 * The portal's Maintenance view in a real browser (Debian's chromium driven by
 * playwright-core) against a real `hotpatch serve`: a configuration made
 * through the ARM API is shown with its window in words and the machines it
 * would patch; a run is cancelled from the page before its cut-off, one past
 * it is refused with the API's words; after the clock moves, the run is shown
 * with each machine's outcome (one patched, one failing its prerequisites) —
 * live, from the server's events. With PORTAL_SCREENSHOTS=<dir> (`npm run
 * screenshots`) it saves the screenshot docs/portal.md shows.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../engine/serve/server.ts";
import { call } from "./serve-helpers.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.PORTAL_SCREENSHOTS;
const SUB = "00000000-0000-0000-0000-000000000000";
const GROUP = `/subscriptions/${SUB}/resourceGroups/hotpatch`;
const CONFIG = `${GROUP}/providers/Microsoft.Maintenance/maintenanceConfigurations/sat-night`;
const API = "api-version=2023-04-01";

let dir: string;
let server: RunningServer;
let ca: string;
let browser: Browser;
let page: Page;

const api = (method: string, path: string, body?: unknown) => call({ url: server.url, ca }, method, path, body === undefined ? {} : { body });

function vm(name: string, bypass: boolean) {
  return {
    location: "eastus",
    tags: { "hotpatch-processes": "1" },
    properties: {
      storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2025-datacenter-azure-edition-core", version: "latest" } },
      osProfile: {
        computerName: name,
        windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true, automaticByPlatformSettings: { bypassPlatformSafetyChecksOnUserSchedule: bypass } } },
      },
    },
  };
}

const upcoming = (run: string) => page.locator(`[data-testid=upcoming-runs] tr[data-run="${run}"]`);
const past = (run: string) => page.locator(`[data-testid=past-runs] tr[data-run="${run}"]`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-portal-maintenance-"));
  server = await startServer({ statePath: join(dir, "state.db"), port: 0, now: "2027-02-01T00:00:00Z", retryAfterSeconds: 0 });
  ca = readFileSync(server.certPath, "utf8");
  expect((await api("PUT", `${GROUP}?api-version=2025-04-01`, { location: "eastus" })).status).toBeLessThan(300);
  for (const [name, bypass] of [["web01", true], ["web02", false]] as const) {
    expect((await api("PUT", `${GROUP}/providers/Microsoft.Compute/virtualMachines/${name}?api-version=2026-03-01`, vm(name, bypass))).status).toBe(201);
  }
  const config = await api("PUT", `${CONFIG}?${API}`, {
    location: "eastus",
    properties: {
      maintenanceScope: "InGuestPatch",
      extensionProperties: { InGuestPatchMode: "User" },
      maintenanceWindow: { startDateTime: "2027-02-06 22:00", duration: "03:00", timeZone: "Pacific Standard Time", recurEvery: "Week Saturday" },
    },
  });
  expect(config.status).toBe(200);
  for (const name of ["web01", "web02"]) {
    const assigned = await api("PUT", `${GROUP}/providers/Microsoft.Compute/virtualMachines/${name}/providers/Microsoft.Maintenance/configurationAssignments/weekly?${API}`, {
      properties: { maintenanceConfigurationId: CONFIG },
    });
    expect(assigned.status).toBe(200);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await page.goto(server.portalUrl);
  await page.goto(`${server.url}/#/maintenance`);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the portal's Maintenance view in chromium", () => {
  it("shows the configuration's window in words, the machines it would patch and its next windows", async () => {
    const card = page.locator("[data-testid=configuration-sat-night]");
    await card.waitFor();
    expect(await card.locator(".facts").textContent()).toContain("every Saturday at 22:00 Pacific Standard Time (America/Los_Angeles) for 03:00");
    expect(await card.locator("[data-testid=machines-now]").textContent()).toContain("web01 (assignment weekly), web02 (assignment weekly)");
    expect(await upcoming("20270207060000").locator("[data-testid=run-status]").textContent()).toBe("Scheduled");
    expect(await upcoming("20270214060000").textContent()).toContain("2027-02-14 05:50:00 UTC");
  });

  it("cancels a run from the page, and the cancelled run says why", async () => {
    await upcoming("20270214060000").locator("button").click();
    await expect.poll(() => upcoming("20270214060000").locator("[data-testid=run-status]").textContent()).toBe("Cancelledcancelled by the user");
    expect(await upcoming("20270214060000").locator("button").count()).toBe(0);
  });

  it("shows a run as it happens: one machine patched, one failing its prerequisites; a late cancel is refused in the API's words", async () => {
    expect((await api("POST", "/hotpatch/clock/advance", { duration: "P13DT5H55M" })).status).toBe(200); // 2027-02-14T05:55Z: past that run, 5 minutes before none
    const run = past("20270207060000");
    await expect.poll(() => run.locator("[data-testid=run-status]").textContent(), { timeout: 30_000 }).toBe("CompletedWithWarnings");
    expect(await run.locator("li[data-outcome=Succeeded]").textContent()).toMatch(/^web01: Succeeded, \d+ installed/);
    expect(await run.locator("li[data-outcome=PrerequisitesNotMet]").textContent()).toContain("web02: PrerequisitesNotMet — prerequisites not met");
    expect((await api("POST", "/hotpatch/clock/advance", { duration: "P6DT23H58M" })).status).toBe(200); // 2027-02-21T05:53Z: three minutes past the next cut-off
    const next = upcoming("20270221060000");
    await expect.poll(() => next.textContent()).toContain("2027-02-21 05:50:00 UTC");
    await next.locator("button").click();
    await expect.poll(() => next.locator("[role=alert]").textContent()).toMatch(/^Conflict: E_SCHEDULE: run 20270221060000 of sat-night can no longer be cancelled: the cut-off was 2027-02-21T05:50:00Z/);
    if (SHOTS !== undefined) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, "maintenance.png"), fullPage: true });
    }
  });
});
