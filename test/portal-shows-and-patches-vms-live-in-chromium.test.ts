/**
 * The portal in a real browser (Debian's chromium driven by playwright-core)
 * against a real `hotpatch serve`: signing in with the printed token (then a
 * session cookie, the token gone from the address bar), the VM table and the
 * create form with the API's own validation message, a VM's Updates view
 * (Assess now, the Install dialog), its history and Get-HotFix, the live
 * Processes view (counters climbing, the KB in the slot table, a marker when
 * a patch goes out), the schedule, and two tabs kept consistent by the event
 * stream, an automatic install after a clock advance, an unknown VM's error in words.
 * With PORTAL_SCREENSHOTS=<dir> (`npm run screenshots`) it saves the screenshots docs/portal.md shows.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVm, Store } from "../engine/manage/index.ts";
import { mintToken } from "../engine/serve/auth.ts";
import { type RunningServer, startServer } from "../engine/serve/server.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.PORTAL_SCREENSHOTS;

let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;

async function shot(name: string, options: { fullPage?: boolean; settleMillis?: number } = {}): Promise<void> {
  if (SHOTS === undefined) return;
  mkdirSync(SHOTS, { recursive: true });
  if (options.settleMillis) await page.waitForTimeout(options.settleMillis); // let live charts gather points
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-portal-"));
  const statePath = join(dir, "state.db");
  const store = Store.open(statePath);
  createVm(store, { name: "vm1", image: CORE }, new Date("2026-01-20T12:00:00Z"), []);
  store.close();
  server = await startServer({ statePath, port: 0, now: "2026-02-20T12:00:00Z", retryAfterSeconds: 0 });
  await server.liveVmsBooted;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the portal in chromium", () => {
  it("asks for the token, refuses a wrong one, and trades the right one for a session cookie", async () => {
    await page.goto(server.url);
    await expect.poll(() => page.textContent("body")).toContain("Portal token");
    const wrong = await page.goto(`${server.url}/?token=nope`);
    expect(wrong?.status()).toBe(401);
    expect(await page.textContent("[role=alert]")).toContain("not this server's portal token");
    await page.goto(server.portalUrl);
    expect(page.url()).toBe(`${server.url}/`); // the token left the address bar
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "hotpatch-portal")).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    await page.waitForSelector("[data-testid=vm-table] tbody tr");
    // The cookie reads; a change needs the portal's header too (no cross-site form can send it).
    const answers = await page.evaluate(async () => {
      const read = await fetch("/hotpatch/clock");
      const change = await fetch("/hotpatch/clock/advance", { method: "POST", headers: { "content-type": "application/json" }, body: '{"duration":"P1D"}' });
      return [read.status, change.status];
    });
    expect(answers).toEqual([200, 401]);
  }, 30_000);

  it("lists the VMs and creates one through the API, with the API's validation message", async () => {
    const row = page.locator("[data-testid=vm-table] tbody tr", { hasText: "vm1" });
    await expect.poll(() => row.textContent()).toMatch(/vm1.*2022-datacenter-azure-edition-core.*20348\.\d+.*Enabled.*AutomaticByPlatform/);
    const form = page.locator("[data-testid=create-vm]");
    await form.getByLabel("Name").fill("old1");
    await form.getByLabel("Image").selectOption({ label: "2019-datacenter" });
    await expect.poll(() => form.textContent()).toContain("This image cannot run hotpatch");
    await form.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => form.locator("[role=alert]").textContent()).toMatch(/InvalidParameter: .*cannot run hotpatch/);
    expect(server.context.store.vm("old1")).toBeUndefined();
    await form.getByLabel("Name").fill("web2");
    await form.getByLabel("Image").selectOption({ label: "2022-datacenter-azure-edition-hotpatch (hotpatch)" });
    await form.getByRole("button", { name: "Create" }).click();
    await page.locator("[data-testid=vm-table] tbody tr", { hasText: "web2" }).waitFor();
    await shot("vms");
  }, 30_000);

  it("assesses and installs a VM's hotpatch from its Updates view", async () => {
    await page.getByRole("link", { name: "vm1" }).click();
    await expect.poll(() => page.textContent("[data-testid=hotpatch-status]")).toBe("Enabled");
    expect(await page.textContent("[data-testid=last-assessment]")).toBe("never");
    await page.getByRole("button", { name: "Assess now" }).click();
    await expect.poll(() => page.textContent("[role=status]"), { timeout: 20_000 }).toMatch(/Assessment Succeeded: 1 critical and security, 1 other/);
    const recommended = page.locator("[data-testid=recommended] tbody tr");
    await expect.poll(() => recommended.textContent()).toMatch(/KB\d+.*Hotpatch Security Update.*Security.*Hotpatch \(no reboot\)/);
    expect(await page.textContent("[data-testid=compliance]")).toMatch(/UpdateRollup.*Requires reboot/);
    await page.getByRole("button", { name: "Install updates now" }).click();
    const dialog = page.getByRole("dialog", { name: "Install updates now" });
    expect(await dialog.getByLabel("Critical").isChecked()).toBe(true);
    expect(await dialog.getByLabel("Security").isChecked()).toBe(true);
    await shot("install-dialog");
    await dialog.getByRole("button", { name: "Install" }).click();
    await expect.poll(() => page.textContent("[role=status]"), { timeout: 20_000 }).toMatch(/Installation Succeeded: 1 update installed, 0 failed, reboot NotNeeded/);
    await expect.poll(() => page.textContent("[data-testid=last-installation]")).toMatch(/^Succeeded: 1 update installed/);
    await shot("updates");
  }, 60_000);

  it("shows the update history and Get-HotFix", async () => {
    await page.getByRole("tab", { name: "Update history" }).click();
    await expect.poll(() => page.textContent("[data-testid=history]")).toMatch(/Install.*OnDemand.*Succeeded.*1 of 1 succeeded.*No reboot/);
    await page.getByRole("tab", { name: "Get-HotFix" }).click();
    await expect.poll(() => page.textContent("[data-testid=hotfixes]")).toMatch(/Security Update.*KB\d+.*NT AUTHORITY\\SYSTEM/);
  });

  it("shows the live processes: counters climbing, the KB in the slot table, a marker when it is reverted", async () => {
    await page.getByRole("tab", { name: "Processes" }).click();
    const requests = page.locator("[data-testid=process-0] [data-testid=requests]");
    await requests.waitFor();
    const first = Number(await requests.textContent());
    await expect.poll(async () => Number(await requests.textContent()), { timeout: 10_000 }).toBeGreaterThan(first);
    const patched = page.locator("[data-testid=process-0] tr.patched");
    await expect.poll(() => patched.count()).toBeGreaterThan(0);
    const kb = /KB\d+/.exec((await patched.first().textContent()) ?? "")?.[0];
    expect(await patched.first().textContent()).toMatch(new RegExp(`image → ${kb}`));
    expect(await page.locator(".chart canvas").count()).toBeGreaterThanOrEqual(2);
    await shot("processes", { fullPage: false, settleMillis: 6000 });
    // The operator removes the hotpatch (through the API): the view marks it and the slots go back to the image.
    const removed = await page.evaluate(
      async ({ kb, token }) => (await fetch("/hotpatch/vms/vm1/uninstall", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ kbId: kb }) })).status,
      { kb, token: mintToken(new Date()) },
    );
    expect(removed).toBe(200);
    await expect.poll(() => page.textContent("[data-testid=markers]"), { timeout: 10_000 }).toMatch(new RegExp(`${kb} reverted, pause [\\d.]+ µs`));
    await expect.poll(() => patched.count(), { timeout: 10_000 }).toBe(0);
    const before = Number(await requests.textContent());
    await expect.poll(async () => Number(await requests.textContent()), { timeout: 10_000 }).toBeGreaterThan(before); // no restart
  }, 60_000);

  it("keeps two tabs consistent through the event stream, and shows the schedule", async () => {
    const other = await page.context().newPage();
    await other.goto(`${server.url}/#/schedule`);
    await expect.poll(() => other.textContent("[data-testid=schedule]")).toMatch(/vm1.*KB\d+/);
    await expect.poll(() => other.evaluate(() => (document.querySelector("img.calendar") as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    const clockBefore = await other.textContent("[data-testid=clock]");
    await page.getByRole("button", { name: "+1 day" }).click();
    await expect.poll(() => other.textContent("[data-testid=clock]"), { timeout: 10_000 }).not.toBe(clockBefore);
    expect(await other.textContent("[data-testid=clock]")).toBe(await page.textContent("[data-testid=clock]"));
    // The day's off-peak window (22:00-06:00 UTC) came and went: automatic patching installed web2's hotpatch.
    await other.goto(`${server.url}/#/vms/hotpatch/web2/history`);
    await expect.poll(() => other.textContent("[data-testid=history]"), { timeout: 10_000 }).toMatch(/Install.*AutomaticByPlatform.*Succeeded.*1 of 1 succeeded/);
    // An unknown VM is an error in words, not a blank page.
    await other.goto(`${server.url}/#/vms/hotpatch/nope/updates`);
    await expect.poll(() => other.textContent("[role=alert]")).toMatch(/^ResourceNotFound: The virtual machine 'nope' was not found/);
    await other.goto(`${server.url}/#/schedule`);
    await other.locator("[data-testid=schedule]").waitFor();
    const shown = page;
    page = other;
    await shot("schedule");
    page = shown;
    await other.close();
  }, 30_000);
});
