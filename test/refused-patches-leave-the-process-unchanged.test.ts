/**
 * Every way the loader refuses a patch, each with its stable error code, a
 * message that names the patch (and the function where there is one), and
 * proof that the running process did not change: the same slot entries
 * (compared with ===), the same memory digest and the same globals.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode } from "../engine/errors.ts";
import { HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, Status } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import type { PatchLoader } from "../engine/loader/index.ts";
import type { FunctionReplacement } from "../engine/patch/manifest.ts";
import { decodePackage, encodePackage, type PatchManifest, resignPackage } from "../engine/patch/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { changedSlots, hotpatch, kvImage, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";
import { refusal } from "./refusal.ts";
import { funcType, I32, leb, name, SECTION, section, unreachableBody, vec, wasmModule } from "./wasm-bytes.ts";

const keys = signingKeys();
const stranger = signingKeys();
let v1: Image;
let kb: Awaited<ReturnType<typeof hotpatch>>;
/** v2 → v3: a genuine patch, but for the v2 image. */
let kbForV2: Awaited<ReturnType<typeof hotpatch>>;
let realCode: Uint8Array;
let echoSlot: number;

beforeAll(async () => {
  v1 = await kvImage("v1");
  kb = await hotpatch(v1, kvstoreVersion("v2"), "KB5036301", keys.privateKey);
  kbForV2 = await hotpatch(await kvImage("v2"), kvstoreVersion("v3"), "KB5036399", keys.privateKey);
  realCode = decodePackage(kb.package).code;
  echoSlot = v1.linkMap.functions.find((f) => f.key === "handleEcho")!.slot;
});

/**
 * Runs `action`, which must be refused with `code` by a message that starts
 * with the code and names each of `named`, and proves the process and the
 * loader unchanged.
 */
function refusedUnchanged(process: GuestProcess, loader: PatchLoader, action: () => unknown, code: ErrorCode, ...named: string[]): void {
  const before = snapshot(process);
  const installed = loader.installed().map((p) => p.id);
  const active = loader.activePatches();
  const error = refusal(action, code);
  expect(error.message.startsWith(`${code}: `)).toBe(true);
  for (const text of named) expect(error.message).toContain(text);
  const after = snapshot(process);
  expect(after.entries.length).toBe(before.entries.length);
  expect(changedSlots(before.entries, after.entries)).toEqual([]);
  expect(after.state.memoryDigest).toBe(before.state.memoryDigest);
  expect(after.state).toEqual(before.state);
  expect(loader.installed().map((p) => p.id)).toEqual(installed);
  expect(loader.activePatches()).toEqual(active);
}

/** The v1 process still has the bug: the exploit leaks (for refusals of the fix). */
function stillLeaks(process: GuestProcess): void {
  const response = process.request(HEARTBLEED_REQUEST);
  expect(response[0]).toBe(Status.OK);
  expect(printableRuns(response).some((run) => run.includes("ADMIN-TOKEN="))).toBe(true);
}

/** KB's manifest under another id, superseding nothing, with `edit` applied to its one function; signed by the trusted key. */
function crafted(id: string, code: Uint8Array, edit: (fn: FunctionReplacement) => void = () => {}, editManifest: (m: PatchManifest) => void = () => {}): Uint8Array {
  const manifest: PatchManifest = structuredClone(kb.manifest);
  manifest.id = id;
  manifest.supersedes = []; // stacks on KB rather than replacing it (the default for a higher KB number)
  if (code !== realCode) delete manifest.callers; // hand-assembled pages call no other slot
  edit(manifest.functions[0]);
  editManifest(manifest);
  return encodePackage({ manifest, code }, keys.privateKey, { validate: false });
}

// Hand-assembled code pages. Each one exports `fn:<slot>` as the manifest says.
const MEMORY_IMPORT = [...name("hotpatch"), ...name("memory"), 0x02, 0x00, 0x01];
const identityBody = () => [...leb(4), 0x00, 0x20, 0x00, 0x0b]; // local.get 0

/** i32.const with a non-negative value below 2^27 (its unsigned LEB is also valid signed LEB). */
function i32Const(value: number): number[] {
  const bytes = leb(value);
  if ((bytes[bytes.length - 1] & 0x40) !== 0) throw new Error(`i32.const ${value} needs a sign-aware encoding`);
  return [0x41, ...bytes];
}

