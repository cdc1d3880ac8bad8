/**
 * Callbacks and states of a patch (livepatch's (un)patch callbacks and
 * klp_state): the reserved names a target declares them with, their manifest
 * fields, and the validation of those fields (called by validateManifest).
 *
 * A target source declares a callback by exporting a function of a reserved
 * name (`CALLBACK_EXPORTS`); the builder carries it in the code page under
 * that same export name and names it in `manifest.callbacks`. A pre-patch
 * callback returns 0 to go on or a veto code; the veto's message comes from
 * `callbacks.vetoes`, which the builder fills from `// @hotpatch-veto N:
 * message` lines of the target source. States come from `// @hotpatch-state
 * id:version` lines. The loader runs the callbacks (engine/loader/callbacks.ts)
 * and checks the states (engine/loader/patch-states.ts).
 */

/** Which callback, and the export of the target (and of the code page) that defines it. */
export const CALLBACK_EXPORTS = {
  prePatch: "__hotpatch_pre_patch",
  postPatch: "__hotpatch_post_patch",
  preUnpatch: "__hotpatch_pre_unpatch",
  postUnpatch: "__hotpatch_post_unpatch",
} as const;

export type CallbackName = keyof typeof CALLBACK_EXPORTS;

export const CALLBACK_NAMES = Object.keys(CALLBACK_EXPORTS) as CallbackName[];

/** The signature each callback must have (as `formatSignature` writes it): only pre-patch returns (its veto code). */
export const CALLBACK_SIGNATURES: Readonly<Record<CallbackName, string>> = {
  prePatch: "()->i32",
  postPatch: "()->()",
  preUnpatch: "()->()",
  postUnpatch: "()->()",
};

/** The message of a veto code a pre-patch callback may return. */
export interface VetoMessage {
  code: number;
  message: string;
}

/** `manifest.callbacks`: the code page's export of each callback the patch has, and the veto messages. */
export interface PatchCallbacks {
  prePatch?: string;
  postPatch?: string;
  preUnpatch?: string;
  postUnpatch?: string;
  /** Sorted by code; codes are non-zero i32 values. */
  vetoes?: VetoMessage[];
}

/** A state the patch introduces or takes over (klp_state): an id and a version that later patches may only raise. */
export interface StateVersion {
  id: string;
  version: number;
}

/** State ids: printable, short, no spaces or colons (`kvstore.audit-log`). */
export const STATE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

type Fields = Record<string, unknown>;
type Fail = (field: string, rule: string) => never;

const isObject = (value: unknown): value is Fields => value !== null && typeof value === "object" && !Array.isArray(value);
const isI32 = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;

/** Checks `manifest.callbacks` and `manifest.states`, if present (E_FORMAT through `fail`, naming the field). */
export function validateCallbacksAndStates(manifest: Fields, fail: Fail): void {
  if (manifest.callbacks !== undefined) validateCallbacks(manifest.callbacks, fail);
  if (manifest.states !== undefined) validateStates(manifest.states, fail);
}

function validateCallbacks(value: unknown, fail: Fail): void {
  if (!isObject(value)) fail("callbacks", "must be an object");
  const callbacks = value as Fields;
  for (const name of CALLBACK_NAMES) {
    const exportName = callbacks[name];
    if (exportName !== undefined && (typeof exportName !== "string" || exportName === "")) fail(`callbacks.${name}`, "must be the name of a code page export");
  }
  if (callbacks.vetoes === undefined) return;
  if (callbacks.prePatch === undefined) fail("callbacks.vetoes", "needs a prePatch callback");
  if (!Array.isArray(callbacks.vetoes)) fail("callbacks.vetoes", "must be an array");
  const codes = new Set<number>();
  (callbacks.vetoes as unknown[]).forEach((entry, i) => {
    const at = `callbacks.vetoes[${i}]`;
    if (!isObject(entry)) fail(at, "must be an object");
    const { code, message } = entry as Fields;
    if (!isI32(code) || code === 0) fail(`${at}.code`, "must be a non-zero i32");
    if (codes.has(code as number)) fail(`${at}.code`, `repeats code ${code}`);
    codes.add(code as number);
    if (typeof message !== "string" || message === "") fail(`${at}.message`, "must be a non-empty string");
  });
}

function validateStates(value: unknown, fail: Fail): void {
  if (!Array.isArray(value)) fail("states", "must be an array");
  const ids = new Set<string>();
  (value as unknown[]).forEach((entry, i) => {
    const at = `states[${i}]`;
    if (!isObject(entry)) fail(at, "must be an object");
    const { id, version } = entry as Fields;
    if (typeof id !== "string" || !STATE_ID_PATTERN.test(id)) fail(`${at}.id`, "must be a state id such as kvstore.audit-log");
    if (ids.has(id as string)) fail(`${at}.id`, `repeats state ${id}`);
    ids.add(id as string);
    if (typeof version !== "number" || !Number.isInteger(version) || version < 0 || version > 0xffffffff) fail(`${at}.version`, "must be a non-negative integer");
  });
}
