/**
 * The source files a compile read, remembered so that a later run can tell,
 * without compiling, whether an entry file and everything it imports are
 * unchanged: their digest then names the cached product.
 *
 * A record is stored under the entry file's name and content; it lists every
 * file the compiler asked for, relative to the entry's folder, with the hash
 * of its content, or null for a file it looked for that did not exist (a
 * file appearing there could change what an import resolves to). The digest
 * is a hash of that list, so it changes with any input's content.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import type { BuildCache } from "./store.ts";
import { sha256 } from "./store.ts";
import { cacheKey } from "./toolchain.ts";

/** One file a compile asked for: its path and content, or null if it did not exist. */
export interface SourceRead {
  path: string;
  content: string | Uint8Array | null;
}

type Listing = [name: string, hash: string | null][];

const hashOf = (content: string | Uint8Array | null) => (content === null ? null : sha256(content).toString("hex"));
const recordKey = (entry: string, content: string | Uint8Array) => cacheKey("source-inputs", { entry: basename(entry), content: hashOf(content) });
const digestOf = (entry: string, listing: Listing) => cacheKey("source-digest", { entry: basename(entry), listing });

/** Remembers what a compile of `entry` read; returns the digest of those inputs. */
export function recordSourceInputs(cache: BuildCache, entry: string, reads: readonly SourceRead[]): string {
  const folder = dirname(resolve(entry));
  const byName = new Map(reads.map((r) => [relative(folder, resolve(r.path)), hashOf(r.content)] as const));
  const listing: Listing = [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const own = reads.find((r) => resolve(r.path) === resolve(entry))?.content ?? readOrNull(entry);
  if (own !== null) cache.put(recordKey(entry, own), new TextEncoder().encode(JSON.stringify(listing)));
  return digestOf(entry, listing);
}

/**
 * The digest of `entry`'s inputs as they are now, if a compile of this very
 * entry content was recorded and every file it read is still as it was (and
 * every file it missed still missing); undefined otherwise.
 */
export function sourceInputsDigest(cache: BuildCache, entry: string): string | undefined {
  const own = readOrNull(entry);
  if (own === null) return undefined;
  const record = cache.get(recordKey(entry, own));
  if (!record) return undefined;
  let listing: Listing;
  try {
    listing = JSON.parse(new TextDecoder().decode(record));
  } catch {
    return undefined;
  }
  const folder = dirname(resolve(entry));
  const unchanged = listing.every(([name, hash]) => hashOf(readOrNull(resolve(folder, name))) === hash);
  return unchanged ? digestOf(entry, listing) : undefined;
}

function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}