/** A valid handleEcho replacement plus an active data segment that would write "PWNED" into `output`. */
function codeWithData(slot: number, address: number): Uint8Array<ArrayBuffer> {
  const payload = [...new TextEncoder().encode("PWNED")];
  return wasmModule(
    section(SECTION.type, vec([funcType([I32], [I32])])),
    section(SECTION.import, vec([MEMORY_IMPORT])),
    section(SECTION.function, vec([[0]])),
    section(SECTION.export, vec([[...name(`fn:${slot}`), 0x00, 0]])),
    section(SECTION.code, vec([identityBody()])),
    section(SECTION.data, vec([[0x00, ...i32Const(address), 0x0b, ...leb(payload.length), ...payload]])),
  );
}

/** A valid handleEcho replacement plus a start function that would store a word into `output`. */
function codeWithStart(slot: number, address: number): Uint8Array<ArrayBuffer> {
  const store = [0x00, ...i32Const(address), ...i32Const(0x0bad), 0x36, 0x02, 0x00, 0x0b]; // i32.store align=4
  return wasmModule(
    section(SECTION.type, vec([funcType([I32], [I32]), funcType([], [])])),
    section(SECTION.import, vec([MEMORY_IMPORT])),
    section(SECTION.function, vec([[0], [1]])),
    section(SECTION.export, vec([[...name(`fn:${slot}`), 0x00, 0]])),
    section(SECTION.start, leb(1)),
    section(SECTION.code, vec([identityBody(), [...leb(store.length), ...store]])),
  );
}

/** A replacement that imports a host function no process provides. */
function codeWithForeignImport(slot: number): Uint8Array<ArrayBuffer> {
  return wasmModule(
    section(SECTION.type, vec([funcType([], []), funcType([I32], [I32])])),
    section(SECTION.import, vec([[...name("env"), ...name("launchMissiles"), 0x00, 0]])),
    section(SECTION.function, vec([[1]])),
    section(SECTION.export, vec([[...name(`fn:${slot}`), 0x00, 1]])), // function 0 is the import
    section(SECTION.code, vec([unreachableBody()])),
  );
}

/** A replacement of type ()->i32 (handleEcho is (i32)->i32). */
function codeOfSignatureVoidToI32(slot: number): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...i32Const(7), 0x0b];
  return wasmModule(
    section(SECTION.type, vec([funcType([], [I32])])),
    section(SECTION.function, vec([[0]])),
    section(SECTION.export, vec([[...name(`fn:${slot}`), 0x00, 0]])),
    section(SECTION.code, vec([[...leb(body.length), ...body]])),
  );
}

/** Well-formed sections, but a body that leaves no i32 for its (i32)->i32 type: does not validate. */
function codeThatDoesNotValidate(slot: number): Uint8Array<ArrayBuffer> {
  return wasmModule(
    section(SECTION.type, vec([funcType([I32], [I32])])),
    section(SECTION.function, vec([[0]])),
    section(SECTION.export, vec([[...name(`fn:${slot}`), 0x00, 0]])),
    section(SECTION.code, vec([[...leb(2), 0x00, 0x0b]])),
  );
}

