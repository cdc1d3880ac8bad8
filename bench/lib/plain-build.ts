/**
 * The plain optimised build of a guest: asc -O3 through the asc JS API, with
 * the same runtime options as images (PINNED_ASC_OPTIONS without --debug,
 * which only adds names) and the same memory base, no instrumentation. The
 * cost-of-patchability suite compares an image against it.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { MEMORY_BASE, PINNED_ASC_OPTIONS } from "../../engine/image/compile-as.ts";

export const PLAIN_OPTIONS: readonly string[] = [...PINNED_ASC_OPTIONS.filter((o) => o !== "--debug"), "--memoryBase", String(MEMORY_BASE), "-O3"];

export async function plainBuild(sourcePath: string): Promise<Uint8Array> {
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
  const { error } = await asc.main([basename(absolute), "--baseDir", dirname(absolute), "--outFile", "out.wasm", ...PLAIN_OPTIONS], {
    stdout: sink as never,
    stderr: sink as never,
    readFile: async (name: string, dir: string) => readFile(resolve(dir, name), "utf8").catch(() => null),
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = new Uint8Array(contents);
    },
    listFiles: () => [],
  } as never);
  if (error || !wasm) throw new Error(`plain build of ${sourcePath} failed: ${error?.message ?? "no output"} ${diagnostics}`);
  return wasm;
}
