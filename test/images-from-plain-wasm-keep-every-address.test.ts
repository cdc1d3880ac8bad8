/**
 * "Bring your own wasm": an image built from a plain module — here kvstore v1
 * compiled by asc *without* --debug, so it has no name section — gives every
 * function a slot, moves no address, behaves exactly like the original, and
 * can be hotpatched with a patch built between two such nameless modules.
 * Also: builds are reproducible.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, randomRequests, Status } from "../engine/guests/index.ts";
import { buildImageFromPath, type Image } from "../engine/image/index.ts";
import { hostImports } from "../engine/process/index.ts";
import { expressionText, globals } from "../engine/wasm/binaryen.ts";
import { withModule } from "../engine/wasm/index.ts";
import { DEFAULT_SPARE_SLOTS } from "../engine/wasm/instrument.ts";
import { formatSignature, readModuleSummary } from "../engine/format/index.ts";
import { hotpatch, kvImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const keys = signingKeys();
const workDir = mkdtempSync(join(tmpdir(), "hotpatch-byow-"));
let v1Wasm: string;
let v2Wasm: string;
let originalBytes: Uint8Array<ArrayBuffer>;
let image: Image;

/** Compiles a kvstore version with asc, as a user would, but without --debug. */
async function compileWithoutNames(version: string): Promise<string> {
  const source = kvstoreVersion(version);
  const outFile = join(workDir, `${version}.wasm`);
  const { default: asc } = await import("assemblyscript/asc");
  const args = [basename(source), "--baseDir", dirname(source), "-o", outFile];
  const options = ["--exportTable", "--exportRuntime", "--memoryBase", "65536", "--runtime", "incremental", "--noColors"];
  const { error, stderr } = await asc.main([...args, ...options]);
  if (error) throw new Error(`asc failed for ${version}: ${error.message}\n${stderr.toString()}`);
  return outFile;
}

