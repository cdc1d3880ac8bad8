/**
 * The shadow-variable library (assembly/lib/shadow.ts) as a compiled guest
 * (assembly/lib/shadow-harness.ts): get, alloc, get-or-alloc, free and
 * free-all keyed by (object, id), as livepatch's klp_shadow_*; zeroed blocks;
 * alloc refusing an existing shadow; probe runs that collide and wrap around
 * the table surviving deletions; the documented limits (a full table, a full
 * block area) answering 0; and 20,000 seeded operations against a model.
 */
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { seededRandom } from "../engine/guests/index.ts";
import { compileAssemblyScript } from "../engine/image/compile-as.ts";

const HARNESS = fileURLToPath(new URL("../assembly/lib/shadow-harness.ts", import.meta.url));
const SLOTS = 256;
const MAX_LIVE = 192;

interface Shadows {
  get(obj: number, id: number): number;
  alloc(obj: number, id: number, size: number): number;
  getOrAlloc(obj: number, id: number, size: number): number;
  free(obj: number, id: number): void;
  freeAll(id: number): void;
  count(): number;
  limits(): bigint;
  memory: WebAssembly.Memory;
}

let module: WebAssembly.Module | undefined;
let lib: Shadows;

/** A fresh instance (an empty table) of the harness, compiled once. */
beforeEach(async () => {
  module ??= await WebAssembly.compile(Uint8Array.from((await compileAssemblyScript(HARNESS)).wasm));
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: () => {
        throw new Error("abort");
      },
    },
  });
  lib = instance.exports as unknown as Shadows;
});

const bytes = (at: number, n: number) => new Uint8Array(lib.memory.buffer, at, n);
const word = (at: number) => new DataView(lib.memory.buffer).getUint32(at, true);
const setWord = (at: number, value: number) => new DataView(lib.memory.buffer).setUint32(at, value, true);

