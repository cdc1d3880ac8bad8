/**
 * Applying and reverting a hotpatch changes which code runs, never what the
 * process remembers: a v1 kvstore keeps its stored values and its STATS
 * counters across the v2 security hotpatch and its revert, while the
 * Heartbleed-style heartbeat leak stops and comes back.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { decodeStats, getRequest, HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, putRequest, statsRequest, Status } from "../engine/guests/index.ts";
import { delRequest } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { hotpatch, kvImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const ADMIN_TOKEN = "ADMIN-TOKEN=7f3a9c-do-not-leak";
const keys = signingKeys();
let v1: Image;
let kb: Awaited<ReturnType<typeof hotpatch>>;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb = await hotpatch(v1, kvstoreVersion("v2"), "KB5036101", keys.privateKey);
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A GET response's value, after checking the status is OK. */
function storedValue(process: GuestProcess, key: string): string {
  const response = process.request(getRequest(key));
  expect(response[0], `status of GET ${key}`).toBe(Status.OK);
  return text(response.subarray(3));
}

/**
 * Six requests with a known outcome: 3 PUTs, 1 DEL, 2 GETs of which one
 * misses (1 error). Leaves the keys alpha and beta.
 */
function populate(process: GuestProcess): void {
  expect(process.request(putRequest("alpha", "first value"))).toEqual(Uint8Array.of(Status.OK));
  expect(process.request(putRequest("beta", "second value"))).toEqual(Uint8Array.of(Status.OK));
  expect(process.request(putRequest("gamma", "third value"))).toEqual(Uint8Array.of(Status.OK));
  expect(process.request(delRequest("gamma"))).toEqual(Uint8Array.of(Status.OK));
  expect(storedValue(process, "alpha")).toBe("first value");
  expect(process.request(getRequest("gamma"))).toEqual(Uint8Array.of(Status.NOT_FOUND));
}

const stats = (process: GuestProcess) => decodeStats(process.request(statsRequest()));

describe("applying and reverting the v2 hotpatch on a running v1 kvstore", () => {
  it("stops the heartbeat exploit from leaking the admin token, which it leaked before", () => {
    const { process, loader } = startProcess(v1);
    populate(process);

    const leak = process.request(HEARTBLEED_REQUEST);
    expect(leak.length).toBe(1 + 1280);
    expect(leak[0]).toBe(Status.OK);
    expect(printableRuns(leak)).toContain(ADMIN_TOKEN);

    loader.apply(kb.package, keys.trust);

    const refused = process.request(HEARTBLEED_REQUEST);
    expect(refused).toEqual(Uint8Array.of(Status.MALFORMED));
    expect(printableRuns(refused, 4)).toEqual([]);
  });

  it("changes no memory and no global when applied, and moves only the handleEcho slot", () => {
    const { process, loader } = startProcess(v1);
    populate(process);
    const entriesBefore = process.slotEntries();
    const stateBefore = process.state();

    loader.apply(kb.package, keys.trust);

    expect(process.state()).toEqual(stateBefore);
    const echoSlot = v1.linkMap.functions.find((f) => f.key === "handleEcho")!.slot;
    const moved = process
      .slotEntries()
      .map((entry, slot) => (entry === entriesBefore[slot] ? -1 : slot))
      .filter((slot) => slot >= 0);
    expect(moved).toEqual([echoSlot]);
  });

  it("keeps the stored values readable and continues the STATS counters instead of resetting them", () => {
    const { process, loader } = startProcess(v1);
    populate(process);
    const before = stats(process); // the 7th request: STATS counts itself
    expect(before).toEqual({ requests: 7, gets: 2, puts: 3, dels: 1, errors: 1, keys: 2 });

    loader.apply(kb.package, keys.trust);

    expect(process.request(HEARTBLEED_REQUEST)).toEqual(Uint8Array.of(Status.MALFORMED)); // an error now
    expect(storedValue(process, "alpha")).toBe("first value");
    expect(storedValue(process, "beta")).toBe("second value");
    expect(process.request(getRequest("gamma"))).toEqual(Uint8Array.of(Status.NOT_FOUND));
    expect(process.request(putRequest("delta", "added after the patch"))).toEqual(Uint8Array.of(Status.OK));
    const sentSince = 5;
    const after = stats(process);
    expect(after).toEqual({
      requests: before.requests + sentSince + 1,
      gets: before.gets + 3,
      puts: before.puts + 1,
      dels: before.dels,
      errors: before.errors + 2,
      keys: 3,
    });
    expect(process.state().globals.requests).toBe(13);
    expect(process.call("requestCount")).toBe(13);
  });

  it("restores the original slot entries and the leak on revert, with the state still intact", () => {
    const { process, loader } = startProcess(v1);
    const original = process.slotEntries();
    populate(process);
    loader.apply(kb.package, keys.trust);
    expect(process.request(putRequest("beta", "rewritten while patched"))).toEqual(Uint8Array.of(Status.OK));
    const patchedStats = stats(process);
    expect(patchedStats.requests).toBe(8);
    const stateBeforeRevert = process.state();

    const reverted = loader.revert("KB5036101");

    expect(reverted.id).toBe("KB5036101");
    expect(loader.installed()).toEqual([]);
    expect(process.state()).toEqual(stateBeforeRevert);
    const entries = process.slotEntries();
    expect(entries.length).toBe(original.length);
    expect(entries.filter((entry, slot) => entry !== original[slot]).length).toBe(0);

    const leak = process.request(HEARTBLEED_REQUEST);
    expect(leak.length).toBe(1 + 1280);
    expect(printableRuns(leak)).toContain(ADMIN_TOKEN);
    expect(storedValue(process, "alpha")).toBe("first value");
    expect(storedValue(process, "beta")).toBe("rewritten while patched");
    expect(stats(process)).toEqual({ ...patchedStats, requests: patchedStats.requests + 4, gets: patchedStats.gets + 2 });
  });
});
