/**
 * The build cache (engine/build-cache/) gives exactly the bytes a build
 * without it gives: an image from a source, and a signed package (calc v1 →
 * v3: new static data, a new function, a folded constant, so both compiles
 * and the pointer scan go through the cache). An entry is never trusted: a
 * damaged one is rebuilt; a changed imported file is a miss. On the command
 * line `--no-cache` leaves the cache alone and HOTPATCH_CACHE_DIR moves it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BuildCache, defaultCacheDir, openBuildCache } from "../engine/build-cache/index.ts";
import { buildPatch, buildPatchCached } from "../engine/builder/index.ts";
import { calcVersion } from "../engine/guests/index.ts";
import { compileAssemblyScript } from "../engine/image/compile-as.ts";
import { buildImageFromPath } from "../engine/image/index.ts";
import { runCliProcess } from "./cli-runner.ts";
import { signingKeys } from "./guest-fixtures.ts";

const scratch = mkdtempSync(join(tmpdir(), "build-cache-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const keys = signingKeys();

/** A cache in a fresh folder that counts its writes: a build that writes nothing was read back whole. */
function countingCache(name: string): BuildCache & { writes: number } {
  const inner = openBuildCache(join(scratch, name));
  const cache = {
    dir: inner.dir,
    writes: 0,
    get: (key: string) => inner.get(key),
    put: (key: string, bytes: Uint8Array) => {
      cache.writes++;
      inner.put(key, bytes);
    },
  };
  return cache;
}

const entriesOf = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

describe("the build cache", () => {
  it("gives an image the bytes of a build without it", async () => {
    const cache = countingCache("image");
    const fresh = await buildImageFromPath(calcVersion("v3"), { mode: "inline" });
    const miss = await buildImageFromPath(calcVersion("v3"), { mode: "inline", cache });
    const written = cache.writes;
    expect(written).toBeGreaterThan(0);
    const hit = await buildImageFromPath(calcVersion("v3"), { mode: "inline", cache });
    expect(cache.writes).toBe(written);
    expect(Buffer.compare(miss.bytes, fresh.bytes)).toBe(0);
    expect(Buffer.compare(hit.bytes, fresh.bytes)).toBe(0);
    expect(hit.linkMap).toEqual(fresh.linkMap);
  });

  it("gives a package the bytes of a build without it, and rebuilds damaged entries", async () => {
    const cache = countingCache("patch");
    const request = { base: calcVersion("v1"), target: calcVersion("v3"), id: "KB5038301", key: keys.privateKey };
    const fresh = await buildPatch(request);
    if (fresh.kind !== "hotpatch") throw new Error("expected a hotpatch");
    const miss = await buildPatchCached({ ...request, cache });
    const written = cache.writes;
    expect(written).toBeGreaterThan(0);
    const hit = await buildPatchCached({ ...request, cache });
    expect(cache.writes).toBe(written);
    for (const built of [miss, hit]) {
      if (built.kind !== "hotpatch") throw new Error("expected a hotpatch");
      expect(built.manifest).toEqual(fresh.manifest);
      expect(Buffer.compare(built.package, fresh.package)).toBe(0);
    }
    // Damage every entry: flip a byte in some, cut others short.
    const files = entriesOf(cache.dir);
    expect(files.length).toBeGreaterThanOrEqual(4); // the inputs records, both compiles, the base image, the result
    files.forEach((file, i) => {
      const bytes = readFileSync(file);
      if (i % 2 === 0) bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(file, i % 2 === 0 ? bytes : bytes.subarray(0, bytes.length >> 1));
    });
    const rebuilt = await buildPatchCached({ ...request, cache });
    expect(cache.writes).toBe(2 * written); // nothing damaged was used: everything was built and stored again
    if (rebuilt.kind !== "hotpatch") throw new Error("expected a hotpatch");
    expect(Buffer.compare(rebuilt.package, fresh.package)).toBe(0);
    const again = await buildPatchCached({ ...request, cache });
    expect(cache.writes).toBe(2 * written); // the rebuilt entries are sound
    expect(again.kind === "hotpatch" && Buffer.compare(again.package, fresh.package)).toBe(0);
  });

  it("misses when a file the source imports changes", async () => {
    const dir = join(scratch, "guest");
    mkdirSync(dir);
    const main = join(dir, "main.ts");
    writeFileSync(main, 'import { answer } from "./dep";\nexport function get(): i32 { return answer(); }\n');
    const dep = (n: number) => writeFileSync(join(dir, "dep.ts"), `export function answer(): i32 { return ${n}; }\n`);
    const cache = countingCache("deps");
    dep(41);
    const first = await compileAssemblyScript(main, undefined, cache);
    expect(Buffer.compare((await compileAssemblyScript(main, undefined, cache)).wasm, first.wasm)).toBe(0);
    const written = cache.writes;
    dep(42);
    const second = await compileAssemblyScript(main, undefined, cache);
    expect(cache.writes).toBeGreaterThan(written); // compiled, not read back
    expect(Buffer.compare(first.wasm, second.wasm)).not.toBe(0);
    expect(Buffer.compare((await compileAssemblyScript(main)).wasm, second.wasm)).toBe(0);
    dep(41);
    expect(Buffer.compare((await compileAssemblyScript(main, undefined, cache)).wasm, first.wasm)).toBe(0);
  });

  it("lives where HOTPATCH_CACHE_DIR says, else under XDG_CACHE_HOME or ~/.cache", () => {
    expect(defaultCacheDir({ HOTPATCH_CACHE_DIR: "/x/y" })).toBe("/x/y");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/c" })).toBe(join("/c", "wasm-hotpatch"));
    expect(defaultCacheDir({})).toMatch(/\.cache[/\\]wasm-hotpatch$/);
    expect(process.env.HOTPATCH_CACHE_DIR).toContain(tmpdir()); // vitest.config.ts: tests never write to ~/.cache
  });

  it("on the command line: a hit and --no-cache give the same package; --no-cache writes nothing", async () => {
    const dir = join(scratch, "cli");
    const kb = (name: string) => join(scratch, `${name}.hpk`);
    const key = join(scratch, "key.pem");
    writeFileSync(key, keys.privateKey.export({ format: "pem", type: "pkcs8" }));
    const build = (out: string, ...extra: string[]) =>
      runCliProcess(["patch", "build", "--base", calcVersion("v1"), "--target", calcVersion("v2"), "--id", "KB5038201", "--key", key, "-o", out, ...extra], { ...process.env, HOTPATCH_CACHE_DIR: dir });
    expect((await build(kb("none"), "--no-cache")).status).toBe(0);
    expect(() => readdirSync(dir)).toThrow();
    expect((await build(kb("miss"))).status).toBe(0);
    expect(entriesOf(dir).length).toBeGreaterThan(0);
    expect((await build(kb("hit"))).status).toBe(0);
    expect(Buffer.compare(readFileSync(kb("miss")), readFileSync(kb("none")))).toBe(0);
    expect(Buffer.compare(readFileSync(kb("hit")), readFileSync(kb("none")))).toBe(0);
  });
});
