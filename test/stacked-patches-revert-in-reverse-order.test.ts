/**
 * Two patches on the same function stack like livepatch's func_stack: the
 * newest runs, only the top can be reverted, and reverting steps back through
 * exactly the code that ran before.
 *
 * KB1 = v1 → v2 (handleEcho refuses over-declaring heartbeats).
 * KB2 = v1 → v3 (v2's fix, and handleEcho also refuses an empty heartbeat;
 * handleDel treats deleting a missing key as success). Both are built against
 * the same v1 base, and KB2 declares that it supersedes nothing, so it stacks
 * on top of KB1 instead of replacing it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { kvstoreVersion } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { type BuiltHotpatch, changedSlots, hotpatch, kvImage, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";
import { behaviour, KVSTORE_BEHAVIOUR } from "./kvstore-probes.ts";
import { refusal } from "./refusal.ts";

const KB1 = "KB5036401";
const KB2 = "KB5036402";
const keys = signingKeys();
let v1: Image;
let kb1: BuiltHotpatch;
let kb2: BuiltHotpatch;
let echoSlot: number;
let delSlot: number;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb1 = await hotpatch(v1, kvstoreVersion("v2"), KB1, keys.privateKey);
  // An explicit empty `supersedes`: KB2 stacks on KB1 instead of replacing it (the default for a higher KB number).
  kb2 = await hotpatch(v1, kvstoreVersion("v3"), KB2, keys.privateKey, []);
  echoSlot = v1.linkMap.functions.find((f) => f.key === "handleEcho")!.slot;
  delSlot = v1.linkMap.functions.find((f) => f.key === "handleDel")!.slot;
});

const { v1: V1, v2: V2, v3: V3 } = KVSTORE_BEHAVIOUR;

describe("stacking two patches on handleEcho", () => {
  it("builds KB1 with exactly handleEcho and KB2 with exactly handleEcho and handleDel", () => {
    expect(kb1.functions.map((f) => f.key)).toEqual(["handleEcho"]);
    expect(kb2.functions.map((f) => f.key).sort()).toEqual(["handleDel", "handleEcho"]);
    expect(kb2.functions.every((f) => f.change === "changed")).toBe(true);
    // Both replace the same v1 body of handleEcho, with different new bodies.
    const echo1 = kb1.manifest.functions.find((f) => f.key === "handleEcho")!;
    const echo2 = kb2.manifest.functions.find((f) => f.key === "handleEcho")!;
    expect(echo2.oldFingerprint).toBe(echo1.oldFingerprint);
    expect(echo2.newFingerprint).not.toBe(echo1.newFingerprint);
  });

  it("tells the versions apart with its probes before any patch", () => {
    const { process } = startProcess(v1);
    expect(behaviour(process)).toEqual(V1);
  });

  it("behaves like v3 with KB1 and then KB2 applied, KB2 being on top of both slots", () => {
    const { process, loader } = startProcess(v1);
    loader.apply(kb1.package, keys.trust);
    expect(behaviour(process)).toEqual(V2);
    loader.apply(kb2.package, keys.trust);
    expect(behaviour(process)).toEqual(V3);
    expect(loader.installed().map((p) => p.id)).toEqual([KB1, KB2]);
    expect(loader.activePatches()).toEqual(
      new Map([
        [echoSlot, KB2],
        [delSlot, KB2],
      ]),
    );
  });

  it("refuses to revert KB1 under KB2 with E_NOT_ON_TOP naming handleEcho, changing nothing", () => {
    const { process, loader } = startProcess(v1);
    loader.apply(kb1.package, keys.trust);
    loader.apply(kb2.package, keys.trust);
    const before = snapshot(process);
    const error = refusal(() => loader.revert(KB1), "E_NOT_ON_TOP");
    expect(error.message).toContain(`patch ${KB1}`);
    expect(error.message).toContain("function handleEcho");
    expect(error.message).toContain(KB2);
    const after = snapshot(process);
    expect(changedSlots(before.entries, after.entries)).toEqual([]);
    expect(after.state).toEqual(before.state);
    expect(loader.installed().map((p) => p.id)).toEqual([KB1, KB2]);
    expect(behaviour(process)).toEqual(V3);
  });

  it("steps back from v3 to v2's echo with v1's delete on reverting KB2, then to v1 on reverting KB1", () => {
    const { process, loader } = startProcess(v1);
    const original = process.slotEntries();
    loader.apply(kb1.package, keys.trust);
    const withKb1 = process.slotEntries();
    expect(changedSlots(original, withKb1)).toEqual([echoSlot]);
    loader.apply(kb2.package, keys.trust);
    expect(changedSlots(withKb1, process.slotEntries()).sort((a, b) => a - b)).toEqual([echoSlot, delSlot].sort((a, b) => a - b));

    loader.revert(KB2);
    // Exactly KB1's entries again: handleEcho is KB1's code, handleDel is v1's own.
    expect(changedSlots(withKb1, process.slotEntries())).toEqual([]);
    expect(behaviour(process)).toEqual(V2);
    expect(loader.activePatches()).toEqual(new Map([[echoSlot, KB1]]));

    loader.revert(KB1);
    expect(changedSlots(original, process.slotEntries())).toEqual([]);
    expect(behaviour(process)).toEqual(V1);
    expect(loader.installed()).toEqual([]);
    expect(loader.activePatches()).toEqual(new Map());
  });
});
