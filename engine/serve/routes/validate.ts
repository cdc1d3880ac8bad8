/**
 * Request bodies as ARM validates them: the shape first, then the values.
 * Every refusal is 400 InvalidParameter (or InvalidRequestContent for a body
 * that is not an object) naming the property as `target` (e.g.
 * `properties.osProfile.windowsConfiguration.patchSettings.patchMode`).
 * Strings are bounded (MAX_STRING), so a huge value is refused, not stored.
 * Unknown properties are ignored, as ARM ignores properties it does not know.
 */
import { ArmError, invalidParameter } from "../arm-error.ts";

export const MAX_STRING = 1024;
export const MAX_TAGS = 50;

export interface ArmQuery {
  "api-version"?: string;
  $expand?: string;
}

export type Json = Record<string, unknown>;

/** The body as an object; 400 InvalidRequestContent otherwise. */
export function readObject(body: unknown, name: string): Json {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ArmError(400, "InvalidRequestContent", `The request content was invalid and could not be deserialized: '${name}' must be a JSON object.`);
  }
  return body as Json;
}

/** A nested object, or undefined when absent (null counts as absent). */
export function optionalObject(parent: Json, key: string, path = key): Json | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw invalidParameter(`'${path}' must be an object.`, path);
  return value as Json;
}

export function optionalString(parent: Json, key: string, path = key): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameter(`'${path}' must be a string.`, path);
  if (value.length > MAX_STRING) throw invalidParameter(`'${path}' is longer than ${MAX_STRING} characters.`, path);
  return value;
}

export function requiredString(parent: Json, key: string, path = key): string {
  const value = optionalString(parent, key, path);
  if (value === undefined || value.trim() === "") throw invalidParameter(`Required parameter '${path}' is missing (null).`, path);
  return value;
}

export function optionalBoolean(parent: Json, key: string, path = key): boolean | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidParameter(`'${path}' must be a boolean.`, path);
  return value;
}

/** One of `allowed` (compared case-insensitively, returned as spelled in `allowed`). */
export function optionalEnum<T extends string>(parent: Json, key: string, allowed: readonly T[], path = key): T | undefined {
  const value = optionalString(parent, key, path);
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw invalidParameter(`'${path}' has the value '${value}'; allowed values are ${allowed.join(", ")}.`, path);
  return found;
}

export function optionalStringArray(parent: Json, key: string, path = key, maxItems = 100): string[] | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidParameter(`'${path}' must be an array of strings.`, path);
  if (value.length > maxItems) throw invalidParameter(`'${path}' has more than ${maxItems} items.`, path);
  return value.map((item, i) => {
    if (typeof item !== "string" || item.length > MAX_STRING) throw invalidParameter(`'${path}[${i}]' must be a string of at most ${MAX_STRING} characters.`, `${path}[${i}]`);
    return item;
  });
}

/** An array of anything (each item checked by the caller), or undefined when absent; at most `maxItems`. */
export function optionalArray(parent: Json, key: string, path = key, maxItems = 100): unknown[] | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidParameter(`'${path}' must be an array.`, path);
  if (value.length > maxItems) throw invalidParameter(`'${path}' has more than ${maxItems} items.`, path);
  return value;
}

/** ARM tags: at most 50, names ≤ 512 characters, values ≤ 256, all strings. */
export function optionalTags(parent: Json, key = "tags"): Record<string, string> | undefined {
  const tags = optionalObject(parent, key);
  if (tags === undefined) return undefined;
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw invalidParameter(`'${key}' has ${entries.length} tags; at most ${MAX_TAGS} are allowed.`, key);
  for (const [name, value] of entries) {
    if (name.length > 512) throw invalidParameter(`The tag name '${name.slice(0, 40)}…' is longer than 512 characters.`, `${key}.${name.slice(0, 40)}`);
    if (typeof value !== "string" || value.length > 256) throw invalidParameter(`The tag '${name}' must have a string value of at most 256 characters.`, `${key}.${name}`);
  }
  return tags as Record<string, string>;
}
