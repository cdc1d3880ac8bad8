/**
 * Reproducible builds: the same sources, built twice from scratch (nothing
 * memoised), give byte-identical images with the same build id, and
 * byte-identical signed packages with the same key (ed25519 signatures are
 * deterministic) — here for a patch that carries new static data, a new
 * function and a folded constant (calc v1 → v3).
 */
import { describe, expect, it } from "vitest";
import { buildPatch } from "../engine/builder/index.ts";
import { calcVersion } from "../engine/guests/index.ts";
import { buildImageFromPath } from "../engine/image/index.ts";
import { CALC_V1 } from "./corpus-fixtures.ts";
import { signingKeys } from "./guest-fixtures.ts";

const keys = signingKeys();

describe("building the same sources twice", () => {
  it("gives byte-identical images with the same build id", async () => {
    const first = await buildImageFromPath(calcVersion("v3"));
    const second = await buildImageFromPath(calcVersion("v3"));
    expect(second.linkMap.buildId).toBe(first.linkMap.buildId);
    expect(Buffer.compare(second.bytes, first.bytes)).toBe(0);
  });

  it("gives byte-identical images in inline mode too", async () => {
    const first = await buildImageFromPath(calcVersion("v3"), { mode: "inline" });
    const second = await buildImageFromPath(calcVersion("v3"), { mode: "inline" });
    expect(second.linkMap.buildId).toBe(first.linkMap.buildId);
    expect(Buffer.compare(second.bytes, first.bytes)).toBe(0);
  });

  it("gives byte-identical packages with the same key", async () => {
    const build = () => buildPatch({ base: CALC_V1, target: calcVersion("v3"), id: "KB5038301", key: keys.privateKey });
    const first = await build();
    const second = await build();
    if (first.kind !== "hotpatch" || second.kind !== "hotpatch") throw new Error("expected hotpatches");
    expect(first.manifest.data).toBeDefined();
    expect(first.functions.some((f) => f.change === "new")).toBe(true);
    expect(second.base.linkMap.buildId).toBe(first.base.linkMap.buildId);
    expect(second.manifest).toEqual(first.manifest);
    expect(Buffer.compare(second.package, first.package)).toBe(0);
  });
});
