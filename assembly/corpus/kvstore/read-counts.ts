// kvstore corpus target: base.ts plus a new per-entry field through a shadow
// variable (assembly/lib/shadow.ts) — kpatch's "new field in an existing
// struct" without changing the entry's layout (diff the two files). Every GET
// counts a read on the entry's value object (the Uint8Array the map holds); a
// new request READS 0x07 klen:u8 key -> status:u8 reads:u32 answers how often
// the entry was read since it was last written (0 for an entry the patch has
// not seen read). Lifetime rule: the shadow is freed where the old code drops
// the value object (PUT replacing it, DEL), so a rewritten or re-created key
// starts at 0. Hotpatch: the shadow table is new static data of the patch.
//
// kvstore, version 1 — a tiny in-memory key-value service.
//
// The host writes one request into the `input` buffer, calls `handle(len)`,
// and reads `handle`'s return value many bytes of response from `output`.
// All integers are little-endian.
//
//   GET  0x01 klen:u8 key            -> status:u8 vlen:u16 value
//   PUT  0x02 klen:u8 vlen:u16 key value -> status:u8
//   DEL  0x03 klen:u8 key            -> status:u8
//   STATS 0x04                        -> status:u8 then u32 requests, gets, puts,
//                                        dels, errors, keys
//   ECHO 0x05 len:u16 payload        -> status:u8 payload   (a heartbeat)
//
// SECURITY BUG (fixed in v2.ts): ECHO trusts the declared `len` instead of the
// number of payload bytes actually received — Heartbleed in miniature. A short
// request that declares a long payload gets back the bytes that follow it in
// memory, which include the service's admin token.

import { shadowFree, shadowGet, shadowGetOrAlloc } from "../../lib/shadow";

const INPUT_CAPACITY: i32 = 1024;
const SECRET_CAPACITY: i32 = 64;
const OUTPUT_CAPACITY: i32 = 4096;

// One static region: the input buffer, then the admin token right behind it.
const REGION: usize = memory.data(INPUT_CAPACITY + SECRET_CAPACITY);
export const input: usize = REGION;
export const output: usize = memory.data(OUTPUT_CAPACITY);
const SECRET: usize = REGION + <usize>INPUT_CAPACITY;

const STATUS_OK: u8 = 0;
const STATUS_NOT_FOUND: u8 = 1;
const STATUS_MALFORMED: u8 = 2;
const STATUS_TOO_LARGE: u8 = 3;
const STATUS_UNKNOWN_OP: u8 = 4;

const MESSAGES: StaticArray<string> = ["ok", "not found", "malformed request", "too large", "unknown operation"];

// Counters live in globals; the map lives in the guest's heap.
let requests: u32 = 0;
let gets: u32 = 0;
let puts: u32 = 0;
let dels: u32 = 0;
let errors: u32 = 0;
let lastStatus: u8 = STATUS_OK;
const entries = new Map<string, Uint8Array>();

// The shadow id of the per-entry read counter (a u32 on the value object).
const READS: u32 = 1;

function installSecret(): void {
  const token = "ADMIN-TOKEN=7f3a9c-do-not-leak";
  for (let i = 0; i < token.length; i++) {
    store<u8>(SECRET + <usize>i, <u8>token.charCodeAt(i));
  }
}
installSecret();

function readKey(at: i32, klen: i32): string {
  return String.UTF8.decodeUnsafe(input + <usize>at, <usize>klen);
}

function fail(status: u8): i32 {
  errors++;
  lastStatus = status;
  store<u8>(output, status);
  return 1;
}

function ok(): void {
  lastStatus = STATUS_OK;
  store<u8>(output, STATUS_OK);
}

function handleGet(len: i32): i32 {
  if (len < 2) return fail(STATUS_MALFORMED);
  const klen = <i32>load<u8>(input + 1);
  if (2 + klen > len) return fail(STATUS_MALFORMED);
  gets++;
  const key = readKey(2, klen);
  if (!entries.has(key)) return fail(STATUS_NOT_FOUND);
  const value = entries.get(key);
  const reads = shadowGetOrAlloc(changetype<usize>(value), READS, 4);
  if (reads != 0) store<u32>(reads, load<u32>(reads) + 1); // a full table only loses the count
  ok();
  store<u16>(output + 1, <u16>value.length);
  memory.copy(output + 3, value.dataStart, <usize>value.length);
  return 3 + value.length;
}

function handlePut(len: i32): i32 {
  if (len < 4) return fail(STATUS_MALFORMED);
  const klen = <i32>load<u8>(input + 1);
  const vlen = <i32>load<u16>(input + 2);
  if (4 + klen + vlen > len) return fail(STATUS_MALFORMED);
  if (vlen > OUTPUT_CAPACITY - 3) return fail(STATUS_TOO_LARGE);
  puts++;
  const key = readKey(4, klen);
  const value = new Uint8Array(vlen);
  memory.copy(value.dataStart, input + 4 + <usize>klen, <usize>vlen);
  // The old value object is dropped here: its shadow goes with it.
  if (entries.has(key)) shadowFree(changetype<usize>(entries.get(key)), READS);
  entries.set(key, value);
  ok();
  return 1;
}

function handleDel(len: i32): i32 {
  if (len < 2) return fail(STATUS_MALFORMED);
  const klen = <i32>load<u8>(input + 1);
  if (2 + klen > len) return fail(STATUS_MALFORMED);
  dels++;
  const key = readKey(2, klen);
  if (!entries.has(key)) return fail(STATUS_NOT_FOUND);
  shadowFree(changetype<usize>(entries.get(key)), READS);
  entries.delete(key);
  ok();
  return 1;
}

function handleStats(): i32 {
  ok();
  store<u32>(output + 1, requests);
  store<u32>(output + 5, gets);
  store<u32>(output + 9, puts);
  store<u32>(output + 13, dels);
  store<u32>(output + 17, errors);
  store<u32>(output + 21, <u32>entries.size);
  return 25;
}

function handleEcho(len: i32): i32 {
  if (len < 3) return fail(STATUS_MALFORMED);
  let declared = <i32>load<u16>(input + 1);
  if (declared > OUTPUT_CAPACITY - 1) declared = OUTPUT_CAPACITY - 1;
  ok();
  memory.copy(output + 1, input + 3, <usize>declared);
  return 1 + declared;
}

function handleReads(len: i32): i32 {
  if (len < 2) return fail(STATUS_MALFORMED);
  const klen = <i32>load<u8>(input + 1);
  if (2 + klen > len) return fail(STATUS_MALFORMED);
  const key = readKey(2, klen);
  if (!entries.has(key)) return fail(STATUS_NOT_FOUND);
  const reads = shadowGet(changetype<usize>(entries.get(key)), READS);
  ok();
  store<u32>(output + 1, reads != 0 ? load<u32>(reads) : 0);
  return 5;
}

/** Serves the request of `len` bytes in `input`; returns the response length in `output`. */
export function handle(len: i32): i32 {
  requests++;
  if (len < 1 || len > INPUT_CAPACITY) return fail(STATUS_MALFORMED);
  const op = load<u8>(input);
  if (op == 1) return handleGet(len);
  if (op == 2) return handlePut(len);
  if (op == 3) return handleDel(len);
  if (op == 4) return handleStats();
  if (op == 5) return handleEcho(len);
  if (op == 7) return handleReads(len);
  return fail(STATUS_UNKNOWN_OP);
}

/** A human-readable description of the last request's status. */
export function lastError(): string {
  return MESSAGES[<i32>lastStatus];
}

/** Number of requests served since the process started. */
export function requestCount(): u32 {
  return requests;
}
