/**
 * Differential test: a v1 kvstore that served some traffic and then received
 * the v2 hotpatch answers every later request byte for byte like a v2
 * process (its own image, built from assembly/kvstore/v2.ts) that served the
 * same traffic. Without the patch, v1 answers differently on an
 * over-declaring heartbeat, so the comparison can tell the versions apart.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { kvstoreVersion, randomRequests, Status } from "../engine/guests/index.ts";
import { Op } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { hotpatch, kvImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const PREFIX_SEED = 20240611;
const STREAM_SEED = 20240709;
const STREAM_LENGTH = 12_000;

const keys = signingKeys();
let v1: Image;
let v2: Image;
let kb: Awaited<ReturnType<typeof hotpatch>>;

beforeAll(async () => {
  [v1, v2] = await Promise.all([kvImage("v1"), kvImage("v2")]);
  kb = await hotpatch(v1, kvstoreVersion("v2"), "KB5036201", keys.privateKey);
});

/** A heartbeat that declares more payload than it carries: the only request v1 and v2 answer differently. */
function overDeclaringEcho(request: Uint8Array): boolean {
  return request[0] === Op.ECHO && request.length >= 3 && (request[1] | (request[2] << 8)) > request.length - 3;
}

/**
 * The shared history: a seeded stream without over-declaring heartbeats, so
 * v1 and v2 end it with the same keys, counters and memory.
 */
function prefix(): Uint8Array[] {
  return randomRequests(PREFIX_SEED, 2_500).filter((request) => !overDeclaringEcho(request));
}

function serve(process: GuestProcess, requests: Uint8Array[]): void {
  for (const request of requests) process.request(request);
}

interface Mismatch {
  index: number;
  request: number[];
  left: number[];
  right: number[];
}

/** Runs the stream through both processes; returns the mismatches (at most `limit`). */
function compare(left: GuestProcess, right: GuestProcess, stream: Uint8Array[], limit = 5): Mismatch[] {
  const mismatches: Mismatch[] = [];
  stream.forEach((request, index) => {
    const a = left.request(request);
    const b = right.request(request);
    if (mismatches.length < limit && Buffer.compare(a, b) !== 0) {
      mismatches.push({ index, request: [...request.subarray(0, 8)], left: [...a.subarray(0, 8)], right: [...b.subarray(0, 8)] });
    }
  });
  return mismatches;
}

describe("a hotpatched v1 process compared with a fresh v2 process", () => {
  it("ends the shared prefix in the same logical state as v2, which is what makes the comparison fair", () => {
    const history = prefix();
    expect(history.length).toBeGreaterThan(2_000);
    const left = startProcess(v1).process;
    const right = startProcess(v2).process;
    serve(left, history);
    serve(right, history);
    const { buildId: _left, ...leftState } = left.state();
    const { buildId: _right, ...rightState } = right.state();
    expect(leftState).toEqual(rightState);
    expect(leftState.globals.requests).toBe(history.length);
  });

  it("answers every one of 12,000 seeded random requests byte for byte like v2", () => {
    const stream = randomRequests(STREAM_SEED, STREAM_LENGTH);
    expect(stream.length).toBeGreaterThanOrEqual(10_000);
    // The stream exercises the fixed path often, and every operation occurs.
    expect(stream.filter(overDeclaringEcho).length).toBeGreaterThan(300);
    expect(new Set(stream.map((r) => r[0])).size).toBeGreaterThan(5);

    const history = prefix();
    const { process: patched, loader } = startProcess(v1);
    const fresh = startProcess(v2).process;
    serve(patched, history);
    serve(fresh, history);
    loader.apply(kb.package, keys.trust);

    expect(compare(patched, fresh, stream)).toEqual([]);
    // Same responses, and the same state afterwards: counters, heap and buffers.
    const { buildId: _patched, ...patchedState } = patched.state();
    const { buildId: _fresh, ...freshState } = fresh.state();
    expect(patchedState).toEqual(freshState);
    expect(patchedState.globals.requests).toBe(history.length + STREAM_LENGTH);
  });

  it("differs from v2 without the patch, first on an over-declaring heartbeat that v1 answers with leaked bytes", () => {
    const stream = randomRequests(STREAM_SEED, STREAM_LENGTH);
    const history = prefix();
    const unpatched = startProcess(v1).process;
    const fresh = startProcess(v2).process;
    serve(unpatched, history);
    serve(fresh, history);

    const [first] = compare(unpatched, fresh, stream, 1);
    expect(first).toBeDefined();
    const request = stream[first.index];
    expect(overDeclaringEcho(request)).toBe(true);
    expect(first.left[0]).toBe(Status.OK);
    expect(first.right).toEqual([Status.MALFORMED]);
    // Every earlier request was answered alike: only the bug separates the versions.
    expect(stream.slice(0, first.index).some(overDeclaringEcho)).toBe(false);
  });
});
