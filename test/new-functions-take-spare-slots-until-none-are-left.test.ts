/**
 * New functions of a patch take the image's spare slots (so later patches can
 * replace them too); a change that needs more new functions than there are
 * spare slots is refused with a clear error instead of a broken image.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildPatch } from "../engine/builder/index.ts";
import { DEFAULT_SPARE_SLOTS } from "../engine/wasm/instrument.ts";
import { image, signingKeys } from "./guest-fixtures.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/slots/${name}`, import.meta.url));
const keys = signingKeys();

describe("spare slots", () => {
  it("refuses a patch that adds more new functions than the image has spare slots", async () => {
    const base = await image(fixture("base.ts"));
    expect(base.linkMap.slots.size - base.linkMap.slots.firstFree).toBe(DEFAULT_SPARE_SLOTS);
    const result = buildPatch({ base, target: fixture("many-helpers.ts"), id: "KB5039001", key: keys.privateKey });
    await expect(result).rejects.toMatchObject({ code: "E_BUILD" });
    await expect(result).rejects.toThrow(/no spare slot left for new function helper\d+ \(the image reserves 64\)|function helper\d+.*no spare slot left/);
  });
});
