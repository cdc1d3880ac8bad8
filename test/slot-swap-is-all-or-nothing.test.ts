/**
 * The swap writes all of a patch's slots or none: a fault injected after k of
 * n slot writes (a fault plan on the `swap` point, rule field `afterSlot`)
 * puts back the entries already written, and the loader records nothing.
 * Uses KB = v1 → v3, which replaces two functions (handleEcho and handleDel).
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { kvstoreVersion } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { PatchLoader, swapSlots } from "../engine/loader/index.ts";
import type { SlotEntry } from "../engine/loader/swap.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { changedSlots, hotpatch, kvImage, signingKeys, snapshot } from "./guest-fixtures.ts";
import { behaviour, KVSTORE_BEHAVIOUR } from "./kvstore-probes.ts";

const KB = "KB5036701";
const keys = signingKeys();
let v1: Image;
let kb: Awaited<ReturnType<typeof hotpatch>>;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb = await hotpatch(v1, kvstoreVersion("v3"), KB, keys.privateKey);
});

afterEach(() => faults.disarm());

/** The slot-write counts after which the swap point's hits are counted. */
const COUNTED = [1, 2, 3];

/**
 * Arms a plan on the swap point: one rule per count in COUNTED that fires at
 * every hit after that many writes and does nothing (a 0 ms delay), so its
 * hits count them; then, unless `failAfter` is undefined, a throw at the
 * first hit after `failAfter` writes.
 */
function armSwap(failAfter?: number): void {
  const counting: faults.FaultRule[] = COUNTED.map((k) => ({ point: "swap", mode: "delay", delayMs: 0, times: 0, afterSlot: k }));
  const failing: faults.FaultRule[] = failAfter === undefined ? [] : [{ point: "swap", mode: "throw", afterSlot: failAfter }];
  faults.arm({ seed: 1, rules: [...counting, ...failing] });
}

/** Hits of the swap point after 1, 2 and 3 slot writes since the plan was armed. */
const hitsAfterWrites = () => faults.report().slice(0, COUNTED.length).map((r) => r.hits);

/** The error the plan's throw raises after k of n writes (E_FAULT_INJECTED). */
const injected = (k: number, n: number) => `injected fault at swap after ${k} of ${n} slots`;

function startedProcess() {
  const process = GuestProcess.start(v1);
  return { process, loader: new PatchLoader(process) };
}

describe("the slot swap under injected faults", () => {
  it("uses a patch that writes two slots, so a fault can fall between writes", () => {
    expect(kb.manifest.functions.map((f) => f.key).sort()).toEqual(["handleDel", "handleEcho"]);
  });

  it("applies and hits the swap fault point after every write when nothing fails", () => {
    const { process, loader } = startedProcess();
    const before = process.slotEntries();
    armSwap();
    loader.apply(kb.package, keys.trust);
    expect(hitsAfterWrites()).toEqual([1, 1, 0]);
    expect(changedSlots(before, process.slotEntries())).toHaveLength(2);
    expect(behaviour(process)).toEqual(KVSTORE_BEHAVIOUR.v3);
  });

  for (const k of [1, 2]) {
    it(`leaves every slot as before and installs nothing when the swap fails after ${k} of 2 writes`, () => {
      const { process, loader } = startedProcess();
      armSwap(k);
      const before = snapshot(process);
      expect(() => loader.apply(kb.package, keys.trust)).toThrow(injected(k, 2));
      expect(hitsAfterWrites()).toEqual(COUNTED.map((n) => (n <= k ? 1 : 0)));
      const after = snapshot(process);
      expect(changedSlots(before.entries, after.entries)).toEqual([]);
      expect(after.state).toEqual(before.state);
      expect(loader.installed()).toEqual([]);
      expect(loader.activePatches()).toEqual(new Map());
      expect(behaviour(process)).toEqual(KVSTORE_BEHAVIOUR.v1);

      // The loader is not left half-way: the same patch applies cleanly afterwards.
      faults.disarm();
      loader.apply(kb.package, keys.trust);
      expect(loader.installed().map((p) => p.id)).toEqual([KB]);
      expect(behaviour(process)).toEqual(KVSTORE_BEHAVIOUR.v3);
    });
  }

  for (const k of [1, 2]) {
    it(`keeps the patch installed with all its entries when a revert fails after ${k} of 2 writes`, () => {
      const { process, loader } = startedProcess();
      const original = process.slotEntries();
      loader.apply(kb.package, keys.trust);
      const patched = process.slotEntries();
      armSwap(k);
      expect(() => loader.revert(KB)).toThrow(injected(k, 2));
      expect(hitsAfterWrites()).toEqual(COUNTED.map((n) => (n <= k ? 1 : 0)));
      expect(changedSlots(patched, process.slotEntries())).toEqual([]);
      expect(loader.installed().map((p) => p.id)).toEqual([KB]);
      expect(behaviour(process)).toEqual(KVSTORE_BEHAVIOUR.v3);

      faults.disarm();
      loader.revert(KB);
      expect(changedSlots(original, process.slotEntries())).toEqual([]);
      expect(loader.installed()).toEqual([]);
    });
  }

  it("puts back the entries the caller says the slots held when it passes them (no read-back)", () => {
    const process = GuestProcess.start(v1);
    const original = process.slotEntries();
    const [a, b] = [3, 4];
    const current = [original[a], original[b]] as SlotEntry[];
    const writes = [
      { slot: a, entry: original[b] as SlotEntry },
      { slot: b, entry: original[a] as SlotEntry },
    ];
    faults.arm({ seed: 1, rules: [{ point: "swap", mode: "throw", afterSlot: 2 }] });
    expect(() => swapSlots(process.slots, writes, current)).toThrow(injected(2, 2));
    expect(changedSlots(original, process.slotEntries())).toEqual([]);
    faults.disarm();
    expect(swapSlots(process.slots, writes, current)).toEqual(current);
    expect(changedSlots(original, process.slotEntries())).toEqual([a, b]);
  });
});
