/**
 * Names shared by code pages (built by codepage.ts and relocate.ts, which
 * need binaryen) and the loader that links them (which must not load
 * binaryen: a worker thread would spend seconds importing it).
 */

/** Custom section of a code page that carries its new static objects. */
export const DATA_SECTION = "hotpatch.data";

/** Import module of what the loader provides per patch: the addresses of its new static objects and its caller table. */
export const NEW_OBJECT_MODULE = "patch";

/** Import name (module `patch`) of a code page's caller table: entry i calls the slot in the manifest's `callers[i]`. */
export const CALLERS_IMPORT = "callers";

/** Import name of the address of new object `index` (+ `offset`), e.g. `obj3` or `obj3+20`. */
export const newObjectImport = (index: number, offset = 0) => (offset === 0 ? `obj${index}` : `obj${index}+${offset}`);

export function parseNewObjectImport(name: string): { object: number; offset: number } | undefined {
  const m = /^obj(\d+)(?:\+(\d+))?$/.exec(name);
  return m ? { object: Number(m[1]), offset: Number(m[2] ?? 0) } : undefined;
}

/** Name, in the process's `hotpatch` namespace (GuestProcess.codePageImports), of the image's caller of slot `k`; the image exports it as `hotpatch:` + this name (instrument.ts). */
export const slotCallerName = (slot: number) => `call:${slot}`;

/**
 * Global (and key) of an image's redirect flag for slot `k` (image mode
 * `inline`, engine/wasm/instrument.ts "Entries"): 1 while the slot holds
 * anything but the image's own function. Set by the loader with every swap.
 */
export const redirectFlagName = (slot: number) => `hotpatch:redirect:${slot}`;
