/**
 * Running a patch's migration (docs/loader-and-consistency.md#state-migrations).
 *
 * `rehearseMigration` (prepare, requests may still run): the code page is
 * instantiated a second time, against a scratch copy of the process — its
 * memory copied, every global it imports copied, tables empty, functions that
 * throw — and the migration runs there with the full budget (MIGRATION_FUEL
 * loop iterations, counted by the fuel meter the builder put into its loops).
 * E_MIGRATION when it traps, runs out of fuel, or writes anything but its new
 * state (the patch's cells and its block of the arena); the scratch instance
 * is dropped and the process has not changed.
 * `migrateAtSwitch` (commit, at the safe point, right before the swap, in the
 * same synchronous step): the real run, on the real instance, with the same
 * budget; then the taken-over cells get their values back and taken-over
 * buffers their bytes. A failure there throws E_MIGRATION and commit discards
 * the switch (cells and arena block are the patch's own: nothing else changed).
 */
import { HotpatchError } from "../errors.ts";
import { MIGRATE_EXPORT, MIGRATION_FUEL, type ModuleImport, UNMIGRATE_EXPORT } from "../format/index.ts";
import type { GuestProcess } from "../process/index.ts";
import type { PlacedData } from "./data-placement.ts";
import type { LinkedState } from "./patch-state.ts";
import type { StagedPatch } from "./stage.ts";

export type MigrationKind = "migrate" | "unmigrate";

/** Runs the migration on a scratch copy of the process; throws E_MIGRATION, changing nothing. */
export function rehearseMigration(process: GuestProcess, staged: StagedPatch, state: LinkedState, data: PlacedData | undefined, kind: MigrationKind): void {
  const scratch = scratchImports(staged.imports, state.imports);
  const instance = new WebAssembly.Instance(staged.code, scratch.imports);
  const fn = instance.exports[kind === "migrate" ? MIGRATE_EXPORT : UNMIGRATE_EXPORT] as () => void;
  const fuel = scratch.fuel ?? state.fuel;
  for (const copy of state.copies) scratch.memory?.set(scratch.memory.subarray(copy.from, copy.from + copy.size), copy.to);
  run(fn, fuel, staged.id, kind, "on the scratch copy");
  if (kind === "unmigrate" || !scratch.memory) return; // the reverse writes the old state: that is its job
  const written = process.memory ? firstWriteOutside(new Uint8Array(process.memory.buffer), scratch.memory, data) : undefined;
  if (written !== undefined) {
    throw new HotpatchError("E_MIGRATION", `the migration writes memory at 0x${written.toString(16)}, outside the patch's new state: it may write only its cells and new buffers`, { patch: staged.id });
  }
  for (const [name, [original, copy]] of scratch.globals) {
    if (Object.is(original.value, copy.value)) continue;
    const key = process.linkMap.globals.find((g) => g.export === `hotpatch:${name}`)?.key ?? name;
    throw new HotpatchError("E_MIGRATION", `the migration writes the running process's global ${key}: it may write only its cells and new buffers`, { patch: staged.id });
  }
}

/** The real run at the switch (see the file comment). */
export function migrateAtSwitch(state: LinkedState, process: GuestProcess, patch: string, kind: MigrationKind): void {
  const fn = kind === "migrate" ? state.migrate : state.unmigrate;
  const kept = state.taken.map((key) => [key, state.cells.get(key)?.value] as const);
  if (fn && !state.takenOver) {
    try {
      run(fn, state.fuel, patch, kind, "at the switch");
    } finally {
      for (const [key, value] of kept) (state.cells.get(key) as WebAssembly.Global).value = value;
    }
  }
  if (kind === "migrate" && state.copies.length > 0 && process.memory) {
    const memory = new Uint8Array(process.memory.buffer);
    for (const copy of state.copies) memory.copyWithin(copy.to, copy.from, copy.from + copy.size);
  }
}