/** The library's hash of (obj, id) to a home slot, mirrored. */
function home(obj: number, id: number): number {
  let h = (Math.imul(obj, 0x9e3779b1) ^ Math.imul(id, 0x85ebca77)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  return h & (SLOTS - 1);
}

/** `n` object addresses (16-aligned heap-like) whose shadow `id` hashes to `slot`. */
function colliding(slot: number, id: number, n: number): number[] {
  const out: number[] = [];
  for (let obj = 0x20000; out.length < n; obj += 16) if (home(obj, id) === slot) out.push(obj);
  return out;
}

describe("the shadow-variable library", () => {
  it("has the documented limits", () => {
    const limits = lib.limits();
    expect([0n, 16n, 32n, 48n].map((shift) => Number((limits >> shift) & 0xffffn))).toEqual([256, 192, 256, 4096]);
  });

  it("allocates a zeroed shadow once per (object, id), finds it, and frees it", () => {
    const obj = 0x30010;
    expect(lib.get(obj, 1)).toBe(0);
    const p = lib.alloc(obj, 1, 24);
    expect(p).toBeGreaterThan(0);
    expect(p % 16).toBe(0);
    expect(bytes(p, 32).every((b) => b === 0)).toBe(true);
    expect(lib.get(obj, 1)).toBe(p);
    expect(lib.alloc(obj, 1, 24)).toBe(0); // exists: as klp_shadow_alloc
    expect(lib.getOrAlloc(obj, 1, 99)).toBe(p);
    const q = lib.getOrAlloc(obj, 2, 4); // another id on the same object
    expect(q).not.toBe(p);
    expect(lib.get(obj + 16, 1)).toBe(0);
    expect(lib.count()).toBe(2);
    lib.free(obj, 1);
    expect(lib.get(obj, 1)).toBe(0);
    expect(lib.get(obj, 2)).toBe(q);
    lib.free(obj, 1); // freeing what is not there does nothing
    expect(lib.count()).toBe(1);
  });

  it("refuses a null object and sizes of 0 or above 256 bytes", () => {
    expect(lib.alloc(0, 1, 4)).toBe(0);
    expect(lib.getOrAlloc(0, 1, 4)).toBe(0);
    expect(lib.alloc(0x30000, 1, 0)).toBe(0);
    expect(lib.alloc(0x30000, 1, 257)).toBe(0);
    expect(lib.alloc(0x30000, 1, 256)).toBeGreaterThan(0);
    expect(lib.count()).toBe(1);
  });

  it("reuses a freed block, zeroed again", () => {
    const p = lib.alloc(0x30000, 7, 64);
    bytes(p, 64).fill(0xab);
    lib.free(0x30000, 7);
    const q = lib.alloc(0x40000, 7, 50); // the same size class
    expect(q).toBe(p);
    expect(bytes(q, 64).every((b) => b === 0)).toBe(true);
  });

  it("keeps colliding shadows reachable through deletions, also where the probe run wraps around the table", () => {
    for (const slot of [17, SLOTS - 2]) {
      const objects = colliding(slot, 5, 6);
      const at = objects.map((obj) => lib.alloc(obj, 5, 4));
      for (const [i, obj] of objects.entries()) setWord(at[i], obj);
      for (const gone of [1, 4, 0]) {
        lib.free(objects[gone], 5);
        objects.forEach((obj, i) => {
          const removed = [1, 4, 0].slice(0, [1, 4, 0].indexOf(gone) + 1).includes(i);
          expect(lib.get(obj, 5)).toBe(removed ? 0 : at[i]);
          if (!removed) expect(word(at[i])).toBe(obj);
        });
      }
      lib.freeAll(5);
      expect(lib.count()).toBe(0);
    }
  });

  it("holds many ids per object, and free-all removes one id from every object", () => {
    const objects = [0x50000, 0x50010, 0x50020];
    for (const obj of objects) for (let id = 0; id < 40; id++) setWord(lib.alloc(obj, id, 4), obj ^ id);
    expect(lib.count()).toBe(120);
    lib.freeAll(3);
    expect(lib.count()).toBe(117);
    for (const obj of objects) {
      for (let id = 0; id < 40; id++) {
        const p = lib.get(obj, id);
        if (id === 3) expect(p).toBe(0);
        else expect(word(p)).toBe(obj ^ id);
      }
    }
  });

  it("answers 0 when the table holds 192 shadows, and again when the block area is used up", () => {
    for (let i = 0; i < MAX_LIVE; i++) expect(lib.alloc(0x60000 + 16 * i, 1, 16)).toBeGreaterThan(0);
    expect(lib.alloc(0x70000, 1, 16)).toBe(0);
    expect(lib.getOrAlloc(0x70000, 1, 16)).toBe(0);
    lib.free(0x60000, 1);
    expect(lib.alloc(0x70000, 1, 16)).toBeGreaterThan(0);
    lib.freeAll(1);

    // 192 blocks of 16 bytes took 3,072 of the 4,096: four 256-byte blocks fit, a fifth does not.
    for (let i = 0; i < 4; i++) expect(lib.alloc(0x80000 + 16 * i, 2, 256)).toBeGreaterThan(0);
    expect(lib.alloc(0x90000, 2, 256)).toBe(0);
    expect(lib.alloc(0x90000, 2, 16)).toBeGreaterThan(0); // freed 16-byte blocks are reused by their class
    lib.free(0x80000, 2);
    expect(lib.alloc(0x90010, 2, 200)).toBeGreaterThan(0);
  });

  it("agrees with a model over 20,000 seeded operations on 300 objects, 4 ids and every size", () => {
    const random = seededRandom(18_004);
    const pick = (n: number) => Math.floor(random() * n);
    // The model: "obj/id" -> the tag written into the shadow and its size class; the block area's bump and free blocks per class.
    const model = new Map<string, { tag: number; c: number }>();
    const spare = [0, 0, 0, 0, 0];
    let bump = 0;
    const classOf = (size: number) => Math.max(0, Math.ceil(Math.log2(size)) - 4);
    const takeBlock = (c: number) => {
      if (spare[c] > 0) spare[c]--;
      else if (bump + (16 << c) <= 4096) bump += 16 << c;
      else return false;
      return true;
    };
    const forget = (k: string) => {
      spare[model.get(k)!.c]++;
      model.delete(k);
    };
    for (let step = 0; step < 20_000; step++) {
      const obj = 0x100000 + 16 * pick(300);
      const id = pick(4);
      const roll = pick(100);
      const k = `${obj}/${id}`;
      if (roll < 35) {
        const size = 1 + pick(256);
        const p = roll < 20 ? lib.alloc(obj, id, size) : lib.getOrAlloc(obj, id, size);
        if (model.has(k)) expect(p === 0 ? "refused" : word(p)).toBe(roll < 20 ? "refused" : model.get(k)!.tag);
        else if (model.size >= MAX_LIVE || !takeBlock(classOf(size))) expect(p).toBe(0);
        else {
          expect(p).toBeGreaterThan(0);
          expect(bytes(p, size).every((b) => b === 0)).toBe(true);
          bytes(p, size).fill(0xee);
          setWord(p, step + 1);
          model.set(k, { tag: step + 1, c: classOf(size) });
        }
      } else if (roll < 70) {
        const p = lib.get(obj, id);
        expect(p === 0 ? undefined : word(p)).toBe(model.get(k)?.tag);
      } else if (roll < 99) {
        lib.free(obj, id);
        if (model.has(k)) forget(k);
      } else {
        lib.freeAll(id);
        for (const m of [...model.keys()]) if (m.endsWith(`/${id}`)) forget(m);
      }
      expect(lib.count()).toBe(model.size);
    }
  });
});
