// Shadow variables: new data attached to existing heap objects without
// changing their layout — the API of the kernel's livepatch shadow variables
// (klp_shadow_get / _alloc / _get_or_alloc / _free / _free_all), for code in
// a hotpatch. See docs/builder-and-corpus.md#shadow-variables.
//
// A shadow is keyed by (object address, id) and is a zeroed block of 1 to
// SHADOW_MAX_SIZE bytes. Everything — the hash table, the blocks and the
// allocator's state — lives in ONE zero-filled static buffer declared below
// (memory.data), so the library adds no mutable global (which would need a
// baseline). In a patch that buffer is new static data: the loader places it
// in the patch's own block of the patch arena and zeroes and frees that block
// when the patch is reverted or superseded, so every shadow goes with it.
//
// Lifetime rule (as livepatch): the patch frees a shadow where it frees or
// drops the object. A shadow holds no reference: it keeps nothing alive, and
// the GC does not know it; if the object dies with its shadow still in the
// table, a later object at the same address would find that stale shadow.
//
// Capacity: SHADOW_SLOTS table slots, at most SHADOW_MAX_LIVE shadows at once,
// SHADOW_DATA_BYTES bytes of blocks in size classes 16, 32, 64, 128 and 256
// (a block freed in one class is reused by that class only). When anything is
// exhausted, or the shadow already exists, alloc returns 0 (livepatch's NULL):
// the caller must handle it. Cost: an open-addressing hash (linear probing,
// backward-shift deletion: no tombstones) at load <= 3/4, O(1) expected per
// get/alloc/free; free-all scans the table.

/** Hash table slots (a power of two). */
export const SHADOW_SLOTS: u32 = 256;
/** Shadows live at once (3/4 of the slots, so a probe always ends at an empty slot). */
export const SHADOW_MAX_LIVE: u32 = 192;
/** Largest shadow, in bytes. */
export const SHADOW_MAX_SIZE: u32 = 256;
/** Bytes of the block area. */
export const SHADOW_DATA_BYTES: u32 = 4096;

const CLASSES: u32 = 5; // block sizes 16 << class
const HEADER: usize = 32; // live count, bump offset, one free-list head per class
const ENTRY: usize = 16; // object, id, block offset, class
const TABLE_BYTES: usize = <usize>SHADOW_SLOTS * ENTRY;

// The whole state, zero-filled: an all-zero buffer is an empty table.
const BUFFER: usize = memory.data(<i32>(HEADER + TABLE_BYTES + <usize>SHADOW_DATA_BYTES), 16);
const LIVE: usize = BUFFER;
const BUMP: usize = BUFFER + 4;
const FREE_LISTS: usize = BUFFER + 8; // per class: offset + 1 of the first free block, 0 = none
const TABLE: usize = BUFFER + HEADER;
const DATA: usize = BUFFER + HEADER + TABLE_BYTES;

function home(obj: usize, id: u32): u32 {
  let h: u32 = (<u32>obj * 0x9e3779b1) ^ (id * 0x85ebca77);
  h ^= h >> 15;
  h *= 0x2c1b3c6d;
  h ^= h >> 12;
  return h & (SHADOW_SLOTS - 1);
}

function entryAt(slot: u32): usize {
  return TABLE + <usize>slot * ENTRY;
}

/** The slot holding (obj, id), or -1. */
function find(obj: usize, id: u32): i32 {
  let slot = home(obj, id);
  for (let n: u32 = 0; n < SHADOW_SLOTS; n++) {
    const entry = entryAt(slot);
    const o = load<u32>(entry);
    if (o == 0) return -1;
    if (o == <u32>obj && load<u32>(entry, 4) == id) return <i32>slot;
    slot = (slot + 1) & (SHADOW_SLOTS - 1);
  }
  return -1;
}

function classOf(size: u32): u32 {
  let c: u32 = 0;
  while ((<u32>16 << c) < size) c++;
  return c;
}

