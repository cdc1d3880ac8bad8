/**
 * A patch's own state (docs/loader-and-consistency.md#state-migrations): the
 * cells of its new and retyped mutable globals and its zero-filled buffers,
 * and how a patch that replaces another takes them over.
 *
 * Cells are WebAssembly globals the loader creates, the code page imports
 * them as `patch.cell:<key>`; a new cell starts at the target's initial value.
 * Takeover: an arriving patch reuses the very cell object of a leaving patch
 * with the same key and type (its value survives), and each of its buffers is
 * given the bytes of the leaving patch's buffer at the same position and of
 * the same size (copied at the switch, `copies`). A leaving patch is taken
 * over when all its cells and buffers are. Nothing here runs guest code.
 */
import { FUEL_IMPORT, cellImport } from "../format/index.ts";
import type { PatchManifest, PatchState, StateCell } from "../patch/index.ts";
import type { PlacedData } from "./data-placement.ts";

export interface LinkedState {
  cells: Map<string, WebAssembly.Global>;
  /** The migration's fuel counter (`patch.fuel`). */
  fuel: WebAssembly.Global;
  /** What the code page was instantiated with (the scratch run copies it) and its migration and reverse (set by link). */
  imports: WebAssembly.Imports;
  migrate?: () => void;
  unmigrate?: () => void;
  /** Keys of the cells taken over from a leaving patch (their values are kept across the migration). */
  taken: string[];
  /** Buffers taken over: bytes copied at the switch, after the migration. */
  copies: { from: number; to: number; size: number }[];
  /** Whether all of this patch's state was taken over from leaving patches: its migration then does not run. */
  takenOver: boolean;
}

/** What a leaving patch offers for takeover: its state description, cells and placed data. */
export interface StateSource {
  manifest: PatchManifest;
  state: LinkedState | undefined;
  data: PlacedData | undefined;
}

/** The cells (new or taken over) and fuel of a patch about to be linked; `copies` need its placed data (`planCopies`). */
export function newState(manifest: PatchManifest, from: readonly StateSource[]): LinkedState | undefined {
  const state = manifest.state;
  if (!state) return undefined;
  const cells = new Map<string, WebAssembly.Global>();
  const taken: string[] = [];
  for (const cell of state.cells) {
    const reused = takenCell(cell, from);
    if (reused) taken.push(cell.key);
    cells.set(cell.key, reused ?? freshCell(cell));
  }
  const fuel = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  return { cells, fuel, imports: {}, taken, copies: [], takenOver: false };
}

/** The `patch` imports of the state: the cells and the fuel counter. */
export function stateImports(state: LinkedState | undefined): WebAssembly.ModuleImports {
  if (!state) return {};
  const imports: WebAssembly.ModuleImports = { [FUEL_IMPORT]: state.fuel };
  for (const [key, cell] of state.cells) imports[cellImport(key)] = cell;
  return imports;
}

/**
 * The bytes of leaving patches' buffers that go into this patch's (same
 * position in `state.buffers`, same size), and whether all of its state is
 * then taken over (only when some leaving patch had state).
 */
export function planTakeover(state: LinkedState | undefined, manifest: PatchManifest, data: PlacedData | undefined, from: readonly StateSource[]): void {
  if (!state || !manifest.state) return;
  const buffers = manifest.state.buffers;
  state.takenOver = false;
  if (!from.some((source) => source.state !== undefined)) return;
  if (data && manifest.data) copyPlan(state, manifest, data, from);
  state.takenOver = state.taken.length === manifest.state.cells.length && state.copies.length === buffers.length;
}

function copyPlan(state: LinkedState, manifest: PatchManifest, data: PlacedData, from: readonly StateSource[]): void {
  manifest.state?.buffers.forEach((buffer, i) => {
    for (const source of from) {
      const theirs = source.manifest.state?.buffers[i];
      if (!theirs || theirs.size !== buffer.size || !source.data || !source.manifest.data) continue;
      const fromAt = source.data.at + source.manifest.data.objects[theirs.object];
      state.copies.push({ from: fromAt, to: data.at + (manifest.data?.objects[buffer.object] ?? 0), size: buffer.size });
      return;
    }
  });
}

/** Whether every cell and buffer of `source` has a place in the patch `by`. */
export function isTakenOverBy(source: StateSource, by: PatchManifest): boolean {
  const theirs: PatchState | undefined = source.manifest.state;
  const mine = by.state;
  if (!theirs) return true;
  if (!mine) return theirs.cells.length === 0 && theirs.buffers.length === 0 && theirs.unmigrate === undefined;
  const cellsFit = theirs.cells.every((c) => mine.cells.some((m) => m.key === c.key && m.type === c.type));
  const buffersFit = theirs.buffers.every((b, i) => mine.buffers[i]?.size === b.size);
  return cellsFit && buffersFit;
}

function takenCell(cell: StateCell, from: readonly StateSource[]): WebAssembly.Global | undefined {
  for (const source of from) {
    const same = source.manifest.state?.cells.some((c) => c.key === cell.key && c.type === cell.type);
    const global = source.state?.cells.get(cell.key);
    if (same && global) return global;
  }
  return undefined;
}

function freshCell(cell: StateCell): WebAssembly.Global {
  const value = cell.type === "i64" ? BigInt(cell.init) : Number(cell.init);
  return new WebAssembly.Global({ value: cell.type, mutable: true }, value as never);
}
