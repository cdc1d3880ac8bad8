/**
 * Image mode `inline` (kpatch's approach): the optimiser inlines first, then
 * every remaining function is made patchable, so a change to an inlined
 * function is delivered by patching every function whose optimised body
 * changed. Differential tests like the default mode's: a base process with
 * state receives the patch and answers a seeded random stream exactly like a
 * fresh target process. Also: code pages of both modes call the running
 * process through its exported slot callers, never by importing the slot table.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildPatch } from "../engine/builder/index.ts";
import { calcVersion, kvstoreVersion } from "../engine/guests/index.ts";
import { Op } from "../engine/guests/kvstore.ts";
import type { Image } from "../engine/image/index.ts";
import { decodePackage } from "../engine/patch/index.ts";
import { GuestProcess } from "../engine/process/index.ts";
import { readModuleSummary } from "../engine/format/index.ts";
import { calcCorpus, compareAnswers, corpus, type HotpatchPair, KV_BASE, logicalState, setupRequests, streamRequests } from "./corpus-fixtures.ts";
import { hotpatch, image, inlineImage, signingKeys, startProcess } from "./guest-fixtures.ts";

const VISIT_GLOBALS = "~lib/rt/__visit_globals";
const keys = signingKeys();

/** A corpus pair as inline mode patches it: `functions` are the keys the inline-mode patch replaces. */
type InlinePair = Pick<HotpatchPair, "name" | "guest" | "base" | "target" | "functions">;

const PAIRS: InlinePair[] = [
  // handleEcho is inlined into handle: the fix reaches the process as a new handle.
  { name: "kvstore v1 → v2 (Heartbleed fix in an inlined function)", guest: "kvstore", base: kvstoreVersion("v1"), target: kvstoreVersion("v2"), functions: ["handle"] },
  { name: "calc register-bounds (a fix in a tiny inlined function)", guest: "calc", base: calcVersion("v1"), target: calcCorpus("register-bounds"), functions: ["execute"] },
  { name: "calc gcd-native (a new helper; the caller that no longer inlines it takes a spare slot)", guest: "calc", base: calcVersion("v1"), target: calcCorpus("gcd-native"), functions: ["callNative", "execute"] },
  // The runtime functions the compiler generates per program stay out of line: a new string or class patches them alone, not the library code that calls them.
  { name: "calc message-text (a new string literal: the GC's root visitor changes)", guest: "calc", base: calcVersion("v1"), target: calcCorpus("message-text"), functions: ["handle", VISIT_GLOBALS] },
  {
    name: "calc v1 → v3 (cumulative: new helper, new message, longer message table)",
    guest: "calc",
    base: calcVersion("v1"),
    target: calcVersion("v3"),
    functions: ["callNative", "execute", "handle", VISIT_GLOBALS],
  },
  {
    name: "kvstore new-class (a new class: the runtime type table and the GC's member visitor change)",
    guest: "kvstore",
    base: KV_BASE,
    target: corpus("kvstore/new-class.ts"),
    functions: ["handle", "~lib/rt/__typeinfo", "~lib/rt/__visit_members"],
  },
];

describe("images built in inline mode", () => {
  let v1: Image;
  beforeAll(async () => {
    v1 = await inlineImage(kvstoreVersion("v1"));
  });

  it("record their mode, keep every slot patchable and export a caller per slot", () => {
    expect(v1.linkMap.mode).toBe("inline");
    expect(v1.linkMap.slots.callers).toBe(true);
    const process = GuestProcess.start(v1);
    const namespace = process.codePageImports.hotpatch as Record<string, unknown>;
    for (const f of v1.linkMap.functions) expect(typeof namespace[`call:${f.slot}`]).toBe("function");
  });

  it("give no change for comment-only edits (inlining counters in labels are not changes)", async () => {
    const base = await inlineImage(calcVersion("v1"));
    const built = await buildPatch({ base, target: calcCorpus("comments"), id: "KB5039001", key: keys.privateKey });
    expect(built.kind).toBe("no-change");
  });

  PAIRS.forEach((pair, i) => {
    it(`${pair.name}: the patched base answers 10,000 requests like a fresh target`, async () => {
      const base = await inlineImage(pair.base);
      const [built, fresh] = await Promise.all([
        hotpatch(base, pair.target, `KB50391${String(i + 10)}`, keys.privateKey),
        inlineImage(pair.target),
      ]);
      expect(built.functions.map((f) => f.key).sort()).toEqual([...pair.functions].sort());

      const { process: patched, loader } = startProcess(base);
      const target = GuestProcess.start(fresh);
      // No heartbeats before the patch: v1 and v2 answer over-declaring ones differently (and count errors differently).
      const history = setupRequests(pair.guest, 9_001 + i, 400).filter((request) => pair.guest !== "kvstore" || request[0] !== Op.ECHO);
      for (const request of history) for (const p of [patched, target]) p.request(request);
      loader.apply(built.package, keys.trust);
      const stream = streamRequests(pair.guest, 9_101 + i, 10_000);
      expect(compareAnswers(patched, target, stream)).toEqual([]);
      expect(logicalState(pair.guest, patched)).toEqual(logicalState(pair.guest, target));
      // The stream reaches the change: the unpatched base answers it differently.
      expect(compareAnswers(GuestProcess.start(base), GuestProcess.start(fresh), [...history, ...stream], 1)).not.toEqual([]);
    });
  });
});

describe("code pages of both modes", () => {
  for (const mode of ["slots", "inline"] as const) {
    it(`(${mode}) call other slots through their own caller table: no imported functions, never the slot table`, async () => {
      const base = await (mode === "inline" ? inlineImage : image)(kvstoreVersion("v1"));
      const built = await hotpatch(base, kvstoreVersion("v2"), "KB5039200", keys.privateKey);
      const imports = readModuleSummary(decodePackage(built.package).code).imports;
      // Host functions (env.*) may be imported; functions of the process never are.
      expect(imports.filter((i) => i.kind === "function" && i.module !== "env")).toEqual([]);
      const tables = imports.filter((i) => i.kind === "table");
      const callers = built.manifest.callers ?? [];
      expect(tables.map((t) => `${t.module}.${t.name}`)).toEqual(callers.length > 0 ? ["patch.callers"] : []);
      if (callers.length > 0) expect(tables[0].limits?.min).toBe(callers.length);
      if (mode === "slots") expect(callers.map((c) => c.slot)).toEqual([60, 70]);
      const bySlot = new Map(base.linkMap.functions.map((f) => [f.slot, f.signature]));
      for (const c of callers) expect(c.signature).toBe(bySlot.get(c.slot));
    });
  }
});
