/**
 * The manifest of a `.hpk` patch package: its types and `validateManifest`.
 *
 * Contract: the manifest is the package's only description of itself, and
 * it is believed only after the container was decoded and its signature
 * verified (package.ts); `validateManifest` then checks every field. A
 * refusal is E_FORMAT and names the first offending field by its path, e.g.
 * "manifest.functions[2].slot must be a non-negative integer", with the
 * manifest's `id` as the error's `patch` context once the id is known (made
 * printable and short while it is not yet validated). Unknown fields are
 * allowed, for forward compatibility.
 */
import { type ErrorContext, HotpatchError } from "../errors.ts";
import { type PatchCallbacks, type StateVersion, validateCallbacksAndStates } from "./callbacks-and-states.ts";

/** The largest u32: table indices, sizes and offsets in a package. */
export const MAX_U32 = 0xffffffff;

export interface FunctionReplacement {
  /** Stable name of the replaced function in the image. */
  key: string;
  /** Index of the function's slot in the image's funcref table. */
  slot: number;
  /** As written by `formatSignature`, e.g. "(i32,i32)->i32". */
  signature: string;
  oldFingerprint: string;
  newFingerprint: string;
  /** Name of the code module's export that replaces the function. */
  export: string;
}

export interface PatchManifest {
  format: 1;
  /** e.g. "KB5036001" */
  id: string;
  title: string;
  classification: string;
  kind: "hotpatch";
  target: { buildId: string };
  functions: FunctionReplacement[];
  helpers: string[];
  /**
   * Installed hotpatches this one replaces in one swap. Absent: every
   * hotpatch of the same target build with a lower KB number (cumulative).
   * Empty: none (the patch stacks per function).
   */
  supersedes?: string[];
  /** New static objects, carried in the code page's `hotpatch.data` custom section. */
  data?: PatchData;
  /**
   * The code page's caller table (`patch.callers`): entry i calls slot
   * `callers[i].slot`, whose signature must be `callers[i].signature`. Absent
   * when the code page calls no other slot.
   */
  callers?: CallerEntry[];
  /** Pre/post (un)patch callbacks, carried by the code page (callbacks-and-states.ts). */
  callbacks?: PatchCallbacks;
  /** State versions (livepatch's klp_state): the states the patch introduces or takes over, `{ id, version }` (callbacks-and-states.ts). Not `state`. */
  states?: StateVersion[];
  /** The state the patch owns (cells, buffers) and its migration (docs/loader-and-consistency.md#state-migrations). Not `states`. */
  state?: PatchState;
}

/** A value type a state cell can have. */
export type CellType = "i32" | "i64" | "f32" | "f64";

export interface StateCell {
  /** The global's key in the target; the code page imports it as `patch.cell:<key>`. */
  key: string;
  type: CellType;
  /** The target's initial value, in decimal (i64 as a decimal string too): the cell's value before the migration runs. */
  init: string;
}

export interface PatchState {
  /** New or retyped mutable globals: cells the loader creates and the patch owns. */
  cells: StateCell[];
  /** New zero-filled static objects (`object`: an index into `data.objects`) that hold state; a superseding patch takes them over. */
  buffers: { object: number; size: number }[];
  /** The code page's export of the migration; runs once, at the switch. */
  migrate: string;
  /** The code page's export of the reverse migration; without one the patch cannot be reverted (E_IRREVERSIBLE). */
  unmigrate?: string;
}

export interface CallerEntry {
  slot: number;
  signature: string;
}

export interface PatchData {
  /** Size of the blob in bytes. */
  size: number;
  /** Offset of each new object in the blob (objects are numbered in this order). */
  objects: number[];
  /** Blob words to set, when placed, to (address of new object `object`) + `offset`. */
  relocations: { at: number; object: number; offset: number }[];
}

/** A malformed package or manifest: E_FORMAT with the reason. */
export function formatError(reason: string, context: ErrorContext = {}): HotpatchError {
  return new HotpatchError("E_FORMAT", reason, context);
}

/** The manifest's `id` for error messages, if it is a string; unverified, so made printable and short. */
export function patchIdOf(manifest: Record<string, unknown> | PatchManifest): string | undefined {
  const id = (manifest as Record<string, unknown>).id;
  if (typeof id !== "string" || id.length === 0) return undefined;
  const printable = id.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 64 ? `${printable.slice(0, 64)}...` : printable;
}

