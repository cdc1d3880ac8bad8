/**
 * Canonical JSON: the one byte form of a manifest, so that equal manifests
 * give equal bytes (and equal signatures) whatever their key order.
 *
 * Contract: object keys sorted by UTF-16 code units at every depth, no
 * whitespace; object properties that are undefined are left out, as
 * JSON.stringify does. Anything JSON cannot represent exactly is refused with
 * E_FORMAT naming the offending value's path from the root `$` (e.g.
 * "cannot write canonical JSON: $.functions[0].slot is NaN"), never silently
 * changed.
 */
import { HotpatchError } from "../errors.ts";

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no
 * whitespace, so equal values give equal bytes whatever their key order.
 * Object properties that are undefined are left out, as JSON.stringify does;
 * anything JSON cannot represent exactly (NaN, Infinity, bigint, functions,
 * undefined array items, class instances such as Date or Uint8Array, cycles)
 * is refused with E_FORMAT rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, "$", new Set());
}

function canonical(value: unknown, path: string, open: Set<object>): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw canonicalError(path, `is ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value !== "object") throw canonicalError(path, `is a ${typeof value}`);
  if (open.has(value)) throw canonicalError(path, "is a cycle");
  open.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item, i) => canonical(item, `${path}[${i}]`, open)).join(",")}]`;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw canonicalError(path, `is a ${proto?.constructor?.name ?? "non-plain object"}`);
    }
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      if (record[key] === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${canonical(record[key], `${path}.${key}`, open)}`);
    }
    text = `{${parts.join(",")}}`;
  }
  open.delete(value);
  return text;
}

function canonicalError(path: string, what: string): HotpatchError {
  return new HotpatchError("E_FORMAT", `cannot write canonical JSON: ${path} ${what}`);
}
