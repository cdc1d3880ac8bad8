/**
 * What the patch builder refuses to ship as a hotpatch. Each guest in
 * test/fixtures/kvstore/ is a copy of assembly/kvstore/v1.ts with exactly one
 * change: those a running process cannot take (a resized static buffer, a new
 * mutable global, a changed signature, a new import), one it can (a new
 * string literal: the builder relocates static data), and comments.ts, with
 * no code change at all. Function keys drop the entry file's name (`signature/fail`
 * is `fail`), so these files match v1's functions by name.
 */
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { PatchBuildResult } from "../engine/builder/build-patch.ts";
import { buildPatch } from "../engine/builder/index.ts";
import { kvstoreVersion } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { hotpatch, kvImage, signingKeys } from "./guest-fixtures.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/kvstore/${name}.ts`, import.meta.url));
const keys = signingKeys();
let v1: Image;

beforeAll(async () => {
  v1 = await kvImage("v1");
});

const build = (target: string, id = "KB5036501"): Promise<PatchBuildResult> => buildPatch({ base: v1, target, id, key: keys.privateKey });

describe("classifying v1 → target with buildPatch", () => {
  it("ships the v2 security fix as a hotpatch of handleEcho alone (the control case)", async () => {
    const result = await build(kvstoreVersion("v2"));
    expect(result.kind).toBe("hotpatch");
    expect(result.reasons).toEqual([]);
    expect(result.functions.map((f) => [f.key, f.change])).toEqual([["handleEcho", "changed"]]);
  });

  it("requires a baseline for a resized static buffer, naming its address and size", async () => {
    const result = await build(fixture("buffer"));
    expect(result.kind).toBe("requires-baseline");
    expect(result).not.toHaveProperty("package");
    const output = Number(/i32\.const (\d+)/.exec(v1.linkMap.globals.find((g) => g.key === "output")!.init)![1]);
    expect(output).toBeGreaterThanOrEqual(0x10000);
    expect(result.reasons).toContain(
      `the static buffer at 0x${output.toString(16)} (4096 bytes) changes or disappears: it holds live state and cannot move; a migration (__hotpatch_migrate) would make it a hotpatch`,
    );
  });

  it("ships a new string literal as a hotpatch of the one function using it, the string travelling as new static data", async () => {
    const result = await hotpatch(v1, fixture("newstring"), "KB5036501", keys.privateKey);
    expect(result.functions.map((f) => f.key)).toEqual(["lastError"]);
    expect(result.manifest.data?.objects.length ?? 0).toBeGreaterThan(0);
  });

  it("requires a baseline for a new mutable global, naming it", async () => {
    const result = await build(fixture("newglobal"));
    expect(result.kind).toBe("requires-baseline");
    expect(result.reasons).toEqual(["adds the mutable global heartbeats: a running process has no storage for it; a migration (__hotpatch_migrate) would make it a hotpatch"]);
    expect(result.functions.map((f) => f.key)).toEqual(["handleEcho"]);
  });

  it("requires a baseline for a changed function signature, naming the function and both signatures", async () => {
    const result = await build(fixture("signature"));
    expect(result.kind).toBe("requires-baseline");
    expect(result.reasons).toEqual(["function fail changes its signature from (i32)->i32 to (i32,i32)->i32"]);
    // The callers changed too, and would have been hotpatchable on their own.
    expect(result.functions.map((f) => f.key).sort()).toEqual(["handle", "handleDel", "handleEcho", "handleGet", "handlePut"]);
  });

  it("requires a baseline for a new import, naming it with its signature", async () => {
    const result = await build(fixture("import"));
    expect(result.kind).toBe("requires-baseline");
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toMatch(/^adds or changes the import env\.trace \(i32,i32,f64,f64,f64,f64,f64\)->\(\)$/);
    expect(v1.linkMap.imports.map((i) => `${i.module}.${i.base}`)).not.toContain("env.trace");
  });

  it("finds no change in a copy that differs from v1 only in comments, even with fewer lines", async () => {
    const result = await build(fixture("comments"));
    expect(result.kind).toBe("no-change");
    expect(result.functions).toEqual([]);
    expect(result.reasons).toEqual([]);
  });
});
