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

/**
 * State migrations (docs/loader-and-consistency.md#state-migrations). In a
 * target's source: the migration and its reverse are exported functions of
 * these reserved names, `() => void`; a global named OLD_STATE_PREFIX + key
 * reads (and, in the reverse, writes) the running process's global `key`
 * — the old state — whatever the target calls its own global of that key.
 */
export const MIGRATE_FUNCTION = "__hotpatch_migrate";
export const UNMIGRATE_FUNCTION = "__hotpatch_unmigrate";
export const OLD_STATE_PREFIX = "__hotpatch_old_";

/** The code page's exports of the migration and its reverse. */
export const MIGRATE_EXPORT = "migrate";
export const UNMIGRATE_EXPORT = "unmigrate";

/** Import name (module `patch`) of the cell that holds the patch's new or retyped mutable global `key`. */
export const cellImport = (key: string) => `cell:${key}`;

export function parseCellImport(name: string): string | undefined {
  return name.startsWith("cell:") ? name.slice("cell:".length) : undefined;
}

/** Import name (module `patch`) of the migration's fuel counter (mutable i32): each loop iteration takes one unit; at zero it traps. */
export const FUEL_IMPORT = "fuel";

/** The budget of one migration run, in loop iterations (measured in docs/loader-and-consistency.md#state-migrations). */
export const MIGRATION_FUEL = 1_000_000;
