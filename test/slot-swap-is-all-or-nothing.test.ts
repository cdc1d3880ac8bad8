/**
 * The swap writes all of a patch's slots or none: a fault injected after k of
 * n slot writes (PatchLoader's `swapProbe`) puts back the entries already
 * written, and the loader records nothing. Uses KB = v1 → v3, which replaces
 * two functions (handleEcho and handleDel).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HEARTBLEED_REQUEST, kvstoreVersion, Status } from "../engine/guests/index.ts";
import { delRequest } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import { PatchLoader, swapSlots } from "../engine/loader/index.ts";
import type { SlotEntry } from "../engine/loader/swap.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { hotpatch, kvImage, signingKeys, snapshot } from "./guest-fixtures.ts";

const KB = "KB5036701";
const keys = signingKeys();
let v1: Image;
let kb: Awaited<ReturnType<typeof hotpatch>>;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb = await hotpatch(v1, kvstoreVersion("v3"), KB, keys.privateKey);
});

class InjectedFault extends Error {}

/** A process whose loader's swap fails after `failAfter` writes (never when undefined); records every probe call. */
function faultyProcess() {
  const process = GuestProcess.start(v1);
  const probe = { failAfter: undefined as number | undefined, calls: [] as [number, number][] };
  const loader = new PatchLoader(process, {
    swapProbe(written, total) {
      probe.calls.push([written, total]);
      if (written === probe.failAfter) throw new InjectedFault(`injected after ${written} of ${total} writes`);
    },
  });
  return { process, loader, probe };
}

const changedSlots = (before: unknown[], after: unknown[]) =>
  after.map((entry, slot) => (entry === before[slot] ? -1 : slot)).filter((slot) => slot >= 0);

/** v1 answers the exploit with leaked bytes and a missing-key DEL with NOT_FOUND; v3 with MALFORMED and OK. */
function behaviour(process: GuestProcess) {
  return { exploit: process.request(HEARTBLEED_REQUEST)[0], missingDel: process.request(delRequest("nothing"))[0] };
}

describe("the slot swap under injected faults", () => {
  it("uses a patch that writes two slots, so a fault can fall between writes", () => {
    expect(kb.manifest.functions.map((f) => f.key).sort()).toEqual(["handleDel", "handleEcho"]);
  });

  it("applies and reports every write to the probe when nothing fails", () => {
    const { process, loader, probe } = faultyProcess();
    const before = process.slotEntries();
    loader.apply(kb.package, keys.trust);
    expect(probe.calls).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(changedSlots(before, process.slotEntries())).toHaveLength(2);
    expect(behaviour(process)).toEqual({ exploit: Status.MALFORMED, missingDel: Status.OK });
  });

  for (const k of [1, 2]) {
    it(`leaves every slot as before and installs nothing when the swap fails after ${k} of 2 writes`, () => {
      const { process, loader, probe } = faultyProcess();
      probe.failAfter = k;
      const before = snapshot(process);
      expect(() => loader.apply(kb.package, keys.trust)).toThrow(InjectedFault);
      expect(probe.calls.at(-1)).toEqual([k, 2]);
      const after = snapshot(process);
      expect(changedSlots(before.entries, after.entries)).toEqual([]);
      expect(after.state).toEqual(before.state);
      expect(loader.installed()).toEqual([]);
      expect(loader.activePatches()).toEqual(new Map());
      expect(behaviour(process)).toEqual({ exploit: Status.OK, missingDel: Status.NOT_FOUND });

      // The loader is not left half-way: the same patch applies cleanly afterwards.
      probe.failAfter = undefined;
      loader.apply(kb.package, keys.trust);
      expect(loader.installed().map((p) => p.id)).toEqual([KB]);
      expect(behaviour(process)).toEqual({ exploit: Status.MALFORMED, missingDel: Status.OK });
    });
  }

  for (const k of [1, 2]) {
    it(`keeps the patch installed with all its entries when a revert fails after ${k} of 2 writes`, () => {
      const { process, loader, probe } = faultyProcess();
      const original = process.slotEntries();
      loader.apply(kb.package, keys.trust);
      const patched = process.slotEntries();
      probe.failAfter = k;
      probe.calls.length = 0;
      expect(() => loader.revert(KB)).toThrow(InjectedFault);
      expect(probe.calls.at(-1)).toEqual([k, 2]);
      expect(changedSlots(patched, process.slotEntries())).toEqual([]);
      expect(loader.installed().map((p) => p.id)).toEqual([KB]);
      expect(behaviour(process)).toEqual({ exploit: Status.MALFORMED, missingDel: Status.OK });

      probe.failAfter = undefined;
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
    const fail = (written: number) => {
      if (written === 2) throw new InjectedFault("after 2 of 2");
    };
    expect(() => swapSlots(process.slots, writes, fail, current)).toThrow(InjectedFault);
    expect(changedSlots(original, process.slotEntries())).toEqual([]);
    expect(swapSlots(process.slots, writes, undefined, current)).toEqual(current);
    expect(changedSlots(original, process.slotEntries())).toEqual([a, b]);
  });
});