/** Offset of a zeroed block of `c`'s size in the block area, or -1 when none is left. */
function takeBlock(c: u32): i32 {
  const list = FREE_LISTS + <usize>c * 4;
  const head = load<u32>(list);
  const bytes: u32 = 16 << c;
  let offset: u32;
  if (head != 0) {
    offset = head - 1;
    store<u32>(list, load<u32>(DATA + <usize>offset));
  } else {
    offset = load<u32>(BUMP);
    if (offset + bytes > SHADOW_DATA_BYTES) return -1;
    store<u32>(BUMP, offset + bytes);
  }
  memory.fill(DATA + <usize>offset, 0, <usize>bytes);
  return <i32>offset;
}

function giveBlock(offset: u32, c: u32): void {
  const list = FREE_LISTS + <usize>c * 4;
  store<u32>(DATA + <usize>offset, load<u32>(list));
  store<u32>(list, offset + 1);
}

/** Empties `slot`, moving later entries of its probe run back (no tombstones). */
function removeAt(slot: u32): void {
  const entry = entryAt(slot);
  giveBlock(load<u32>(entry, 8), load<u32>(entry, 12));
  let hole = slot;
  let next = slot;
  for (let n: u32 = 0; n < SHADOW_SLOTS; n++) {
    next = (next + 1) & (SHADOW_SLOTS - 1);
    const candidate = entryAt(next);
    const o = load<u32>(candidate);
    if (o == 0) break;
    const k = home(<usize>o, load<u32>(candidate, 4));
    // The entry may fill the hole unless its home lies cyclically in (hole, next].
    const staysPut = hole <= next ? hole < k && k <= next : hole < k || k <= next;
    if (!staysPut) {
      memory.copy(entryAt(hole), candidate, ENTRY);
      hole = next;
    }
  }
  memory.fill(entryAt(hole), 0, ENTRY);
  store<u32>(LIVE, load<u32>(LIVE) - 1);
}

/** The shadow (obj, id), or 0 when there is none. */
export function shadowGet(obj: usize, id: u32): usize {
  if (obj == 0) return 0;
  const slot = find(obj, id);
  return slot < 0 ? 0 : DATA + <usize>load<u32>(entryAt(<u32>slot), 8);
}

/**
 * A new zeroed shadow (obj, id) of `size` bytes; 0 when it already exists
 * (as klp_shadow_alloc), when `obj` is 0, `size` is 0 or above
 * SHADOW_MAX_SIZE, or the table or the block area is full.
 */
export function shadowAlloc(obj: usize, id: u32, size: u32): usize {
  if (obj == 0 || size == 0 || size > SHADOW_MAX_SIZE) return 0;
  if (find(obj, id) >= 0 || load<u32>(LIVE) >= SHADOW_MAX_LIVE) return 0;
  const c = classOf(size);
  const offset = takeBlock(c);
  if (offset < 0) return 0;
  let slot = home(obj, id);
  while (load<u32>(entryAt(slot)) != 0) slot = (slot + 1) & (SHADOW_SLOTS - 1);
  const entry = entryAt(slot);
  store<u32>(entry, <u32>obj);
  store<u32>(entry, id, 4);
  store<u32>(entry, <u32>offset, 8);
  store<u32>(entry, c, 12);
  store<u32>(LIVE, load<u32>(LIVE) + 1);
  return DATA + <usize>offset;
}

/** The shadow (obj, id), allocated zeroed if there is none; 0 only when allocation fails. */
export function shadowGetOrAlloc(obj: usize, id: u32, size: u32): usize {
  const existing = shadowGet(obj, id);
  return existing != 0 ? existing : shadowAlloc(obj, id, size);
}

/** Frees the shadow (obj, id), if any. */
export function shadowFree(obj: usize, id: u32): void {
  if (obj == 0) return;
  const slot = find(obj, id);
  if (slot >= 0) removeAt(<u32>slot);
}

/** Frees every shadow with this id, on every object (klp_shadow_free_all). */
export function shadowFreeAll(id: u32): void {
  // Deleting moves entries back, possibly across the wrap into slots already
  // scanned: scan again until a pass frees nothing.
  for (let freed = true; freed; ) {
    freed = false;
    for (let slot: u32 = 0; slot < SHADOW_SLOTS; slot++) {
      while (load<u32>(entryAt(slot)) != 0 && load<u32>(entryAt(slot), 4) == id) {
        removeAt(slot);
        freed = true;
      }
    }
  }
}

/** Shadows live now. */
export function shadowCount(): u32 {
  return load<u32>(LIVE);
}
