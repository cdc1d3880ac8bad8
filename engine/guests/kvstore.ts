/**
 * Host-side codec for the kvstore guest (assembly/kvstore/): builds request
 * bytes and decodes responses, plus a seeded random request stream used by
 * the demo, the differential tests and load generators.
 */
import { fileURLToPath } from "node:url";

export const KVSTORE_DIR = fileURLToPath(new URL("../../assembly/kvstore/", import.meta.url));
export const kvstoreVersion = (version: string) => `${KVSTORE_DIR}${version}.ts`;

export const Op = { GET: 1, PUT: 2, DEL: 3, STATS: 4, ECHO: 5, SCAN: 0x10 } as const;
export const Status = { OK: 0, NOT_FOUND: 1, MALFORMED: 2, TOO_LARGE: 3, UNKNOWN_OP: 4 } as const;

const utf8 = (s: string) => new TextEncoder().encode(s);

export function getRequest(key: string): Uint8Array {
  const k = utf8(key);
  return Uint8Array.from([Op.GET, k.length, ...k]);
}

export function putRequest(key: string, value: Uint8Array | string): Uint8Array {
  const k = utf8(key);
  const v = typeof value === "string" ? utf8(value) : value;
  return Uint8Array.from([Op.PUT, k.length, v.length & 0xff, v.length >> 8, ...k, ...v]);
}

export function delRequest(key: string): Uint8Array {
  const k = utf8(key);
  return Uint8Array.from([Op.DEL, k.length, ...k]);
}

export function statsRequest(): Uint8Array {
  return Uint8Array.from([Op.STATS]);
}

/** A heartbeat that declares `declared` payload bytes; honest when it carries that many. */
export function echoRequest(payload: Uint8Array | string, declared?: number): Uint8Array {
  const p = typeof payload === "string" ? utf8(payload) : payload;
  const n = declared ?? p.length;
  return Uint8Array.from([Op.ECHO, n & 0xff, n >> 8, ...p]);
}

/** A long-running request: `steps` rounds, each calling the host's `env.safepoint` (response: status, u32 checksum). */
export function scanRequest(steps: number): Uint8Array {
  return Uint8Array.from([Op.SCAN, steps & 0xff, (steps >>> 8) & 0xff, (steps >>> 16) & 0xff, steps >>> 24]);
}

/** The exploit: a one-byte heartbeat that claims to carry 1,280 bytes. */
export const HEARTBLEED_REQUEST = echoRequest("A", 1280);

export interface Stats {
  requests: number;
  gets: number;
  puts: number;
  dels: number;
  errors: number;
  keys: number;
}

export function decodeStats(response: Uint8Array): Stats {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength);
  const at = (i: number) => view.getUint32(1 + 4 * i, true);
  return { requests: at(0), gets: at(1), puts: at(2), dels: at(3), errors: at(4), keys: at(5) };
}

/** Printable ASCII runs of at least `min` characters, as `strings(1)` finds them. */
export function printableRuns(bytes: Uint8Array, min = 8): string[] {
  return Buffer.from(bytes).toString("latin1").match(new RegExp(`[\\x20-\\x7e]{${min},}`, "g")) ?? [];
}

/** mulberry32: a small, seedable PRNG so request streams are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded stream of kvstore requests: a mix of GET, PUT, DEL, STATS, honest
 * and over-declaring heartbeats, and malformed requests, over a small key space
 * so that reads hit earlier writes.
 */
export function randomRequests(seed: number, count: number): Uint8Array[] {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const key = () => `k${pick(40)}`;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => 32 + pick(95));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const roll = pick(100);
    if (roll < 30) out.push(getRequest(key()));
    else if (roll < 55) out.push(putRequest(key(), bytes(pick(48))));
    else if (roll < 65) out.push(delRequest(key()));
    else if (roll < 70) out.push(statsRequest());
    else if (roll < 85) {
      const payload = bytes(pick(32));
      out.push(echoRequest(payload, roll < 80 ? payload.length : payload.length + 1 + pick(200)));
    } else if (roll < 95) out.push(Uint8Array.from([Op.GET, 30 + pick(20), ...bytes(pick(4))])); // key longer than the request
    else out.push(Uint8Array.from([6 + pick(10)])); // unknown operation
  }
  return out;
}
