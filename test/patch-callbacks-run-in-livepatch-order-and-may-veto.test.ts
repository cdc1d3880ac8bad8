/**
 * Pre/post (un)patch callbacks, as livepatch runs them (engine/loader/callbacks.ts),
 * on the kvstore corpus base (assembly/corpus/kvstore/):
 * - lock-veto.ts: the ECHO fix with a pre-patch callback that vetoes (code 1,
 *   message from its `// @hotpatch-veto` line) while the store holds the key "lock";
 * - callbacks-log.ts: the ECHO fix with all four callbacks, each appending a
 *   letter to the value of the key "callbacks" (P pre-patch, p post-patch,
 *   U pre-unpatch, u post-unpatch), so the order is visible in guest state.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { delRequest, getRequest, putRequest } from "../engine/guests/kvstore.ts";
import { HEARTBLEED_REQUEST } from "../engine/guests/index.ts";
import type { Image } from "../engine/image/index.ts";
import { stagePatch } from "../engine/loader/index.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { corpus, KV_BASE, setupRequests } from "./corpus-fixtures.ts";
import { type BuiltHotpatch, hotpatch, image, inlineImage, signingKeys, startProcess } from "./guest-fixtures.ts";
import { refusal } from "./refusal.ts";

const keys = signingKeys();
let base: Image;
let veto: BuiltHotpatch;
let logged: BuiltHotpatch;

/** The letters the callbacks appended so far ("" before any ran). */
function callbackLog(process: GuestProcess): string {
  const response = process.request(getRequest("callbacks"));
  if (response[0] !== 0) return "";
  const length = response[1] | (response[2] << 8);
  return Buffer.from(response.subarray(3, 3 + length)).toString("latin1");
}

/** A process with some keys in the store, and its loader. */
function started() {
  const started = startProcess(base);
  for (const request of setupRequests("kvstore", 18_001, 200)) started.process.request(request);
  return started;
}

/**
 * Everything a guest can observe of itself: the slot table, every global,
 * and every byte of memory except the dead part of AssemblyScript's shadow
 * stack (from `__data_end` up to the stack pointer), which any call into the
 * guest — a callback too — uses as scratch.
 */
function liveSnapshot(process: GuestProcess) {
  const { globals } = process.state();
  const memory = new Uint8Array(process.memory?.buffer ?? new ArrayBuffer(0));
  const dead = [Number(globals["~lib/memory/__data_end"]), Number(globals["~lib/memory/__stack_pointer"])];
  const digest = createHash("sha256").update(memory.subarray(0, dead[0])).update(memory.subarray(dead[1])).digest("hex");
  return { entries: process.slotEntries(), globals, memory: digest };
}

/** True when ECHO still leaks memory behind the request (the unpatched base). */
const leaks = (process: GuestProcess) => process.request(HEARTBLEED_REQUEST).length > 100;

beforeAll(async () => {
  base = await image(KV_BASE);
  [veto, logged] = await Promise.all([
    hotpatch(base, corpus("kvstore/lock-veto.ts"), "KB5040101", keys.privateKey),
    hotpatch(base, corpus("kvstore/callbacks-log.ts"), "KB5040201", keys.privateKey),
  ]);
});

describe("the builder", () => {
  it("carries the callbacks in the code page and names them and the veto messages in the manifest, not as replaced functions", () => {
    expect(veto.manifest.callbacks).toEqual({ prePatch: "__hotpatch_pre_patch", vetoes: [{ code: 1, message: 'a client holds the "lock" key; apply again once it is deleted' }] });
    expect(veto.manifest.functions.map((f) => f.key)).toEqual(["handleEcho"]);
    expect(logged.manifest.callbacks).toEqual({
      prePatch: "__hotpatch_pre_patch",
      postPatch: "__hotpatch_post_patch",
      preUnpatch: "__hotpatch_pre_unpatch",
      postUnpatch: "__hotpatch_post_unpatch",
    });
    expect(logged.manifest.functions.map((f) => f.key)).not.toContain("__hotpatch_pre_patch");
  });
});

