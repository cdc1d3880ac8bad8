/**
 * The plain optimised build of a guest: asc -O3 through the asc JS API, with
 * the same runtime options as images (PINNED_ASC_OPTIONS without --debug,
 * which only adds names) and the same memory base, no instrumentation. The
 * cost-of-patchability suite compares an image against it.
 */
import { MEMORY_BASE, PINNED_ASC_OPTIONS, runAsc } from "../../engine/image/index.ts";

export const PLAIN_OPTIONS: readonly string[] = [...PINNED_ASC_OPTIONS.filter((o) => o !== "--debug"), "--memoryBase", String(MEMORY_BASE), "-O3"];

export function plainBuild(sourcePath: string): Promise<Uint8Array> {
  return runAsc(sourcePath, PLAIN_OPTIONS);
}