function run(fn: () => void, fuel: WebAssembly.Global, patch: string, kind: MigrationKind, where: string): void {
  const what = kind === "migrate" ? "the migration" : "the reverse migration";
  if (typeof fn !== "function") throw new HotpatchError("E_MIGRATION", `the code page does not export ${what}`, { patch });
  fuel.value = MIGRATION_FUEL;
  try {
    fn();
  } catch (error) {
    const reason = fuel.value === 0 ? `exceeds its budget of ${MIGRATION_FUEL.toLocaleString("en-US")} loop iterations` : `traps (${(error as Error).message})`;
    throw new HotpatchError("E_MIGRATION", `${what} ${reason} ${where}; nothing changed`, { patch });
  }
}

interface Scratch {
  imports: WebAssembly.Imports;
  memory?: Uint8Array;
  fuel?: WebAssembly.Global;
  /** The process's globals the code page imports, with their scratch copies, by import name. */
  globals: Map<string, [WebAssembly.Global, WebAssembly.Global]>;
}

/** A copy of everything the code page imports: memory and globals copied, tables empty, functions that throw. */
function scratchImports(wanted: readonly ModuleImport[], real: WebAssembly.Imports): Scratch {
  const scratch: Scratch = { imports: {}, globals: new Map() };
  for (const imp of wanted) {
    const value = (real[imp.module] as Record<string, unknown> | undefined)?.[imp.name];
    if (!scratch.imports[imp.module]) scratch.imports[imp.module] = {};
    const namespace = scratch.imports[imp.module] as Record<string, unknown>;
    if (value instanceof WebAssembly.Memory) {
      const copy = new WebAssembly.Memory({ initial: value.buffer.byteLength / 65536, maximum: imp.limits?.max });
      scratch.memory = new Uint8Array(copy.buffer);
      scratch.memory.set(new Uint8Array(value.buffer));
      namespace[imp.name] = copy;
    } else if (value instanceof WebAssembly.Global) {
      const type = imp.global?.type as "i32" | "i64" | "f32" | "f64";
      const copy = new WebAssembly.Global({ value: type, mutable: imp.global?.mutable ?? false }, value.value);
      namespace[imp.name] = copy;
      if (imp.module === "patch" && imp.name === "fuel") scratch.fuel = copy;
      else if (imp.module !== "patch") scratch.globals.set(imp.name, [value, copy]);
    } else if (value instanceof WebAssembly.Table) {
      namespace[imp.name] = new WebAssembly.Table({ element: "anyfunc", initial: value.length, maximum: imp.limits?.max });
    } else {
      namespace[imp.name] = () => {
        throw new Error(`the migration called ${imp.module}.${imp.name}, which the scratch copy does not have`);
      };
    }
  }
  return scratch;
}

/** The first address where `after` differs from `before` outside the patch's block of the arena, if any. */
function firstWriteOutside(before: Uint8Array, after: Uint8Array, data: PlacedData | undefined): number | undefined {
  const ranges: [number, number][] = data ? [[0, data.at], [data.at + data.size, before.length]] : [[0, before.length]];
  for (const [start, end] of ranges) {
    if (Buffer.compare(before.subarray(start, end), after.subarray(start, end)) === 0) continue;
    for (let i = start; i < end; i++) if (before[i] !== after[i]) return i;
  }
  return undefined;
}

/**
 * What a switch that runs a reverse migration must be able to undo: a
 * reverse migration writes the process's old state (its globals and old
 * buffers) on purpose, so if a later step of the same switch fails (another
 * migration, the swap), those writes are taken back. The undo point is every
 * byte of memory and every mutable global the image exports, taken right
 * before the first step; only switches with an `unmigrate` step pay for it
 * (a copy of memory inside the pause).
 */
export function undoPoint(process: GuestProcess, steps: readonly { kind: MigrationKind }[]): (() => void) | undefined {
  if (!steps.some((s) => s.kind === "unmigrate")) return undefined;
  const memory = process.memory ? new Uint8Array(process.memory.buffer).slice() : undefined;
  const globals = process.linkMap.globals
    .filter((g) => g.mutable)
    .map((g) => process.instance.exports[g.export])
    .filter((g): g is WebAssembly.Global => g instanceof WebAssembly.Global)
    .map((g) => [g, g.value] as const);
  return () => {
    if (memory && process.memory) new Uint8Array(process.memory.buffer).set(memory);
    for (const [global, value] of globals) global.value = value;
  };
}
