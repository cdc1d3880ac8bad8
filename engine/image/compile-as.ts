/**
 * Compiles an AssemblyScript guest with the pinned options every image uses.
 *
 * Contract: the same source file gives the same bytes whichever command or
 * working directory compiles it. asc runs with `baseDir` = the file's folder
 * and the file's base name as entry, so function names start with the entry's
 * name (`v1/handle`) whatever the caller's path; that prefix is what
 * `namePrefix` reports and what link maps strip to match functions across
 * versions (`v1/handle` and `v2/handle` are both the key `handle`).
 *
 * No optimisation happens here: the image builder instruments first and
 * optimises afterwards (see engine/wasm/instrument.ts).
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import { type BuildCache, cacheKey, recordSourceInputs, type SourceRead, sourceInputsDigest } from "../build-cache/index.ts";
import { HotpatchError } from "../errors.ts";

/** Static data starts here; the memory below it (from PATCH_ARENA_START) is the patch arena. */
export const MEMORY_BASE = 65536;
export const PATCH_ARENA_START = 4096;

/** asc options shared by every guest build. Changing them changes every build id. */
export const PINNED_ASC_OPTIONS = [
  "--runtime",
  "incremental",
  "--exportRuntime",
  "--exportTable",
  "--debug", // keeps the name section: functions match across versions by name
  "--noColors",
] as const;

export interface AsCompileResult {
  wasm: Uint8Array;
  /** Prefix of the entry file's own function and global names, e.g. `v1/`. */
  namePrefix: string;
}

/**
 * `memoryBase` moves all static data; the patch builder compiles a second time
 * at another base to tell pointers from plain numbers (see static-data.ts).
 * With `cache`, a compile whose inputs (the entry file and every file it
 * reads, engine/build-cache/inputs.ts) are unchanged is read back instead of
 * run; the bytes are the same either way, since asc is deterministic.
 */
export async function compileAssemblyScript(sourcePath: string, memoryBase = MEMORY_BASE, cache?: BuildCache): Promise<AsCompileResult> {
  const entry = basename(resolve(sourcePath));
  const namePrefix = `${entry.slice(0, entry.length - extname(entry).length)}/`;
  const options = ["--memoryBase", String(memoryBase), ...PINNED_ASC_OPTIONS];
  const keyOf = (digest: string) => cacheKey("asc", { digest, options });
  const known = cache && sourceInputsDigest(cache, sourcePath);
  const hit = known ? cache.get(keyOf(known)) : undefined;
  if (hit) return { wasm: hit, namePrefix };
  const reads: SourceRead[] = [];
  const wasm = await runAsc(sourcePath, options, reads);
  if (cache) cache.put(keyOf(recordSourceInputs(cache, sourcePath, reads)), wasm);
  return { wasm, namePrefix };
}

/**
 * Runs asc on one entry file with the given options, in memory: the file's
 * folder is the base folder, so names do not depend on the caller's path.
 * Also used by benchmarks for plain (uninstrumented) builds. `reads`, if
 * given, receives every file asc asked for, with what it got (null: missing).
 */
export async function runAsc(sourcePath: string, options: readonly string[], reads?: SourceRead[]): Promise<Uint8Array> {
  const absolute = resolve(sourcePath);
  const { default: asc } = await import("assemblyscript/asc");
  let wasm: Uint8Array | undefined;
  let diagnostics = "";
  const sink = {
    write(chunk: string | Uint8Array) {
      diagnostics += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    },
  };
  const { error } = await asc.main([basename(absolute), "--baseDir", dirname(absolute), "--outFile", "out.wasm", ...options], {
    stdout: sink as never,
    stderr: sink as never,
    readFile: async (name: string, dir: string) => {
      const path = resolve(dir, name);
      const content = await readFile(path, "utf8").catch(() => null);
      reads?.push({ path, content });
      return content;
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = new Uint8Array(contents);
    },
    listFiles: () => [],
  } as never);
  if (error || !wasm) {
    const reason = (error?.message ?? "no output") + (diagnostics ? `\n${diagnostics.trim()}` : "");
    throw new HotpatchError("E_BUILD", `AssemblyScript compilation failed: ${reason}`, { path: sourcePath });
  }
  return wasm;
}
