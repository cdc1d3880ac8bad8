/**
 * Shadow variables in a live patch (assembly/corpus/kvstore/read-counts.ts):
 * a kvstore process with 400 requests of state is patched live with a new
 * per-entry read counter, attached through assembly/lib/shadow.ts to the
 * entries' existing value objects without changing their layout. Afterwards
 * the counters follow an independent model of the same seeded requests
 * (reads since the entry was last written, 0 for what the patch has not
 * seen), every other answer is the unpatched service's, and a deleted or
 * rewritten key starts fresh (the patch frees the shadow where the object is
 * dropped). Reverting zeroes and gives back the patch's block — the side
 * table with it — and the old code keeps serving; applying again, or a
 * cumulative patch superseding it, starts with no shadows.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { getRequest, putRequest, randomRequests, seededRandom, Status } from "../engine/guests/index.ts";
import { delRequest, Op } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { answer, corpus, KV_BASE, setupRequests } from "./corpus-fixtures.ts";
import { type BuiltHotpatch, hotpatch, image, inlineImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const keys = signingKeys();
const TARGET = corpus("kvstore/read-counts.ts");
const READS_OP = 7;
let base: Image;
let counts: BuiltHotpatch;

beforeAll(async () => {
  base = await image(KV_BASE);
  counts = await hotpatch(base, TARGET, "KB5038301", keys.privateKey);
});

const utf8 = (s: string) => new TextEncoder().encode(s);
const readsRequest = (key: string) => Uint8Array.from([READS_OP, utf8(key).length, ...utf8(key)]);
const keyOf = (r: Uint8Array, at: number, klen: number) => new TextDecoder().decode(r.subarray(at, at + klen));

/** What the patched service must answer: key presence and reads since the last write, from the requests alone. */
class ReadModel {
  readonly reads = new Map<string, number>(); // present keys
  /** READS answered OK so far (errors of an unpatched twin). */
  okReads = 0;

  /** Follows one request; for READS, returns the expected answer (hex). */
  serve(r: Uint8Array): string | undefined {
    const [op, klen] = r;
    if (op === 1 && r.length >= 2 && 2 + klen <= r.length) {
      const key = keyOf(r, 2, klen);
      if (this.reads.has(key)) this.reads.set(key, this.reads.get(key)! + 1);
    } else if (op === 2 && r.length >= 4) {
      const vlen = r[2] | (r[3] << 8);
      if (4 + klen + vlen <= r.length && vlen <= 4093) this.reads.set(keyOf(r, 4, klen), 0);
    } else if (op === 3 && r.length >= 2 && 2 + klen <= r.length) {
      this.reads.delete(keyOf(r, 2, klen));
    } else if (op === READS_OP) {
      if (r.length < 2 || 2 + klen > r.length) return "02";
      const count = this.reads.get(keyOf(r, 2, klen));
      if (count === undefined) return "01";
      const out = Buffer.alloc(5);
      out.writeUInt32LE(count, 1);
      return out.toString("hex");
    }
    return undefined;
  }

  /** The process was patched: nothing has a shadow yet. */
  patched(): void {
    for (const key of this.reads.keys()) this.reads.set(key, 0);
  }
}

/** The random stream with a READS of a random key (of the stream's k0…k39 and a few others) after every third request. */
function streamWithReads(seed: number, count: number): Uint8Array[] {
  const random = seededRandom(seed);
  return randomRequests(seed, count).flatMap((r, i) => (i % 3 === 2 ? [r, readsRequest(`k${Math.floor(random() * 44)}`)] : [r]));
}

const isReads = (r: Uint8Array) => r[0] === READS_OP;

/** A base process and its unpatched twin, both given the same 400 requests of state, and the model of them. */
function livePair(seed: number, of: Image = base) {
  const { process, loader } = startProcess(of);
  const twin = GuestProcess.start(of);
  const model = new ReadModel();
  for (const r of setupRequests("kvstore", seed, 400)) {
    process.request(r);
    twin.request(r);
    model.serve(r);
  }
  expect(model.reads.size).toBeGreaterThan(10);
  return { process, loader, twin, model };
}

/**
 * Serves the stream; READS must match the model, everything else the twin.
 * The twin gets the READS too (an unknown operation to it, so an error in its
 * STATS where the patched service answered OK: `model.okReads` of them).
 * Returns how many READS answered a non-zero count.
 */
function serveAndCheck(process: GuestProcess, twin: GuestProcess, model: ReadModel, stream: Uint8Array[]): number {
  let nonZero = 0;
  stream.forEach((r, index) => {
    const expected = model.serve(r);
    const got = answer(process, r);
    const old = Buffer.from(answer(twin, r), "hex");
    if (isReads(r)) {
      expect({ index, got }).toEqual({ index, got: expected });
      if (expected!.length === 10) model.okReads++;
      if (expected!.length === 10 && expected !== "0000000000") nonZero++;
    } else {
      if (r[0] === Op.STATS && r.length === 1) old.writeUInt32LE(old.readUInt32LE(17) - model.okReads, 17);
      expect({ index, got }).toEqual({ index, got: old.toString("hex") });
    }
  });
  return nonZero;
}

const reads = (process: GuestProcess, key: string) => Buffer.from(process.request(readsRequest(key))).readUInt32LE(1);