const VALTYPE = "(?:i32|i64|f32|f64|v128|funcref|externref)";
/** The shapes `formatSignature` writes: `(a,b)->r`, `(a)->()`, `()->(r,s)`. */
const SIGNATURE_PATTERN = new RegExp(`^\\((?:${VALTYPE}(?:,${VALTYPE})*)?\\)->(?:${VALTYPE}|\\(\\)|\\(${VALTYPE}(?:,${VALTYPE})+\\))$`);
const PATCH_ID_PATTERN = /^KB\d+$/;

type Fields = Record<string, unknown>;

function validateData(data: unknown, fail: (field: string, rule: string) => never): void {
  const isIndex = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_U32;
  if (!isObject(data)) fail("data", "must be an object");
  const d = data as Fields;
  if (!isIndex(d.size)) fail("data.size", "must be a non-negative integer");
  if (!Array.isArray(d.objects) || !d.objects.every((o) => isIndex(o) && (o as number) < (d.size as number))) {
    fail("data.objects", "must be a list of offsets inside the data");
  }
  if (!Array.isArray(d.relocations)) fail("data.relocations", "must be an array");
  (d.relocations as unknown[]).forEach((r, i) => {
    const rel = r as Fields;
    if (!isObject(r) || !isIndex(rel.at) || (rel.at as number) + 4 > (d.size as number)) fail(`data.relocations[${i}].at`, "must be a word inside the data");
    if (!isIndex(rel.object) || (rel.object as number) >= (d.objects as unknown[]).length) fail(`data.relocations[${i}].object`, "must name a new object");
    if (!isIndex(rel.offset)) fail(`data.relocations[${i}].offset`, "must be a non-negative integer");
  });
}

const CELL_TYPES = new Set(["i32", "i64", "f32", "f64"]);

