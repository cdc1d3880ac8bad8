/**
 * The builder's side of callbacks and states (engine/patch/callbacks-and-states.ts).
 *
 * Order, within buildPatch: the reserved callback exports are taken out of
 * both link maps before classification (`withoutCallbackExports`: a callback
 * is not a change of the process's exports), then out of the changes
 * (`splitCallbacks`: a callback is carried by the code page under its
 * reserved name, never written into a slot), then the directives of the
 * target source are read (`readDirectives`) and, with the callbacks, become
 * the manifest's `callbacks` and `states` (`callbackFields`). Every refusal is
 * E_BUILD naming the target (and line): a callback of the wrong signature, a
 * malformed or repeated directive, veto messages without a pre-patch callback.
 */
import { readFileSync } from "node:fs";
import { HotpatchError } from "../errors.ts";
import { redirectFlagName } from "../format/index.ts";
import type { LinkMap } from "../image/index.ts";
import { CALLBACK_EXPORTS, CALLBACK_NAMES, CALLBACK_SIGNATURES, type CallbackName, type PatchCallbacks, type StateVersion, STATE_ID_PATTERN } from "../patch/index.ts";
import type { FunctionChange } from "./classify.ts";

/** A callback of the target: which one, and the function (key, slot in the target build) behind it. */
export interface TargetCallback {
  name: CallbackName;
  key: string;
  slot: number;
  /** The code page's export of it: the reserved name itself. */
  export: string;
}

/** What `// @hotpatch-veto` and `// @hotpatch-state` lines of the target say. */
export interface Directives {
  vetoes: { code: number; message: string }[];
  states: StateVersion[];
}

const RESERVED = new Set<string>(Object.values(CALLBACK_EXPORTS));
const NAME_OF = new Map(CALLBACK_NAMES.map((name) => [CALLBACK_EXPORTS[name] as string, name]));

/**
 * The link map without the reserved callback exports and, in inline mode, the
 * redirect flags of their host entries: adding, changing or dropping a
 * callback is no change of the process's exports or globals.
 */
export function withoutCallbackExports(linkMap: LinkMap): LinkMap {
  const reserved = linkMap.exports.filter((e) => RESERVED.has(e.name));
  if (reserved.length === 0) return linkMap;
  const keys = new Set(reserved.map((e) => e.value));
  const flags = new Set(linkMap.functions.filter((f) => keys.has(f.key)).map((f) => redirectFlagName(f.slot)));
  return { ...linkMap, exports: linkMap.exports.filter((e) => !RESERVED.has(e.name)), globals: linkMap.globals.filter((g) => !flags.has(g.key)) };
}

/** Splits the target's callbacks off the changes (they keep their slot in the target build only to be cut from it). */
export function splitCallbacks(target: LinkMap, changes: FunctionChange[], path: string): { changes: FunctionChange[]; callbacks: TargetCallback[] } {
  const byKey = new Map(target.functions.map((f) => [f.key, f]));
  const callbacks: TargetCallback[] = [];
  for (const e of target.exports) {
    const name = NAME_OF.get(e.name);
    if (name === undefined || e.kind !== "function") continue;
    const fn = byKey.get(e.value);
    if (!fn) throw new HotpatchError("E_BUILD", `internal: the callback export ${e.name} has no function in the target build`, { path });
    if (fn.signature !== CALLBACK_SIGNATURES[name]) {
      throw new HotpatchError("E_BUILD", `the callback ${e.name} must have signature ${CALLBACK_SIGNATURES[name]}, not ${fn.signature}`, { path });
    }
    callbacks.push({ name, key: fn.key, slot: fn.slot, export: e.name });
  }
  const keys = new Set(callbacks.map((c) => c.key));
  return { changes: changes.filter((c) => !keys.has(c.key)), callbacks: callbacks.sort((a, b) => a.slot - b.slot) };
}

/** What the target build exports for its callbacks: the callbacks, and in inline mode their host entries' redirect flags (dropped before the code page is cut). */
export function callbackExports(callbacks: readonly TargetCallback[]): string[] {
  return callbacks.flatMap((c) => [c.export, redirectFlagName(c.slot)]);
}

const VETO = /^\s*\/\/\s*@hotpatch-veto\s+(.*)$/;
const VETO_BODY = /^(-?\d+)\s*:\s*(\S.*?)\s*$/;
const STATE = /^\s*\/\/\s*@hotpatch-state\s+(.*)$/;
const STATE_BODY = /^([^\s:]+):(\d+)\s*$/;

/** Reads the directives of an AssemblyScript target (none for a `.wasm`). */
export function readDirectives(path: string): Directives {
  const directives: Directives = { vetoes: [], states: [] };
  if (!path.endsWith(".ts")) return directives;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((line, i) => {
    const refuse = (reason: string): never => {
      throw new HotpatchError("E_BUILD", `line ${i + 1}: ${reason}`, { path });
    };
    const veto = VETO.exec(line);
    if (veto) {
      const m = VETO_BODY.exec(veto[1]) ?? refuse('a veto directive reads "// @hotpatch-veto <non-zero i32>: <message>"');
      const code = Number(m[1]);
      if (code === 0 || code !== (code | 0)) refuse(`veto code ${m[1]} must be a non-zero i32 (0 lets the patch go on)`);
      if (directives.vetoes.some((v) => v.code === code)) refuse(`veto code ${code} is declared twice`);
      directives.vetoes.push({ code, message: m[2] });
    }
    const state = STATE.exec(line);
    if (state) {
      const m = STATE_BODY.exec(state[1]) ?? refuse('a state directive reads "// @hotpatch-state <id>:<version>"');
      if (!STATE_ID_PATTERN.test(m[1])) refuse(`state id ${m[1]} must be 1–64 letters, digits, '.', '_' or '-'`);
      const version = Number(m[2]);
      if (version > 0xffffffff) refuse(`state ${m[1]}: version ${m[2]} must fit in a u32`);
      if (directives.states.some((s) => s.id === m[1])) refuse(`state ${m[1]} is declared twice`);
      directives.states.push({ id: m[1], version });
    }
  });
  return directives;
}

/** The manifest's `callbacks` and `states` fields (absent when empty), in a deterministic order. */
export function callbackFields(callbacks: readonly TargetCallback[], directives: Directives, path: string): { callbacks?: PatchCallbacks; states?: StateVersion[] } {
  const fields: { callbacks?: PatchCallbacks; states?: StateVersion[] } = {};
  if (directives.vetoes.length > 0 && !callbacks.some((c) => c.name === "prePatch")) {
    throw new HotpatchError("E_BUILD", `the target declares veto messages but no ${CALLBACK_EXPORTS.prePatch} callback`, { path });
  }
  if (callbacks.length > 0) {
    const named: PatchCallbacks = {};
    for (const name of CALLBACK_NAMES) {
      const callback = callbacks.find((c) => c.name === name);
      if (callback) named[name] = callback.export;
    }
    if (directives.vetoes.length > 0) named.vetoes = [...directives.vetoes].sort((a, b) => a.code - b.code);
    fields.callbacks = named;
  }
  if (directives.states.length > 0) fields.states = directives.states;
  return fields;
}