describe("a per-entry read counter attached through shadow variables", () => {
  it("builds as a hotpatch whose only data is the library's zero-filled side table", () => {
    expect(counts.kind).toBe("hotpatch");
    expect(counts.functions.map((f) => f.key)).toEqual(expect.arrayContaining(["handle", "../../lib/shadow/shadowGet"]));
    const data = counts.manifest.data!;
    expect(data).toEqual({ size: 32 + 256 * 16 + 4096, objects: [0], relocations: [] }); // header, 256 slots, 4,096 bytes of blocks
  });

  it("counts reads on a live process like a model of the same seeded requests; the old answers stay", () => {
    const { process, loader, twin, model } = livePair(7_301);
    loader.apply(counts.package, keys.trust);
    model.patched();
    const nonZero = serveAndCheck(process, twin, model, streamWithReads(7_302, 6_000));
    expect(nonZero).toBeGreaterThan(100);
    for (let k = 0; k < 44; k++) expect(answer(process, readsRequest(`k${k}`))).toBe(model.serve(readsRequest(`k${k}`)));
  });

  it("counts alike in an inline-mode image, where the library is inlined into the patched handle", async () => {
    const inline = await inlineImage(KV_BASE);
    const built = await hotpatch(inline, TARGET, "KB5038305", keys.privateKey);
    expect(built.functions.map((f) => f.key)).toContain("handle");
    const { process, loader, twin, model } = livePair(7_307, inline);
    loader.apply(built.package, keys.trust);
    model.patched();
    expect(serveAndCheck(process, twin, model, streamWithReads(7_308, 3_000))).toBeGreaterThan(50);
  });

  it("frees the shadow where the object goes: a deleted-then-recreated or rewritten key starts at 0", () => {
    const { process, loader } = startProcess(base);
    loader.apply(counts.package, keys.trust);
    process.request(putRequest("customer:42", "alice"));
    for (let i = 0; i < 3; i++) process.request(getRequest("customer:42"));
    expect(reads(process, "customer:42")).toBe(3);
    expect(process.request(delRequest("customer:42"))[0]).toBe(Status.OK);
    expect(process.request(readsRequest("customer:42"))).toEqual(Uint8Array.from([Status.NOT_FOUND]));
    process.request(putRequest("customer:42", "bob"));
    expect(reads(process, "customer:42")).toBe(0);
    process.request(getRequest("customer:42"));
    expect(reads(process, "customer:42")).toBe(1);
    process.request(putRequest("customer:42", "carol")); // the old value object is dropped: so is its shadow (a patch that forgot would leave it to whatever object reuses the address; the seeded runs catch that)
    expect(reads(process, "customer:42")).toBe(0);
  });

  it("gives the side table back on revert: the block is zeroed and freed, the old code serves, applying again starts empty", () => {
    const { process, loader, twin, model } = livePair(7_303);
    const free = loader.arenaFreeBytes()!;
    const placed = loader.apply(counts.package, keys.trust).data!;
    model.patched();
    expect(serveAndCheck(process, twin, model, streamWithReads(7_304, 1_500))).toBeGreaterThan(20);
    expect(process.read(placed.at, placed.size).some((b) => b !== 0)).toBe(true); // the shadows live in the patch's block

    loader.revert("KB5038301");
    expect(process.read(placed.at, placed.size).every((b) => b === 0)).toBe(true);
    expect(loader.arenaFreeBytes()).toBe(free);
    expect(process.request(readsRequest("k1"))).toEqual(Uint8Array.from([Status.UNKNOWN_OP]));
    twin.request(readsRequest("k1")); // an unknown operation to both now
    serveAndCheck(process, twin, model, randomRequests(7_305, 1_000).filter((r) => !isReads(r)));

    expect(loader.apply(counts.package, keys.trust).data!.at).toBe(placed.at);
    model.patched();
    expect(model.reads.size).toBeGreaterThan(10);
    expect(serveAndCheck(process, twin, model, [...model.reads.keys()].map(readsRequest))).toBe(0); // every entry at 0
    expect(serveAndCheck(process, twin, model, streamWithReads(7_306, 1_500))).toBeGreaterThan(20);
  });

  it("loses the shadows when a cumulative patch supersedes the patch that made them, and again when it is reverted", async () => {
    const next = await hotpatch(base, TARGET, "KB5038302", keys.privateKey);
    const { process, loader } = startProcess(base);
    loader.apply(counts.package, keys.trust);
    process.request(putRequest("k1", "v"));
    process.request(getRequest("k1"));
    expect(reads(process, "k1")).toBe(1);
    loader.apply(next.package, keys.trust); // the same code and table, but its own fresh block
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038302"]);
    expect(reads(process, "k1")).toBe(0);
    process.request(getRequest("k1"));
    process.request(getRequest("k1"));
    expect(reads(process, "k1")).toBe(2);
    loader.revert("KB5038302"); // KB5038301 is linked again, its block placed afresh
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038301"]);
    expect(reads(process, "k1")).toBe(0);
  });

  it("gives patches stacked per function (supersedes none) a table each: reverting the top one finds the lower one's shadows again", async () => {
    const [lower, upper] = await Promise.all([hotpatch(base, TARGET, "KB5038303", keys.privateKey, []), hotpatch(base, TARGET, "KB5038304", keys.privateKey, [])]);
    const { process, loader } = startProcess(base);
    loader.apply(lower.package, keys.trust);
    process.request(putRequest("k1", "v"));
    process.request(getRequest("k1"));
    process.request(getRequest("k1"));
    expect(reads(process, "k1")).toBe(2);
    loader.apply(upper.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038303", "KB5038304"]);
    expect(reads(process, "k1")).toBe(0); // the upper patch's code reads its own table
    process.request(getRequest("k1"));
    expect(reads(process, "k1")).toBe(1);
    loader.revert("KB5038304");
    expect(reads(process, "k1")).toBe(2); // the lower patch's block was never touched
  });
});