function validateState(state: unknown, objects: number, fail: (field: string, rule: string) => never): void {
  if (!isObject(state)) fail("state", "must be an object");
  const st = state as Fields;
  if (!Array.isArray(st.cells)) fail("state.cells", "must be an array");
  const keys = new Set<string>();
  (st.cells as unknown[]).forEach((c, i) => {
    const cell = c as Fields;
    if (!isObject(c) || typeof cell.key !== "string" || cell.key === "") fail(`state.cells[${i}].key`, "must be a non-empty string");
    if (keys.has(cell.key as string)) fail(`state.cells[${i}].key`, `repeats the cell ${cell.key}`);
    keys.add(cell.key as string);
    if (!CELL_TYPES.has(cell.type as string)) fail(`state.cells[${i}].type`, "must be i32, i64, f32 or f64");
    if (typeof cell.init !== "string" || !/^-?(\d+(\.\d+)?(e[-+]?\d+)?|NaN|Infinity)$/.test(cell.init)) fail(`state.cells[${i}].init`, "must be a decimal number");
  });
  const isBuffer = (b: unknown) => isObject(b) && Number.isInteger(b.object) && (b.object as number) >= 0 && (b.object as number) < objects && Number.isInteger(b.size) && (b.size as number) > 0;
  if (!Array.isArray(st.buffers) || !st.buffers.every(isBuffer)) fail("state.buffers", "must be a list of new objects of the data, with their sizes");
  if (typeof st.migrate !== "string" || st.migrate === "") fail("state.migrate", "must be a non-empty string");
  if (st.unmigrate !== undefined && (typeof st.unmigrate !== "string" || st.unmigrate === "")) fail("state.unmigrate", "must be a non-empty string");
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Checks every field of a manifest and returns it, typed (the same object,
 * extra fields kept: unknown fields are allowed for forward compatibility).
 * E_FORMAT names the first offending field, e.g.
 * "manifest.functions[2].slot must be a non-negative integer". Slots and keys
 * must be unique within a patch.
 */
export function validateManifest(value: unknown): PatchManifest {
  if (!isObject(value)) throw formatError("manifest must be a JSON object");
  const context: ErrorContext = {};
  const fail = (field: string, rule: string): never => {
    throw formatError(`manifest.${field} ${rule}`, context);
  };
  const nonEmptyString = (object: Fields, field: string, path: string): void => {
    if (typeof object[field] !== "string" || object[field] === "") fail(path, "must be a non-empty string");
  };

  if (typeof value.id !== "string" || !PATCH_ID_PATTERN.test(value.id)) {
    context.patch = patchIdOf(value);
    fail("id", "must be a string of the form KB<digits>, e.g. KB5036001");
  }
  context.patch = value.id as string;
  if (value.format !== 1) fail("format", `must be 1${typeof value.format === "number" ? ` (found ${value.format})` : ""}`);
  nonEmptyString(value, "title", "title");
  nonEmptyString(value, "classification", "classification");
  if (value.kind !== "hotpatch") fail("kind", 'must be "hotpatch"');
  if (!isObject(value.target)) fail("target", "must be an object");
  nonEmptyString(value.target as Fields, "buildId", "target.buildId");

  if (!Array.isArray(value.functions)) fail("functions", "must be an array");
  const slots = new Map<number, number>();
  const keys = new Map<string, number>();
  (value.functions as unknown[]).forEach((entry, i) => {
    const at = `functions[${i}]`;
    if (!isObject(entry)) fail(at, "must be an object");
    const fn = entry as Fields;
    nonEmptyString(fn, "key", `${at}.key`);
    const slot = fn.slot;
    if (typeof slot !== "number" || !Number.isInteger(slot) || slot < 0) fail(`${at}.slot`, "must be a non-negative integer");
    if ((slot as number) > MAX_U32) fail(`${at}.slot`, "must be below 2^32 (it is a table index)");
    if (typeof fn.signature !== "string" || !SIGNATURE_PATTERN.test(fn.signature)) {
      fail(`${at}.signature`, 'must be a signature such as "(i32,i32)->i32" or "(i32)->()"');
    }
    nonEmptyString(fn, "oldFingerprint", `${at}.oldFingerprint`);
    nonEmptyString(fn, "newFingerprint", `${at}.newFingerprint`);
    nonEmptyString(fn, "export", `${at}.export`);
    const slotOwner = slots.get(slot as number);
    if (slotOwner !== undefined) fail(`${at}.slot`, `repeats slot ${slot} of functions[${slotOwner}]`);
    slots.set(slot as number, i);
    const keyOwner = keys.get(fn.key as string);
    if (keyOwner !== undefined) fail(`${at}.key`, `repeats key "${fn.key}" of functions[${keyOwner}]`);
    keys.set(fn.key as string, i);
  });

  if (value.supersedes !== undefined) {
    if (!Array.isArray(value.supersedes)) fail("supersedes", "must be an array of KB ids");
    (value.supersedes as unknown[]).forEach((id, i) => {
      if (typeof id !== "string" || !PATCH_ID_PATTERN.test(id)) fail(`supersedes[${i}]`, "must be a KB id such as KB5036001");
    });
  }
  if (value.data !== undefined) validateData(value.data, fail);
  if (value.callers !== undefined) {
    if (!Array.isArray(value.callers)) fail("callers", "must be an array");
    (value.callers as unknown[]).forEach((entry, i) => {
      const at = `callers[${i}]`;
      if (!isObject(entry)) fail(at, "must be an object");
      const { slot, signature } = entry as Fields;
      if (typeof slot !== "number" || !Number.isInteger(slot) || slot < 0 || slot > MAX_U32) fail(`${at}.slot`, "must be a table index");
      if (typeof signature !== "string" || !SIGNATURE_PATTERN.test(signature)) fail(`${at}.signature`, 'must be a signature such as "(i32)->()"');
    });
  }
  validateCallbacksAndStates(value, fail);
  if (value.state !== undefined) validateState(value.state, ((value.data as Fields | undefined)?.objects as unknown[] | undefined)?.length ?? 0, fail);
  if (!Array.isArray(value.helpers)) fail("helpers", "must be an array");
  (value.helpers as unknown[]).forEach((helper, i) => {
    if (typeof helper !== "string" || helper === "") fail(`helpers[${i}]`, "must be a non-empty string");
  });
  return value as unknown as PatchManifest;
}
