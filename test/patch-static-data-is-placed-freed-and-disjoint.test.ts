/**
 * Static data in patches, on the calc guest: a patch's new objects are placed
 * in the process's patch arena when it is applied, zeroed and freed when it
 * is reverted (1,000 cycles reuse the same space), and patches installed
 * together never share a byte. Also: a changed constant table is served from
 * the arena (checked against an independent CRC-32C model), and a function
 * the optimiser would inline stays patchable.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { crc, crcRequest, decodeCrc, decodeMessage, Instr, messageRequest, Native, op, push, runRequest } from "../engine/guests/calc.ts";
import { calcVersion } from "../engine/guests/index.ts";
import { compileAssemblyScript } from "../engine/image/compile-as.ts";
import type { Image } from "../engine/image/index.ts";
import { definedFunctions } from "../engine/wasm/binaryen.ts";
import { optimize, withModule } from "../engine/wasm/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { CALC_V1, calcCorpus } from "./corpus-fixtures.ts";
import { type BuiltHotpatch, hotpatch, image, signingKeys, startProcess } from "./guest-fixtures.ts";

const keys = signingKeys();
let v1: Image;
let exponent: BuiltHotpatch; // v3: a new message string and a new message table
let message: BuiltHotpatch; // message-text: another string and another table
let castagnoli: BuiltHotpatch; // crc32c: a new CRC table

/** A patch of calc v1 that stacks on whatever is installed (supersedes nothing). */
const build = (id: string, target: string) => hotpatch(v1, target, id, keys.privateKey, []);

beforeAll(async () => {
  v1 = await image(CALC_V1);
  [exponent, message, castagnoli] = await Promise.all([
    build("KB5038201", calcVersion("v3")),
    build("KB5038202", calcCorpus("message-text")),
    build("KB5038203", calcCorpus("crc32c")),
  ]);
});

const utf16 = (text: string) => Buffer.from(text, "utf16le");
const contains = (haystack: Uint8Array, needle: Uint8Array) => Buffer.from(haystack).indexOf(needle) >= 0;
const BAD_INSTRUCTION = runRequest([op(0x1f)]);
const TOO_LARGE_EXPONENT = runRequest([push(3), push(70), op(Instr.NATIVE, Native.POW)]);
const lastMessage = (process: GuestProcess, request: Uint8Array) => {
  process.request(request);
  return decodeMessage(process.request(messageRequest()));
};

describe("static data of patches in the patch arena", () => {
  it("gives every patch with data a block inside the arena, below the image's static data", () => {
    const arena = v1.linkMap.static!.arena;
    expect(arena.end).toBeLessThanOrEqual(v1.linkMap.static!.objects[0].offset);
    for (const patch of [exponent, message, castagnoli]) expect(patch.manifest.data!.size).toBeGreaterThan(0);
    const { loader } = startProcess(v1);
    const placed = loader.apply(exponent.package, keys.trust).data!;
    expect(placed.at).toBeGreaterThanOrEqual(arena.start);
    expect(placed.at + placed.size).toBeLessThanOrEqual(arena.end);
  });

  it("reuses the same block over 1,000 apply/revert cycles, zeroing it each time", () => {
    const { process, loader } = startProcess(v1);
    const free = loader.arenaFreeBytes()!;
    const first = loader.apply(exponent.package, keys.trust).data!;
    loader.revert(exponent.manifest.id);
    const staged = exponent.package;
    for (let cycle = 0; cycle < 1_000; cycle++) {
      const placed = loader.apply(staged, keys.trust).data!;
      expect(placed.at).toBe(first.at);
      if (cycle % 100 === 0) {
        expect(contains(process.read(placed.at, placed.size), utf16("exponent too large"))).toBe(true);
        expect(lastMessage(process, TOO_LARGE_EXPONENT)).toBe("exponent too large");
      }
      loader.revert(exponent.manifest.id);
      expect(loader.arenaFreeBytes()).toBe(free);
      if (cycle % 100 === 0) {
        expect(process.read(placed.at, placed.size).every((b) => b === 0)).toBe(true);
        expect(lastMessage(process, TOO_LARGE_EXPONENT)).toBe("ok"); // v1 computes the power
      }
    }
    expect(loader.installed()).toEqual([]);
  });

  it("never lets two installed patches overlap, each reading its own objects", () => {
    const { process, loader } = startProcess(v1);
    const free = loader.arenaFreeBytes()!;
    for (const patch of [message, exponent, castagnoli]) loader.apply(patch.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038202", "KB5038201", "KB5038203"]);
    const blocks = loader.installed().map((p) => p.data!);
    const sorted = [...blocks].sort((a, b) => a.at - b.at);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1].at + sorted[i - 1].size).toBeLessThanOrEqual(sorted[i].at);
    expect(free - loader.arenaFreeBytes()!).toBeGreaterThanOrEqual(blocks.reduce((sum, b) => sum + b.size, 0));

    // Each block holds its own patch's objects, and the code reaches them.
    const [b, a, c] = blocks.map((block) => process.read(block.at, block.size));
    expect(contains(a, utf16("exponent too large"))).toBe(true);
    expect(contains(b, utf16("unknown opcode or native"))).toBe(true);
    const table = Buffer.alloc(4);
    table.writeUInt32LE(0x82f63b78);
    expect(contains(c, table)).toBe(true);
    expect(contains(a, utf16("unknown opcode or native")) || contains(b, utf16("exponent too large"))).toBe(false);
    // handleMessage runs v3's version (applied over message-text's), crc32 the Castagnoli one.
    expect(lastMessage(process, TOO_LARGE_EXPONENT)).toBe("exponent too large");
    const bytes = Uint8Array.from([1, 2, 3, 250, 0, 77]);
    expect(decodeCrc(process.request(crcRequest(bytes)))).toBe(crc(bytes, 0x82f63b78));

    // Reverting in reverse order frees and zeroes each block.
    loader.revert("KB5038203");
    expect(decodeCrc(process.request(crcRequest(bytes)))).toBe(crc(bytes));
    loader.revert("KB5038201");
    expect(lastMessage(process, BAD_INSTRUCTION)).toBe("unknown opcode or native");
    loader.revert("KB5038202");
    expect(lastMessage(process, BAD_INSTRUCTION)).toBe("bad instruction");
    for (const block of blocks) expect(process.read(block.at, block.size).every((x) => x === 0)).toBe(true);
    expect(loader.arenaFreeBytes()).toBe(free);
  });
});

describe("a function the optimiser inlines", () => {
  it("disappears from a plain optimised build but keeps its own slot, so register-bounds patches validRegister alone", async () => {
    const { wasm } = await compileAssemblyScript(CALC_V1);
    const plain = withModule(wasm, (module) => {
      optimize(module);
      return definedFunctions(module).map((f) => f.name);
    });
    expect(plain).toContain("v1/handle");
    expect(plain).not.toContain("v1/validRegister"); // inlined (with execute and handleRun) into handle
    expect(v1.linkMap.functions.map((f) => f.key)).toContain("validRegister");

    const built = await build("KB5038204", calcCorpus("register-bounds"));
    expect(built.functions.map((f) => f.key)).toEqual(["validRegister"]);
    const { process, loader } = startProcess(v1);
    const storeIntoRegister16 = runRequest([push(5), op(Instr.STORE, 16)]);
    expect(process.request(storeIntoRegister16)[0]).toBe(0); // v1 writes past the registers
    loader.apply(built.package, keys.trust);
    expect(process.request(storeIntoRegister16)[0]).toBe(6); // malformed
  });
});
