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
import type { PatchBuildResult } from "../engine/builder/build-patch.ts";
import { buildPatch } from "../engine/builder/index.ts";
import { HotpatchError } from "../engine/errors.ts";
import { HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, Status } from "../engine/guests/index.ts";
import { delRequest, echoRequest } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { hotpatch, kvImage, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";

const KB1 = "KB5036401";
const KB2 = "KB5036402";
const keys = signingKeys();
let v1: Image;
let kb1: Awaited<ReturnType<typeof hotpatch>>;
let kb2: Extract<PatchBuildResult, { kind: "hotpatch" }>;
let echoSlot: number;
let delSlot: number;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb1 = await hotpatch(v1, kvstoreVersion("v2"), KB1, keys.privateKey);
  // An explicit empty `supersedes`: KB2 stacks on KB1 instead of replacing it (the default for a higher KB number).
  const built = await buildPatch({ base: v1, target: kvstoreVersion("v3"), id: KB2, key: keys.privateKey, supersedes: [] });
  if (built.kind !== "hotpatch") throw new Error(`expected a hotpatch for v3, got ${built.kind}: ${built.reasons.join("; ")}`);
  kb2 = built;
  echoSlot = v1.linkMap.functions.find((f) => f.key === "handleEcho")!.slot;
  delSlot = v1.linkMap.functions.find((f) => f.key === "handleDel")!.slot;
});

/** How the process answers the three probes that tell v1, v2 and v3 apart. */
function behaviour(process: GuestProcess) {
  const exploit = process.request(HEARTBLEED_REQUEST);
  return {
    exploitLeaks: exploit[0] === Status.OK && printableRuns(exploit).some((run) => run.includes("ADMIN-TOKEN=")),
    exploit: exploit.length === 1 ? [...exploit] : `${exploit.length} bytes`,
    emptyEcho: [...process.request(echoRequest("", 0))],
    missingDel: [...process.request(delRequest("no-such-key"))],
    honestEcho: [...process.request(echoRequest("ping"))],
  };
}

const PING = [Status.OK, ...new TextEncoder().encode("ping")];
const V1 = { exploitLeaks: true, exploit: "1281 bytes", emptyEcho: [Status.OK], missingDel: [Status.NOT_FOUND], honestEcho: PING };
const V2 = { exploitLeaks: false, exploit: [Status.MALFORMED], emptyEcho: [Status.OK], missingDel: [Status.NOT_FOUND], honestEcho: PING };
const V3 = { exploitLeaks: false, exploit: [Status.MALFORMED], emptyEcho: [Status.MALFORMED], missingDel: [Status.OK], honestEcho: PING };

const changedSlots = (before: unknown[], after: unknown[]) =>
  after.map((entry, slot) => (entry === before[slot] ? -1 : slot)).filter((slot) => slot >= 0);

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
    let error: unknown;
    try {
      loader.revert(KB1);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(HotpatchError);
    expect((error as HotpatchError).code).toBe("E_NOT_ON_TOP");
    expect((error as HotpatchError).message).toContain(`patch ${KB1}`);
    expect((error as HotpatchError).message).toContain("function handleEcho");
    expect((error as HotpatchError).message).toContain(KB2);
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
