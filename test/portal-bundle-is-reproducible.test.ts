/**
 * The portal's bundle (engine/serve/portal-bundle.ts): the same sources give
 * the same bytes, it names no path of the machine that built it, and it
 * carries its libraries (Preact, uPlot and uPlot's stylesheet) so the page
 * needs no network.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildPortalBundle } from "../engine/serve/portal-bundle.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("the portal's bundle", () => {
  it("is byte-identical across builds, machine-independent and self-contained", async () => {
    const [a, b] = [await buildPortalBundle(), await buildPortalBundle()];
    expect(b.js).toBe(a.js);
    expect(b.css).toBe(a.css);
    expect(a.js).not.toContain(ROOT);
    expect(a.js).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i); // no CDN or other network reference (SVG's namespace aside)
    expect(a.js).toContain("/hotpatch/events"); // the portal's own code
    expect(a.css).toContain(".uplot"); // uPlot's stylesheet, bundled
    expect(a.css).toContain("table.grid");
  }, 30_000);
});
