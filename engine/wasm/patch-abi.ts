/**
 * Names shared by code pages (built by codepage.ts and relocate.ts, which
 * need binaryen) and the loader that links them (which must not load
 * binaryen: a worker thread would spend seconds importing it).
 */

/** Custom section of a code page that carries its new static objects. */
export const DATA_SECTION = "hotpatch.data";

/** Import module of the addresses of a patch's new static objects. */
export const NEW_OBJECT_MODULE = "patch";

/** Import name of the address of new object `index` (+ `offset`), e.g. `obj3` or `obj3+20`. */
export const newObjectImport = (index: number, offset = 0) => (offset === 0 ? `obj${index}` : `obj${index}+${offset}`);

export function parseNewObjectImport(name: string): { object: number; offset: number } | undefined {
  const m = /^obj(\d+)(?:\+(\d+))?$/.exec(name);
  return m ? { object: Number(m[1]), offset: Number(m[2] ?? 0) } : undefined;
}
