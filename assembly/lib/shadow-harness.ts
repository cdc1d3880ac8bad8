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

/** For the cost measurement: `rounds` passes of shadowGet over `objects` objects (16 bytes apart from `first`), summing the results. */
export function getLoop(first: usize, objects: u32, id: u32, rounds: u32): usize {
  let sum: usize = 0;
  for (let r: u32 = 0; r < rounds; r++) for (let i: u32 = 0; i < objects; i++) sum += shadowGet(first + <usize>i * 16, id);
  return sum;
}

/** For the cost measurement: `rounds` times, alloc `objects` shadows then free them. */
export function allocFreeLoop(first: usize, objects: u32, id: u32, rounds: u32): void {
  for (let r: u32 = 0; r < rounds; r++) {
    for (let i: u32 = 0; i < objects; i++) shadowAlloc(first + <usize>i * 16, id, 8);
    for (let i: u32 = 0; i < objects; i++) shadowFree(first + <usize>i * 16, id);
  }
}
