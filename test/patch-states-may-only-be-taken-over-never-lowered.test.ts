/**
 * State versions (livepatch's klp_state; engine/loader/patch-states.ts) on the
 * kvstore corpus base: KB1 (callbacks-log.ts) introduces kvstore.callback-log
 * at version 1; its cumulative successors take it over at version 2
 * (state-taken-over.ts: accepted), would lower it to 0 (state-lowered.ts:
 * E_STATE_VERSION) or do not carry it (state-dropped.ts: E_STATE_DROPPED when
 * superseding KB1, accepted when stacking on top of it). Also the builder's
 * and the manifest's checks of the declarations.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readDirectives } from "../engine/builder/callbacks.ts";
import { getRequest } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import { validateManifest } from "../engine/patch/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";
import { corpus, KV_BASE } from "./corpus-fixtures.ts";
import { type BuiltHotpatch, hotpatch, image, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";
import { refusal } from "./refusal.ts";

const keys = signingKeys();
let base: Image;
const kb: Record<string, BuiltHotpatch> = {};

const callbackLog = (process: GuestProcess) => {
  const response = process.request(getRequest("callbacks"));
  return response[0] === 0 ? Buffer.from(response.subarray(3, 3 + (response[1] | (response[2] << 8)))).toString("latin1") : "";
};

beforeAll(async () => {
  base = await image(KV_BASE);
  const build = (target: string, id: string, supersedes?: string[]) => hotpatch(base, corpus(`kvstore/${target}.ts`), id, keys.privateKey, supersedes);
  const [introduces, takesOver, lowers, drops, dropsStacked] = await Promise.all([
    build("callbacks-log", "KB5040301"),
    build("state-taken-over", "KB5040302"),
    build("state-lowered", "KB5040303"),
    build("state-dropped", "KB5040304"),
    build("state-dropped", "KB5040305", []),
  ]);
  Object.assign(kb, { introduces, takesOver, lowers, drops, dropsStacked });
});

/** A process with KB1 (state kvstore.callback-log version 1) installed. */
function withKb1() {
  const started = startProcess(base);
  started.loader.apply(kb.introduces.package, keys.trust);
  return started;
}

describe("a cumulative patch and the states of the patch it supersedes", () => {
  it("records the states in the manifest", () => {
    expect(kb.introduces.manifest.states).toEqual([{ id: "kvstore.callback-log", version: 1 }]);
    expect(kb.takesOver.manifest.states).toEqual([{ id: "kvstore.callback-log", version: 2 }]);
    expect(kb.drops.manifest.states).toBeUndefined();
  });

  it("is accepted when it takes a state over at a higher version; only its own callbacks run", () => {
    const { process, loader } = withKb1();
    loader.apply(kb.takesOver.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040302"]);
    expect(callbackLog(process)).toBe("PpPp"); // KB1's pre/post, then KB2's; KB1's unpatch callbacks do not run
    loader.revert("KB5040302");
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040301"]);
    expect(callbackLog(process)).toBe("PpPpUu"); // KB2's unpatch pair; KB1 comes back without callbacks
  });

  it("is refused when it would lower the state's version (E_STATE_VERSION), and nothing changes", () => {
    const { process, loader } = withKb1();
    const before = snapshot(process);
    const error = refusal(() => loader.apply(kb.lowers.package, keys.trust), "E_STATE_VERSION");
    expect(error.message).toBe("E_STATE_VERSION: patch KB5040303: it would lower state kvstore.callback-log from version 1 (KB5040301) to version 0");
    expect(error.context).toMatchObject({ state: "kvstore.callback-log", installed: 1, version: 0 });
    expect(snapshot(process)).toEqual(before);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040301"]);
  });

  it("is refused when it does not take the state over (E_STATE_DROPPED), and nothing changes", () => {
    const { process, loader } = withKb1();
    const before = snapshot(process);
    const error = refusal(() => loader.apply(kb.drops.package, keys.trust), "E_STATE_DROPPED");
    expect(error.message).toBe(
      "E_STATE_DROPPED: patch KB5040304: it supersedes KB5040301 but does not take over state kvstore.callback-log (version 1) that KB5040301 introduced",
    );
    expect(snapshot(process)).toEqual(before);
  });

  it("need not carry the states of a patch it stacks on top of without superseding it", () => {
    const { loader } = withKb1();
    loader.apply(kb.dropsStacked.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5040301", "KB5040305"]);
  });
});

describe("declarations", () => {
  const target = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), "hotpatch-states-")), "target.ts");
    writeFileSync(path, text);
    return path;
  };

  it("are read from the target's directives", () => {
    const path = target("// @hotpatch-state a.b:3\n// @hotpatch-veto -2: busy\nexport function f(): void {}\n");
    expect(readDirectives(path)).toEqual({ states: [{ id: "a.b", version: 3 }], vetoes: [{ code: -2, message: "busy" }] });
  });

  it.each([
    ["// @hotpatch-state a.b\n", 'line 1: a state directive reads "// @hotpatch-state <id>:<version>"'],
    ["// @hotpatch-state a:1\n// @hotpatch-state a:2\n", "line 2: state a is declared twice"],
    ["// @hotpatch-veto 0: never\n", "line 1: veto code 0 must be a non-zero i32 (0 lets the patch go on)"],
  ])("refuse a malformed directive at build time (E_BUILD): %j", (text, reason) => {
    const path = target(text);
    expect(refusal(() => readDirectives(path), "E_BUILD").message).toBe(`E_BUILD: ${path}: ${reason}`);
  });

  it("are checked by the manifest's validation (E_FORMAT)", () => {
    const manifest = { ...kb.introduces.manifest };
    expect(refusal(() => validateManifest({ ...manifest, states: [{ id: "x", version: -1 }] }), "E_FORMAT").message).toContain("manifest.states[0].version must be a non-negative integer");
    expect(refusal(() => validateManifest({ ...manifest, callbacks: { vetoes: [{ code: 1, message: "m" }] } }), "E_FORMAT").message).toContain(
      "manifest.callbacks.vetoes needs a prePatch callback",
    );
  });
});
