/**
 * The build cache's store: bytes on disk under a key that is a hash of
 * everything that determined them (cacheKey, toolchain.ts).
 *
 * Contracts:
 * - An entry is never trusted: each file holds the SHA-256 of its payload
 *   before the payload, and `get` checks it; a damaged or truncated entry is
 *   removed and reported as a miss, so the caller builds again.
 * - Writes are atomic (a temporary file in the same folder, then a rename):
 *   a reader sees a whole entry or none, whatever runs concurrently.
 * - The cache is an optimisation only: a failure to read or write it never
 *   fails a build (the entry is simply not there).
 *
 * Where: HOTPATCH_CACHE_DIR, else $XDG_CACHE_HOME/wasm-hotpatch, else
 * ~/.cache/wasm-hotpatch. Entries live in a folder per store format (v1/),
 * 256 subfolders by the key's first two hex digits.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const STORE_FORMAT = "v1";
const DIGEST_BYTES = 32;
const KEY = /^[0-9a-f]{64}$/;

export interface BuildCache {
  /** The folder the entries live in. */
  readonly dir: string;
  /** The bytes stored under `key`; undefined on a miss or a damaged entry (which is removed). */
  get(key: string): Uint8Array | undefined;
  /** Stores `bytes` under `key`, atomically; a write that fails is skipped. */
  put(key: string, bytes: Uint8Array): void;
}

/** The cache folder the environment names (see the top of this file). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOTPATCH_CACHE_DIR) return env.HOTPATCH_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "wasm-hotpatch");
}

export function sha256(bytes: Uint8Array | string): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** Opens (creating on first write) the cache in `dir`, default defaultCacheDir(). */
export function openBuildCache(dir: string = defaultCacheDir()): BuildCache {
  const fileOf = (key: string) => {
    if (!KEY.test(key)) throw new Error(`internal: a build cache key is 64 hex digits, not ${key}`);
    return join(dir, STORE_FORMAT, key.slice(0, 2), key);
  };
  return {
    dir,
    get(key) {
      const file = fileOf(key);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        return undefined;
      }
      const payload = bytes.subarray(DIGEST_BYTES);
      if (bytes.length >= DIGEST_BYTES && sha256(payload).equals(bytes.subarray(0, DIGEST_BYTES))) return new Uint8Array(payload);
      rmSync(file, { force: true });
      return undefined;
    },
    put(key, bytes) {
      const file = fileOf(key);
      const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        mkdirSync(join(file, ".."), { recursive: true });
        writeFileSync(temporary, Buffer.concat([sha256(bytes), bytes]));
        renameSync(temporary, file);
      } catch {
        rmSync(temporary, { force: true });
      }
    },
  };
}
