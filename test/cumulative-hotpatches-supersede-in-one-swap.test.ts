/**
 * Cumulative hotpatches over one baseline, calc v1 (assembly/calc/):
 * KB1 = v1 → v2 (the division fix), KB2 = v1 → v3 (v2 + a mitigation for pow:
 * changes callNative and handleMessage, adds safeExponent and a message),
 * KB3 = v1 → v4 (v2 + the real fix for pow, without the mitigation). Each
 * contains every earlier fix; KB3 touches nothing that only KB2's mitigation
 * touched, so superseding KB2 must put those slots back to the base's.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { decodeMessage, Instr, messageRequest, Native, op, push, runRequest } from "../engine/guests/calc.ts";
import { calcVersion, randomCalcRequests } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { PatchLoader } from "../engine/loader/index.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { answer, CALC_V1, logicalState, plainImage, setupRequests } from "./corpus-fixtures.ts";
import { type BuiltHotpatch, changedSlots, hotpatch, image, signingKeys, snapshot } from "./guest-fixtures.ts";
import { refusal } from "./refusal.ts";

const KB1 = "KB5037001";
const KB2 = "KB5037002";
const KB3 = "KB5037003";
const keys = signingKeys();
let base: Image;
const kb: Record<string, BuiltHotpatch> = {};
/** Answers of a fresh process of each version to the probe stream. */
const expected: Record<string, string[]> = {};

/** Requests whose answers depend only on the version running (no registers, history or counters). */
const PROBE = [runRequest([push(1)]), ...randomCalcRequests(7_301, 1_500, { stateless: true })];
const probe = (process: GuestProcess) => PROBE.map((request) => answer(process, request));

const build = (id: string, version: string, supersedes?: string[]): Promise<BuiltHotpatch> => hotpatch(base, calcVersion(version), id, keys.privateKey, supersedes);

beforeAll(async () => {
  base = await image(CALC_V1);
  const versions = ["v1", "v2", "v3", "v4"];
  const [images, kb1, kb2, kb3, kb2Stacked, kb3Explicit, kb3Lower] = await Promise.all([
    Promise.all(versions.map((v) => plainImage(calcVersion(v)))),
    build(KB1, "v2"),
    build(KB2, "v3"),
    build(KB3, "v4"),
    build("KB5037102", "v3", []),
    build(KB3, "v4", [KB1, "KB5037102"]),
    build("KB5037000", "v4", [KB2]),
  ]);
  Object.assign(kb, { kb1, kb2, kb3, kb2Stacked, kb3Explicit, kb3Lower });
  versions.forEach((v, i) => {
    expected[v] = probe(GuestProcess.start(images[i]));
  });
});

afterEach(() => faults.disarm());

interface Counted {
  process: GuestProcess;
  loader: PatchLoader;
  /** Number of table swaps so far (a swap of n entries hits the swap fault point n times, once after its first write). */
  swaps: () => number;
}

/**
 * A calc v1 process with prior state, and a loader whose swaps are counted: a
 * plan on the swap point whose one rule fires at every hit after a swap's
 * first write and does nothing (a 0 ms delay), so its hits are the swaps.
 */
function started(): Counted {
  const process = GuestProcess.start(base);
  for (const request of setupRequests("calc", 7_300, 300)) process.request(request);
  faults.arm({ seed: 1, rules: [{ point: "swap", mode: "delay", delayMs: 0, times: 0, afterSlot: 1 }] });
  return { process, loader: new PatchLoader(process), swaps: () => faults.report()[0].hits };
}

const slotOf = (key: string) => base.linkMap.functions.find((f) => f.key === key)?.slot;
const ids = (loader: PatchLoader) => loader.installed().map((p) => p.id);
/** Registers, history and counters (reading them twice gives the same answers). */
const priorState = (process: GuestProcess) => logicalState("calc", process).slice(1);

