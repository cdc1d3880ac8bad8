/**
 * What makes two builds of the same inputs give the same bytes: the
 * toolchain. A cache key (cacheKey) hashes it with the inputs, so a new
 * assemblyscript or binaryen version, or any edit to the builder's own code,
 * makes every earlier entry unreachable (never wrong).
 *
 * The builder's code is hashed file by file: every source of the engine
 * folders a build runs through (BUILDER_FOLDERS) and engine/errors.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256 } from "./store.ts";

const ENGINE = fileURLToPath(new URL("../", import.meta.url));

/** The engine folders whose code decides what a build outputs. */
const BUILDER_FOLDERS = ["build-cache", "format", "patch", "wasm", "image", "builder"];

/** The compiler packages, whose versions are part of every key. */
const PACKAGES = ["assemblyscript", "binaryen"];

let memo: string | undefined;

/** A digest of the toolchain: compiler package versions and the builder's sources (computed once per process). */
export function toolchainId(): string {
  if (memo) return memo;
  const hash = sha256(
    JSON.stringify({
      node: process.versions.modules,
      packages: PACKAGES.map((name) => [name, packageVersion(name)]),
      builder: builderSources().map(([file, text]) => [file, sha256(text).toString("hex")]),
    }),
  );
  memo = hash.toString("hex");
  return memo;
}

/** A cache key: the hash of the toolchain, the kind of entry and its inputs (JSON; Uint8Arrays as their hashes). */
export function cacheKey(kind: string, inputs: unknown): string {
  const text = JSON.stringify([toolchainId(), kind, inputs], (_, v) => (v instanceof Uint8Array ? `sha256:${sha256(v).toString("hex")}` : v));
  return sha256(text).toString("hex");
}

/** The version in node_modules/<name>/package.json, looked up from the engine's folder upwards as Node resolves packages. */
function packageVersion(name: string): string {
  for (let dir = ENGINE; ; dir = join(dir, "..")) {
    try {
      return String(JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")).version);
    } catch {}
    if (join(dir, "..") === dir) return "unknown";
  }
}

function builderSources(): [string, string][] {
  const files: [string, string][] = [["errors.ts", readFileSync(join(ENGINE, "errors.ts"), "utf8")]];
  for (const folder of BUILDER_FOLDERS) {
    for (const name of readdirSync(join(ENGINE, folder)).sort()) {
      if (name.endsWith(".ts")) files.push([`${folder}/${name}`, readFileSync(join(ENGINE, folder, name), "utf8")]);
    }
  }
  return files;
}
