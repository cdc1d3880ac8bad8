/**
 * Host entries (image mode `inline`, engine/wasm/instrument.ts "Entries"):
 * the host calls an exported function's own copy of its body while the
 * function's redirect flag is 0, and through its slot once the loader has
 * set the flag. The loader keeps the flag equal to "the slot holds something
 * else than the image's own function" with every swap — apply, revert,
 * supersede, reattach — and a host call counts the function's activation
 * just as a call through its trampoline does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, scanRequest } from "../engine/guests/index.ts";
import { buildImageFromPath, type Image } from "../engine/image/index.ts";
import { PatchLoader } from "../engine/loader/index.ts";
import { Activity, GuestProcess } from "../engine/process/index.ts";
import { redirectFlagName } from "../engine/format/index.ts";
import { hotpatch, signingKeys } from "./guest-fixtures.ts";

const keys = signingKeys();
let v1: Image;
let fix: Uint8Array;
let fixAgain: Uint8Array;
let handleSlot: number;

beforeAll(async () => {
  v1 = await buildImageFromPath(kvstoreVersion("v1"), { mode: "inline" });
  fix = (await hotpatch(v1, kvstoreVersion("v2"), "KB5039301", keys.privateKey)).package;
  fixAgain = (await hotpatch(v1, kvstoreVersion("v2"), "KB5039302", keys.privateKey)).package;
  handleSlot = v1.linkMap.functions.find((f) => f.key === "handle")!.slot;
});

function flagOf(process: GuestProcess, slot: number): WebAssembly.Global {
  const global = v1.linkMap.globals.find((g) => g.key === redirectFlagName(slot));
  if (!global) throw new Error(`the image has no redirect flag for slot ${slot}`);
  return (process.instance.exports as Record<string, WebAssembly.Global>)[global.export];
}

const leaks = (process: GuestProcess) => printableRuns(process.request(HEARTBLEED_REQUEST)).length > 0;

describe("inline-mode host entries", () => {
  it("give every function the guest exports a redirect flag (inline mode only)", () => {
    const flags = v1.linkMap.globals.filter((g) => g.key.startsWith("hotpatch:redirect:"));
    expect(flags.map((g) => g.key)).toContain(redirectFlagName(handleSlot));
    expect(flags.every((g) => g.mutable && g.type === "i32")).toBe(true);
    const slots = buildImageFromPath(kvstoreVersion("v1"), { mode: "slots" });
    return slots.then((image) => expect(image.linkMap.globals.some((g) => g.key.startsWith("hotpatch:redirect:"))).toBe(false));
  });

  it("run the image's copy until a patch sets the flag, the new code while it is set, and the copy again after the revert", () => {
    const process = GuestProcess.start(v1);
    const loader = new PatchLoader(process);
    const flag = flagOf(process, handleSlot);
    expect(flag.value).toBe(0);
    expect(leaks(process)).toBe(true);
    loader.apply(fix, keys.trust);
    expect(flag.value).toBe(1);
    expect(leaks(process)).toBe(false);
    // The flag is what redirects the host: cleared by hand, the host runs the image's own (leaking) copy again.
    flag.value = 0;
    expect(leaks(process)).toBe(true);
    flag.value = 1;
    loader.revert("KB5039301");
    expect(flag.value).toBe(0);
    expect(leaks(process)).toBe(true);
  });

  it("stay redirected while a superseding patch replaces the first, and after a restart re-applies it", () => {
    const process = GuestProcess.start(v1);
    const loader = new PatchLoader(process);
    loader.apply(fix, keys.trust);
    loader.apply(fixAgain, keys.trust); // supersedes KB5039301 in one swap
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5039302"]);
    expect(flagOf(process, handleSlot).value).toBe(1);
    expect(leaks(process)).toBe(false);
    loader.revert("KB5039302"); // puts KB5039301 back: still not the image's own handle
    expect(flagOf(process, handleSlot).value).toBe(1);
    expect(leaks(process)).toBe(false);

    const restarted = GuestProcess.start(v1);
    expect(leaks(restarted)).toBe(true);
    loader.reattach(restarted);
    expect(flagOf(restarted, handleSlot).value).toBe(1);
    expect(leaks(restarted)).toBe(false);
  });

  it("count the activation of a host call like the trampoline does", () => {
    let depthInside = -1;
    let activity: Activity | undefined;
    const process = GuestProcess.start(v1, {
      safepoint: () => {
        depthInside = activity!.depth("handle");
      },
    });
    activity = new Activity(process);
    expect(activity.counted()).toContain("handle");
    process.request(scanRequest(3));
    expect(depthInside).toBe(1);
    expect(activity.depth("handle")).toBe(0);
  });
});