describe("a vetoing pre-patch callback", () => {
  it("refuses the patch with its message (E_VETOED) and leaves memory, globals and slots exactly as they were", () => {
    const { process, loader } = started();
    process.request(putRequest("lock", "held"));
    const before = liveSnapshot(process);
    const error = refusal(() => loader.apply(veto.package, keys.trust), "E_VETOED");
    expect(error.message).toBe('E_VETOED: patch KB5040101: the pre-patch callback vetoed it with code 1: a client holds the "lock" key; apply again once it is deleted');
    expect(liveSnapshot(process)).toEqual(before);
    expect(loader.installed()).toEqual([]);
    expect(leaks(process)).toBe(true);
  });

  it("lets the patch go on once the condition is gone (it returns 0)", () => {
    const { process, loader } = started();
    process.request(putRequest("lock", "held"));
    refusal(() => loader.apply(veto.package, keys.trust), "E_VETOED");
    process.request(delRequest("lock"));
    loader.apply(veto.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040101"]);
    expect(leaks(process)).toBe(false);
  });
});

describe("an inline-mode image (the default)", () => {
  it("takes callbacks too: their host entries and redirect flags are left out of the code page", async () => {
    const inline = await inlineImage(KV_BASE);
    const built = await hotpatch(inline, corpus("kvstore/callbacks-log.ts"), "KB5040202", keys.privateKey);
    const { process, loader } = startProcess(inline);
    loader.apply(built.package, keys.trust);
    loader.revert("KB5040202");
    expect(callbackLog(process)).toBe("PpUu");
  });
});

describe("pre-patch and post-patch, pre-unpatch and post-unpatch", () => {
  it("run once each per apply and per revert, in that order", () => {
    const { process, loader } = started();
    loader.apply(logged.package, keys.trust);
    expect(callbackLog(process)).toBe("Pp");
    expect(leaks(process)).toBe(false);
    loader.revert("KB5040201");
    expect(callbackLog(process)).toBe("PpUu");
    expect(leaks(process)).toBe(true);
    loader.apply(logged.package, keys.trust);
    expect(callbackLog(process)).toBe("PpUuPp");
  });

  it("stay paired when a prepared switch is discarded: an abandoned apply runs post-unpatch, an abandoned revert post-patch", () => {
    const { process, loader } = started();
    loader.discard(loader.prepare(stagePatch(logged.package, keys.trust)));
    expect(callbackLog(process)).toBe("Pu");
    expect(loader.installed()).toEqual([]);
    loader.apply(logged.package, keys.trust);
    loader.discard(loader.prepareRevert("KB5040201"));
    expect(callbackLog(process)).toBe("PuPpUp");
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040201"]);
  });

  it("run pre-patch and post-patch again when the patch is re-applied to a restarted process (its memory is new)", () => {
    const { process, loader } = started();
    loader.apply(logged.package, keys.trust);
    const restarted = GuestProcess.start(base);
    loader.reattach(restarted);
    expect(callbackLog(restarted)).toBe("Pp");
    expect(callbackLog(process)).toBe("Pp");
    loader.revert("KB5040201");
    expect(callbackLog(restarted)).toBe("PpUu");
  });

  it("leave nothing placed when a cumulative patch's pre-unpatch traps: the patches it superseded are unlinked again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hotpatch-callbacks-"));
    try {
      const source = readFileSync(corpus("kvstore/callbacks-log.ts"), "utf8");
      expect(source.split("logCallback(0x55); // U").length).toBe(2);
      const path = join(dir, "trap-unpatch.ts");
      writeFileSync(path, source.replace("logCallback(0x55); // U", "unreachable();"));
      const trapping = await hotpatch(base, path, "KB5040202", keys.privateKey);
      const { loader } = started();
      loader.apply(logged.package, keys.trust);
      loader.apply(trapping.package, keys.trust);
      const free = loader.arenaFreeBytes();
      for (let i = 0; i < 3; i++) {
        expect(() => loader.revert("KB5040202")).toThrow(/unreachable/);
        expect(loader.arenaFreeBytes()).toBe(free);
      }
      expect(loader.installed().map((p) => p.id)).toEqual(["KB5040202"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