describe("cumulative hotpatches of calc v1", () => {
  it("are cumulative: each contains every earlier fix, and KB3 drops what only KB2's mitigation changed", () => {
    const keysOf = (b: BuiltHotpatch) => b.functions.map((f) => f.key).sort();
    expect(keysOf(kb.kb1)).toEqual(["arith", "checkArith"]);
    expect(keysOf(kb.kb2)).toEqual(["~lib/rt/__visit_globals", "arith", "callNative", "checkArith", "handleMessage", "safeExponent"].sort());
    expect(keysOf(kb.kb3)).toEqual(["arith", "checkArith", "powI"]);
    expect(kb.kb2.manifest.supersedes).toBeUndefined();
    // The probe tells the four versions apart.
    expect(new Set(Object.values(expected).map((answers) => answers.join())).size).toBe(4);
  });

  it("replaces KB2 by KB3 in one swap, slots only KB2 touched going back to the base's entries", () => {
    const { process, loader, swaps } = started();
    const bare = process.slotEntries();
    const arenaBefore = loader.arenaFreeBytes()!;
    loader.apply(kb.kb1.package, keys.trust);
    loader.apply(kb.kb2.package, keys.trust);
    expect(ids(loader)).toEqual([KB2]); // KB2 superseded KB1
    expect(loader.arenaFreeBytes()).toBeLessThan(arenaBefore); // KB2's message lives in the arena
    const withKb2 = process.slotEntries();
    expect(probe(process)).toEqual(expected.v3);

    const prior = priorState(process);
    const before = swaps();
    loader.apply(kb.kb3.package, keys.trust);
    expect(swaps() - before).toBe(1);
    expect(ids(loader)).toEqual([KB3]);
    expect(loader.installed()[0].superseded.map((p) => p.id)).toEqual([KB2]);
    const after = process.slotEntries();
    for (const key of ["callNative", "handleMessage", "~lib/rt/__visit_globals"]) expect(after[slotOf(key)!]).toBe(bare[slotOf(key)!]);
    const spare = kb.kb2.functions.find((f) => f.key === "safeExponent")!.slot;
    expect(after[spare]).toBeNull();
    for (const key of ["arith", "checkArith", "powI"]) {
      expect(after[slotOf(key)!]).not.toBe(bare[slotOf(key)!]);
      expect(after[slotOf(key)!]).not.toBe(withKb2[slotOf(key)!]);
    }
    expect(loader.arenaFreeBytes()).toBe(arenaBefore); // KB2's data was freed when it was superseded
    expect(priorState(process)).toEqual(prior);
    expect(probe(process)).toEqual(expected.v4);
  });

  it("applies KB3 on the bare baseline", () => {
    const { process, loader } = started();
    const prior = priorState(process);
    loader.apply(kb.kb3.package, keys.trust);
    expect(ids(loader)).toEqual([KB3]);
    expect(loader.installed()[0].superseded).toEqual([]);
    expect(priorState(process)).toEqual(prior);
    expect(probe(process)).toEqual(expected.v4);
  });

  it("puts KB2 back exactly when KB3 is reverted, in one swap", () => {
    const { process, loader, swaps } = started();
    const bare = process.slotEntries();
    loader.apply(kb.kb2.package, keys.trust);
    const withKb2 = process.slotEntries();
    const arenaWithKb2 = loader.arenaFreeBytes();
    loader.apply(kb.kb3.package, keys.trust);
    const prior = priorState(process);

    const before = swaps();
    loader.revert(KB3);
    expect(swaps() - before).toBe(1);
    expect(ids(loader)).toEqual([KB2]);
    const reverted = process.slotEntries();
    // Every slot is back to the base's entry exactly where KB2 left it so; KB2's slots run KB2's code again
    // (re-linked: its static data is placed again, so the entries are new instances of the same functions).
    expect(changedSlots(bare, reverted)).toEqual(changedSlots(bare, withKb2));
    expect(changedSlots(bare, reverted)).toEqual(kb.kb2.manifest.functions.map((f) => f.slot).sort((a, b) => a - b));
    expect(loader.arenaFreeBytes()).toBe(arenaWithKb2);
    expect(priorState(process)).toEqual(prior);
    expect(probe(process)).toEqual(expected.v3);
    // KB2's new message is readable again: pow with an exponent above 64 fails with status 8.
    process.request(runRequest([push(2), push(65), op(Instr.NATIVE, Native.POW)]));
    expect(decodeMessage(process.request(messageRequest()))).toBe("exponent too large");
  });

  it("prepares the revert of KB3 ahead of its switch: KB2 is linked again before the swap, and a discarded revert gives its data back", () => {
    const { process, loader, swaps } = started();
    loader.apply(kb.kb2.package, keys.trust);
    const arenaWithKb2 = loader.arenaFreeBytes()!;
    loader.apply(kb.kb3.package, keys.trust);
    const withKb3 = snapshot(process);
    const arenaWithKb3 = loader.arenaFreeBytes()!;

    // Prepared: KB2's static data is placed again (the arena shrinks), the slot table is untouched.
    const before = swaps();
    const abandoned = loader.prepareRevert(KB3);
    expect(loader.arenaFreeBytes()).toBeLessThan(arenaWithKb3);
    expect(process.slotEntries()).toEqual(withKb3.entries);
    expect(swaps()).toBe(before);
    loader.discard(abandoned);
    expect(loader.arenaFreeBytes()).toBe(arenaWithKb3);
    expect(snapshot(process)).toEqual(withKb3);
    expect(ids(loader)).toEqual([KB3]);

    // Committed: one swap, KB2 back, no instantiation left for the switch.
    const prepared = loader.prepareRevert(KB3);
    const atSwitch = swaps();
    loader.commit(prepared);
    expect(swaps() - atSwitch).toBe(1);
    expect(ids(loader)).toEqual([KB2]);
    expect(loader.arenaFreeBytes()).toBe(arenaWithKb2);
    expect(probe(process)).toEqual(expected.v3);
  });

  it("refuses KB2 over KB3 (E_DOWNGRADE) and leaves the process as it was", () => {
    const { process, loader } = started();
    loader.apply(kb.kb3.package, keys.trust);
    const before = snapshot(process);
    const arena = loader.arenaFreeBytes();
    expect(refusal(() => loader.apply(kb.kb2.package, keys.trust), "E_DOWNGRADE").message).toContain(KB3);
    expect(snapshot(process)).toEqual(before);
    expect(loader.arenaFreeBytes()).toBe(arena);
    expect(ids(loader)).toEqual([KB3]);
  });

  it("lets an explicit supersedes list override the KB-number rule", () => {
    const { process, loader } = started();
    loader.apply(kb.kb2.package, keys.trust);
    // A lower KB number that names KB2 explicitly replaces it instead of being a downgrade.
    loader.apply(kb.kb3Lower.package, keys.trust);
    expect(ids(loader)).toEqual(["KB5037000"]);
    expect(probe(process)).toEqual(expected.v4);
  });

  it("stacks a patch built with supersedes: [] per function, and replaces both with an explicit list in one swap", () => {
    const { process, loader, swaps } = started();
    const bare = process.slotEntries();
    loader.apply(kb.kb1.package, keys.trust);
    const withKb1 = process.slotEntries();
    loader.apply(kb.kb2Stacked.package, keys.trust);
    expect(ids(loader)).toEqual([KB1, "KB5037102"]);
    expect(probe(process)).toEqual(expected.v3);
    // KB1 lies under the stacked patch in arith and checkArith.
    expect(() => loader.revert(KB1)).toThrow(expect.objectContaining({ code: "E_NOT_ON_TOP" }));

    const before = swaps();
    loader.apply(kb.kb3Explicit.package, keys.trust);
    expect(swaps() - before).toBe(1);
    expect(ids(loader)).toEqual([KB3]);
    expect(probe(process)).toEqual(expected.v4);

    loader.revert(KB3); // both come back, the stacked one on top
    expect(ids(loader)).toEqual([KB1, "KB5037102"]);
    expect(probe(process)).toEqual(expected.v3);
    loader.revert("KB5037102");
    expect(ids(loader)).toEqual([KB1]);
    expect(probe(process)).toEqual(expected.v2);
    expect(changedSlots(bare, process.slotEntries())).toEqual(changedSlots(bare, withKb1));
    loader.revert(KB1);
    expect(changedSlots(bare, process.slotEntries())).toEqual([]);
    expect(probe(process)).toEqual(expected.v1);
  });
});
