// A test guest for assembly/lib/shadow.ts: exports the library's API as
// plain functions so the host can drive it (test/shadow-variables-*.test.ts).
// Not a service: it has no input/handle/output protocol.
import {
  SHADOW_DATA_BYTES,
  SHADOW_MAX_LIVE,
  SHADOW_MAX_SIZE,
  SHADOW_SLOTS,
  shadowAlloc,
  shadowCount,
  shadowFree,
  shadowFreeAll,
  shadowGet,
  shadowGetOrAlloc,
} from "./shadow";

export function get(obj: usize, id: u32): usize {
  return shadowGet(obj, id);
}

export function alloc(obj: usize, id: u32, size: u32): usize {
  return shadowAlloc(obj, id, size);
}

export function getOrAlloc(obj: usize, id: u32, size: u32): usize {
  return shadowGetOrAlloc(obj, id, size);
}

export function free(obj: usize, id: u32): void {
  shadowFree(obj, id);
}

export function freeAll(id: u32): void {
  shadowFreeAll(id);
}

export function count(): u32 {
  return shadowCount();
}

/** The library's limits: slots, live shadows, largest shadow, block-area bytes. */
export function limits(): u64 {
  return (<u64>SHADOW_SLOTS) | (<u64>SHADOW_MAX_LIVE << 16) | (<u64>SHADOW_MAX_SIZE << 32) | (<u64>SHADOW_DATA_BYTES << 48);
}