beforeAll(async () => {
  v1Wasm = await compileWithoutNames("v1");
  v2Wasm = await compileWithoutNames("v2");
  originalBytes = new Uint8Array(readFileSync(v1Wasm));
  image = await buildImageFromPath(v1Wasm);
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** The original module, instantiated directly with the same host imports a process gets. */
function instantiateOriginal() {
  let memory: WebAssembly.Memory | undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(originalBytes), hostImports({}, () => memory));
  const exports = instance.exports as Record<string, unknown>;
  memory = exports.memory as WebAssembly.Memory;
  const global = (name: string) => (exports[name] as WebAssembly.Global).value as number;
  const bytes = () => new Uint8Array(memory!.buffer);
  return {
    global,
    digest: () => createHash("sha256").update(bytes()).digest("hex"),
    request(request: Uint8Array): Uint8Array {
      bytes().set(request, global("input"));
      const length = (exports.handle as (len: number) => number)(request.length);
      return bytes().slice(global("output"), global("output") + length);
    },
  };
}

describe("an image built from a nameless .wasm", () => {
  it("comes from a module without a name section, and records that its functions match by index", () => {
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(originalBytes), "name")).toHaveLength(0);
    expect(image.linkMap.source).toMatchObject({ kind: "wasm", name: "v1.wasm", namePrefix: "", names: false });
    // Built without naming a mode: a module without names defaults to slots (engine/image/build.ts defaultModeOf).
    expect(image.linkMap.mode).toBe("slots");
  });

  it("gives every defined function a slot of its own, with the function's own signature", () => {
    const summary = readModuleSummary(originalBytes);
    const count = summary.functions.length;
    expect(count).toBeGreaterThan(100);
    expect(image.linkMap.functions).toHaveLength(count);
    expect(image.linkMap.functions.map((f) => f.slot).sort((a, b) => a - b)).toEqual([...Array(count).keys()]);
    for (const fn of image.linkMap.functions) {
      // Nameless functions are keyed by their index among the defined functions.
      expect(fn.signature, `function ${fn.key}`).toBe(formatSignature(summary.types[summary.functions[Number(fn.key)]]));
    }
    const { process } = startProcess(image);
    const entries = process.slotEntries();
    expect(entries.slice(0, count).every((entry) => typeof entry === "function")).toBe(true);
    expect(entries.slice(count).every((entry) => entry === null)).toBe(true);
    expect(entries.length - count).toBe(DEFAULT_SPARE_SLOTS); // spare slots for functions that patches add
  });

  it("keeps every address: the same global values, data where it was, and byte-identical memory after start-up", () => {
    const original = instantiateOriginal();
    const { process } = startProcess(image);
    for (const name of ["input", "output", "__rtti_base"]) {
      expect(Number(process.exportedGlobal(name)), name).toBe(original.global(name));
    }
    expect(original.global("input")).toBe(65536); // --memoryBase: not moved by instrumentation
    // Every global of the original keeps its initial value (heap base, data end, stack pointer, …);
    // the only globals the image adds are activation counters, which start at 0.
    const originalGlobals = withModule(originalBytes, (module) => globals(module).map((g) => [g.name, expressionText(g.init)]));
    expect(originalGlobals).toHaveLength(readModuleSummary(originalBytes).definedGlobalCount);
    const imageGlobals = new Map(image.linkMap.globals.map((g) => [g.key, g.init]));
    for (const [key, init] of originalGlobals) expect(imageGlobals.get(key), key).toBe(init);
    const added = image.linkMap.globals.filter((g) => !originalGlobals.some(([key]) => key === g.key));
    for (const g of added) {
      expect(g.key, "only activation counters (`<function>@active`) are added").toMatch(/@active$/);
      expect(g.init.trim()).toBe("(i32.const 0)");
    }
    // Each static data segment is recorded at its address and is found there in the running process.
    expect(image.linkMap.data.length).toBeGreaterThan(0);
    for (const segment of image.linkMap.data) {
      expect(segment.offset, "active segments have an address").not.toBeNull();
      const bytes = process.read(segment.offset!, segment.size);
      expect(createHash("sha256").update(bytes).digest("hex").slice(0, 32), `segment at ${segment.offset}`).toBe(segment.sha256);
    }
    expect(process.memoryDigest()).toBe(original.digest());
  });

  it("answers 3,000 seeded random requests exactly like the original module, ending with the same memory", () => {
    const original = instantiateOriginal();
    const { process } = startProcess(image);
    const mismatches: number[] = [];
    randomRequests(7, 3_000).forEach((request, index) => {
      if (Buffer.compare(process.request(request), original.request(request)) !== 0) mismatches.push(index);
    });
    expect(mismatches).toEqual([]);
    expect(process.memoryDigest()).toBe(original.digest());
    expect(process.call("requestCount")).toBe(3_000);
  });

  it("takes a hotpatch built from v1.wasm to v2.wasm, which replaces handleEcho's slot and stops the leak", async () => {
    const result = await hotpatch(image, v2Wasm, "KB5036601", keys.privateKey);
    expect(result.functions).toHaveLength(1);
    const [fn] = result.functions;
    expect(fn.signature).toBe("(i32)->i32");
    // Nameless and named builds of v1 order their functions alike: the slot is handleEcho's.
    const named = await kvImage("v1");
    expect(fn.slot).toBe(named.linkMap.functions.find((f) => f.key === "handleEcho")!.slot);

    const { process, loader } = startProcess(image);
    const leak = process.request(HEARTBLEED_REQUEST);
    expect(printableRuns(leak).some((run) => run.includes("ADMIN-TOKEN="))).toBe(true);
    loader.apply(result.package, keys.trust);
    expect(process.request(HEARTBLEED_REQUEST)).toEqual(Uint8Array.of(Status.MALFORMED));
  });
});

describe("reproducible builds", () => {
  it("builds the same AssemblyScript source twice into the same build id and identical bytes", async () => {
    const first = await kvImage("v1"); // the fixture's slots-mode image
    const second = await buildImageFromPath(kvstoreVersion("v1"), { mode: "slots" });
    expect(second).not.toBe(first);
    expect(second.linkMap.buildId).toBe(first.linkMap.buildId);
    expect(Buffer.compare(second.bytes, first.bytes)).toBe(0);
    expect(Buffer.compare(second.module, first.module)).toBe(0);
  });

  it("builds the same .wasm twice into the same build id and identical bytes", async () => {
    const again = await buildImageFromPath(v1Wasm);
    expect(again.linkMap.buildId).toBe(image.linkMap.buildId);
    expect(Buffer.compare(again.bytes, image.bytes)).toBe(0);
  });
});
