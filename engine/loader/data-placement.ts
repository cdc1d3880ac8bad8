/**
 * Placing a patch's new static objects in the process's patch arena.
 *
 * The blob travels in the code page's `hotpatch.data` custom section; the
 * manifest says where each object starts and which words point at new
 * objects. Placement reserves a block, copies the blob, fixes those words,
 * and returns the `patch.obj<k>[+offset]` globals the code page imports (the
 * objects' addresses). Removal zeroes the block and returns it to the arena, leaving
 * memory as it was before placement.
 */
import { HotpatchError } from "../errors.ts";
import type { PatchManifest } from "../patch/index.ts";
import type { GuestProcess } from "../process/index.ts";
import { DATA_SECTION, NEW_OBJECT_MODULE, parseNewObjectImport } from "../format/index.ts";
import type { PatchArena } from "./arena.ts";

export const DATA_IMPORT_MODULE = NEW_OBJECT_MODULE;

export interface PlacedData {
  at: number;
  size: number;
  /** The `patch` import namespace of the code page. */
  imports: WebAssembly.ModuleImports;
}

export function placeData(
  process: GuestProcess,
  arena: PatchArena | undefined,
  manifest: PatchManifest,
  code: WebAssembly.Module,
  importNames: string[],
): PlacedData | undefined {
  const data = manifest.data;
  if (!data || data.size === 0) return undefined;
  const patch = manifest.id;
  if (!arena) throw new HotpatchError("E_ARENA_FULL", "carries static data but the image has no patch arena (not an AssemblyScript image)", { patch });
  const sections = WebAssembly.Module.customSections(code, DATA_SECTION);
  const blob = sections.length === 1 ? new Uint8Array(sections[0]) : undefined;
  if (!blob || blob.length !== data.size) {
    throw new HotpatchError("E_FORMAT", `the code page's ${DATA_SECTION} section does not hold the ${data.size} bytes the manifest declares`, { patch });
  }
  // Keep each object's alignment modulo 16: the arena hands out 16-aligned blocks.
  const at = arena.allocate(data.size, patch);
  const bytes = blob.slice();
  const view = new DataView(bytes.buffer);
  for (const r of data.relocations) view.setUint32(r.at, at + data.objects[r.object] + r.offset, true);
  process.write(at, bytes);
  const imports: WebAssembly.ModuleImports = {};
  for (const name of importNames) {
    const ref = parseNewObjectImport(name);
    if (!ref || ref.object >= data.objects.length) continue; // the link check reports it
    imports[name] = new WebAssembly.Global({ value: "i32", mutable: false }, at + data.objects[ref.object] + ref.offset);
  }
  return { at, size: data.size, imports };
}

export function removeData(process: GuestProcess, arena: PatchArena | undefined, placed: PlacedData | undefined): void {
  if (!placed || !arena) return;
  process.zero(placed.at, placed.size);
  arena.release(placed.at, placed.size);
}