describe("refusals at staging: the package itself", () => {
  it("refuses a package with a flipped code byte and the old signature with E_SIGNATURE naming the patch", () => {
    const { process, loader } = startProcess(v1);
    const bytes = kb.package.slice();
    const decoded = decodePackage(bytes);
    const codeEnd = decoded.signedBytes.length;
    bytes[codeEnd - 1] ^= 0x01; // last byte of the code page, inside the signed region
    expect(decodePackage(bytes).keyId).toBe(decoded.keyId);
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SIGNATURE", "patch KB5036301");
    stillLeaks(process);
  });

  it("refuses a manifest redirected to another slot under the old signature with E_SIGNATURE", () => {
    const { process, loader } = startProcess(v1);
    const bytes = kb.package.slice();
    const from = Buffer.from(`"slot":${echoSlot}`);
    const to = Buffer.from(`"slot":${echoSlot + 1}`);
    expect(to.length).toBe(from.length);
    const at = Buffer.from(bytes).indexOf(from);
    expect(at).toBeGreaterThan(0);
    bytes.set(to, at);
    expect((decodePackage(bytes).manifest.functions as { slot: number }[])[0].slot).toBe(echoSlot + 1);
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SIGNATURE", "patch KB5036301");
  });

  it("refuses a package signed by a key the process does not trust with E_UNTRUSTED_KEY", () => {
    const { process, loader } = startProcess(v1);
    const foreign = resignPackage(kb.package, stranger.privateKey);
    expect(() => decodePackage(foreign)).not.toThrow();
    refusedUnchanged(process, loader, () => loader.apply(foreign, keys.trust), "E_UNTRUSTED_KEY", "patch KB5036301");
    stillLeaks(process);
  });

  it("refuses a truncated package with E_FORMAT naming the patch", () => {
    const { process, loader } = startProcess(v1);
    const truncated = kb.package.subarray(0, kb.package.length - 10);
    refusedUnchanged(process, loader, () => loader.apply(truncated, keys.trust), "E_FORMAT", "patch KB5036301", "truncated");
  });

  it("refuses a properly signed package of an unknown format version with E_FORMAT", () => {
    const { process, loader } = startProcess(v1);
    const bytes = kb.package.slice();
    bytes[4] = 2; // u16 format version
    const resigned = resignPackage(bytes, keys.privateKey);
    // The version is read before the manifest, whose layout it defines: no patch id is known yet.
    refusedUnchanged(process, loader, () => loader.apply(resigned, keys.trust), "E_FORMAT", "version 2 is not supported");
  });

  it("refuses a signed code page that carries a data segment with E_FORMAT, before it can write memory", () => {
    const { process, loader } = startProcess(v1);
    const output = Number(process.exportedGlobal("output"));
    const code = codeWithData(echoSlot, output);
    expect(() => new WebAssembly.Module(code)).not.toThrow();
    refusedUnchanged(process, loader, () => loader.apply(crafted("KB5036302", code), keys.trust), "E_FORMAT", "patch KB5036302", "data segment");
    expect(Buffer.from(process.read(output, 5)).toString("latin1")).not.toBe("PWNED");
  });

  it("refuses a signed code page with a start function with E_FORMAT", () => {
    const { process, loader } = startProcess(v1);
    const code = codeWithStart(echoSlot, Number(process.exportedGlobal("output")));
    expect(() => new WebAssembly.Module(code)).not.toThrow();
    refusedUnchanged(process, loader, () => loader.apply(crafted("KB5036303", code), keys.trust), "E_FORMAT", "patch KB5036303", "start function");
  });

  it("refuses a manifest whose signature differs from the code page's export with E_SLOT_SIGNATURE naming the function", () => {
    const { process, loader } = startProcess(v1);
    const bytes = crafted("KB5036304", realCode, (fn) => {
      fn.signature = "(i32,i32)->i32";
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SLOT_SIGNATURE", "patch KB5036304", "function handleEcho", "(i32)->i32", "(i32,i32)->i32");
  });

  it("refuses a code page that is not valid WebAssembly with E_COMPILE", () => {
    const { process, loader } = startProcess(v1);
    refusedUnchanged(process, loader, () => loader.apply(crafted("KB5036305", codeThatDoesNotValidate(echoSlot)), keys.trust), "E_COMPILE", "patch KB5036305");
  });
});

describe("refusals at link time: the patch against this process", () => {
  it("refuses a patch built for another image with E_TARGET_MISMATCH naming both builds", () => {
    const { process, loader } = startProcess(v1);
    expect(kbForV2.manifest.target.buildId).not.toBe(v1.linkMap.buildId);
    refusedUnchanged(process, loader, () => loader.apply(kbForV2.package, keys.trust), "E_TARGET_MISMATCH", "patch KB5036399", kbForV2.manifest.target.buildId, v1.linkMap.buildId);
    stillLeaks(process);
  });

  it("refuses a replacement whose signature differs from the slot's with E_SLOT_SIGNATURE naming function and slot", () => {
    const { process, loader } = startProcess(v1);
    const bytes = crafted("KB5036306", codeOfSignatureVoidToI32(echoSlot), (fn) => {
      fn.signature = "()->i32";
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SLOT_SIGNATURE", "patch KB5036306", "function handleEcho", `slot ${echoSlot}`, "(i32)->i32", "()->i32");
    stillLeaks(process);
  });

  it("refuses a slot beyond the slot table with E_SLOT naming the function and the slot", () => {
    const { process, loader } = startProcess(v1);
    const size = v1.linkMap.slots.size;
    expect(process.slots.length).toBe(size);
    const bytes = crafted("KB5036307", realCode, (fn) => {
      fn.slot = size;
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SLOT", "patch KB5036307", "function handleEcho", `slot ${size}`);
  });

  it("refuses a slot that holds another function with E_SLOT", () => {
    const { process, loader } = startProcess(v1);
    const handle = v1.linkMap.functions.find((f) => f.key === "handle")!;
    expect(handle.signature).toBe("(i32)->i32");
    const bytes = crafted("KB5036308", realCode, (fn) => {
      fn.slot = handle.slot;
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_SLOT", "patch KB5036308", "function handleEcho", `slot ${handle.slot}`, "holds handle");
  });

  it("refuses a caller-table entry whose signature differs from its slot's with E_LINK naming the slot and both signatures", () => {
    const { process, loader } = startProcess(v1);
    const callers = kb.manifest.callers!;
    expect(callers.length).toBeGreaterThan(0); // handleEcho calls other slots through its caller table
    const bytes = crafted("KB5036311", realCode, undefined, (m) => {
      m.callers![0].signature = "(f64)->f64";
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_LINK", "patch KB5036311", `slot ${callers[0].slot}`, "(f64)->f64", callers[0].signature);
    stillLeaks(process);
  });

  it("refuses a caller-table entry for a slot without a caller (a spare slot) with E_LINK naming the slot", () => {
    const { process, loader } = startProcess(v1);
    const spare = v1.linkMap.slots.firstFree;
    const bytes = crafted("KB5036312", realCode, undefined, (m) => {
      m.callers![0].slot = spare;
    });
    refusedUnchanged(process, loader, () => loader.apply(bytes, keys.trust), "E_LINK", "patch KB5036312", `slot ${spare}`, "no caller");
    stillLeaks(process);
  });

  it("refuses at staging a manifest whose caller list does not match the code page's caller table with E_FORMAT", () => {
    const { process, loader } = startProcess(v1);
    const missing = crafted("KB5036313", realCode, undefined, (m) => {
      delete m.callers;
    });
    refusedUnchanged(process, loader, () => loader.apply(missing, keys.trust), "E_FORMAT", "patch KB5036313", "0 caller(s)", "patch.callers");
    const extra = crafted("KB5036314", codeOfSignatureVoidToI32(echoSlot), undefined, (m) => {
      m.callers = [{ slot: 0, signature: "()->()" }];
    });
    refusedUnchanged(process, loader, () => loader.apply(extra, keys.trust), "E_FORMAT", "patch KB5036314", "1 caller(s)", "no caller table");
  });

  it("refuses a code page importing what the process does not provide with E_LINK naming the import", () => {
    const { process, loader } = startProcess(v1);
    refusedUnchanged(process, loader, () => loader.apply(crafted("KB5036309", codeWithForeignImport(echoSlot)), keys.trust), "E_LINK", "patch KB5036309", "env.launchMissiles");
    stillLeaks(process);
  });
});

describe("refusals of the patch stack", () => {
  it("refuses to apply an installed patch again with E_ALREADY_APPLIED", () => {
    const { process, loader } = startProcess(v1);
    loader.apply(kb.package, keys.trust);
    refusedUnchanged(process, loader, () => loader.apply(kb.package, keys.trust), "E_ALREADY_APPLIED", "patch KB5036301");
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5036301"]);
  });

  it("refuses to revert a patch that is not on top of its function with E_NOT_ON_TOP naming the function and the patch above", () => {
    const { process, loader } = startProcess(v1);
    const original = process.slotEntries();
    loader.apply(kb.package, keys.trust);
    loader.apply(crafted("KB5036310", realCode), keys.trust); // the same fix again, on top
    refusedUnchanged(process, loader, () => loader.revert("KB5036301"), "E_NOT_ON_TOP", "patch KB5036301", "function handleEcho", "KB5036310");
    expect(loader.activePatches()).toEqual(new Map([[echoSlot, "KB5036310"]]));
    // In the right order both come off, back to the image's own entries.
    loader.revert("KB5036310");
    loader.revert("KB5036301");
    expect(changedSlots(original, process.slotEntries())).toEqual([]);
  });

  it("refuses to revert a patch that is not installed, or no longer, with E_NOT_APPLIED", () => {
    const { process, loader } = startProcess(v1);
    refusedUnchanged(process, loader, () => loader.revert("KB5036301"), "E_NOT_APPLIED", "patch KB5036301");
    loader.apply(kb.package, keys.trust);
    loader.revert("KB5036301");
    refusedUnchanged(process, loader, () => loader.revert("KB5036301"), "E_NOT_APPLIED", "patch KB5036301");
    stillLeaks(process);
  });
});
