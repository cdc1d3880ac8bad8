/**
 * State migrations (docs/loader-and-consistency.md#state-migrations). Each of
 * the five corpus rows that need a baseline because their state changes has a
 * twin `<row>-migrated` with a migration, and the twin is a hotpatch, tested
 * differentially: a calc v1 process with 400 requests of state, patched,
 * answers 10,000 seeded requests exactly like a fresh process of the twin
 * whose state was built by the same 400 requests and then the same migration
 * (the twin's own `__hotpatch_migrate`, its old-state globals set from a v1
 * process that served the same requests), in both image modes. Then when it
 * runs (at the commit, also through a transition) and the safety rules: a
 * migration that traps, runs past its budget or writes outside its new state
 * is refused with nothing changed, at prepare or at the commit; a patch
 * without a reverse migration cannot be reverted or superseded by one without
 * its state; a cumulative patch takes the cells and buffers of the one it
 * supersedes over, and gives them back when reverted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import { buildPatch } from "../engine/builder/index.ts";
import { calcVersion, decodeStats, Instr, push, Request, runRequest, statsRequest } from "../engine/guests/calc.ts";
import type { Image } from "../engine/image/index.ts";
import { stagePatch, Transition } from "../engine/loader/index.ts";
import { Activity, GuestProcess } from "../engine/process/index.ts";
import { CALC_V1, calcCorpus, compareAnswers, logicalState, plainImage, setupRequests, streamRequests } from "./corpus-fixtures.ts";
import { changedSlots, hotpatch, image, inlineImage, signingKeys, snapshot, startProcess } from "./guest-fixtures.ts";
import { refusal } from "./refusal.ts";

const keys = signingKeys();
const SETUP_SEED = 7_101;
const STREAM_SEED = 7_102;
const OLD = "__hotpatch_old_";
/** Where the reference puts its copy of an old buffer: the arena space below static data, unused in a fresh process. */
const SCRATCH_ADDRESS = 4096;
const TWIN = fileURLToPath(new URL("../assembly/corpus/calc/new-global-migrated.ts", import.meta.url));
const MIGRATION = "export function __hotpatch_migrate(): void {\n  deepest = sp;\n}\n";
const UNMIGRATE = "\n// Revert: the old version has no such counter; nothing to give back.\nexport function __hotpatch_unmigrate(): void {}\n";

/**
 * The test's variants of the corpus twin new-global-migrated.ts, each one
 * edit away from it (written to a scratch folder under the variant's name):
 * migrations that trap, run forever, call a function, write old state or trap
 * once the process has run 500 programs; and a cumulative patch over the twin
 * (the same counter and migration plus calc v2's division fix), which takes
 * the counter over.
 */
const VARIANTS: Record<string, (source: string) => string> = {
  "migration-traps": (s) => edit(s, MIGRATION, "export function __hotpatch_migrate(): void {\n  deepest = sp;\n  if (deepest >= 0) unreachable();\n}\n", UNMIGRATE, ""),
  "migration-runs-forever": (s) => edit(s, MIGRATION, "export function __hotpatch_migrate(): void {\n  while (deepest >= 0) deepest = (deepest + 1) & 0x7fffffff;\n}\n", UNMIGRATE, ""),
  "migration-calls": (s) => edit(s, MIGRATION, "export function __hotpatch_migrate(): void {\n  deepest = checksum();\n}\n", UNMIGRATE, ""),
  "migration-writes-old-state": (s) =>
    edit(s, MIGRATION, "export function __hotpatch_migrate(): void {\n  deepest = sp;\n  __hotpatch_old_errors = 0;\n}\n", UNMIGRATE, "", "let deepest: i32 = 0;\n", "let deepest: i32 = 0;\n// The running process's error counter (old state): the migration must not write it.\nlet __hotpatch_old_errors: u32 = 0;\n"),
  "migration-traps-past-500-programs": (s) => edit(s, MIGRATION, "export function __hotpatch_migrate(): void {\n  deepest = sp;\n  if (programs > 500) unreachable();\n}\n"),
  "new-global-migrated-kb2": (s) =>
    edit(
      s,
      "  if (op == OP_DIV && b == 0) return STATUS_DIV_ZERO;\n",
      "  if ((op == OP_DIV || op == OP_MOD) && b == 0) return STATUS_DIV_ZERO;\n",
      "function arith(op: u8, a: i32, b: i32): i32 {\n",
      "function arith(op: u8, a: i32, b: i32): i32 {\n  if (b == -1) return op == OP_DIV ? -a : 0; // no overflow trap on -2147483648 / -1\n",
    ),
};

/** Replaces each `from` (which must occur once) with its `to`: edit(source, from1, to1, from2, to2, …). */
function edit(source: string, ...pairs: string[]): string {
  let out = source;
  for (let i = 0; i < pairs.length; i += 2) {
    if (out.split(pairs[i]).length !== 2) throw new Error(`the twin no longer has exactly one ${JSON.stringify(pairs[i])}: update VARIANTS`);
    out = out.replace(pairs[i], pairs[i + 1]);
  }
  return out;
}

const variantDir = mkdtempSync(join(tmpdir(), "hotpatch-migration-variants-"));
afterAll(() => rmSync(variantDir, { recursive: true, force: true }));
const fixture = (name: string) => {
  const path = join(variantDir, `${name}.ts`);
  writeFileSync(path, VARIANTS[name](readFileSync(TWIN, "utf8")));
  return path;
};

let v1: Image;
beforeAll(async () => {
  v1 = await image(CALC_V1);
});

/**
 * The reference's migration: the fresh target process runs its own
 * `__hotpatch_migrate`, with each `__hotpatch_old_<key>` set from `old` (a v1
 * process with the same history); an old buffer is copied into the target's
 * free space first and its global points there.
 */
function migrateLikeThePatch(target: GuestProcess, old: GuestProcess): void {
  for (const alias of target.linkMap.globals.filter((g) => g.key.startsWith(OLD))) {
    const running = old.linkMap.globals.find((g) => g.key === alias.key.slice(OLD.length))!;
    let value = old.exportedGlobal(running.export);
    const buffer = running.mutable ? undefined : old.linkMap.static?.objects.find((o) => o.offset === Number(value));
    if (buffer) {
      target.write(SCRATCH_ADDRESS, old.read(buffer.offset, buffer.size));
      value = SCRATCH_ADDRESS;
    }
    (target.instance.exports[alias.export] as WebAssembly.Global).value = value;
  }
  target.call("__hotpatch_migrate", [], "void");
}

/** `setup`: the requests that build state are those both versions answer alike (no-history answers HISTORY as unknown, counting an error). */
const TWINS: { row: string; cells: string[]; buffers: number; reversible: boolean; setup?: (request: Uint8Array) => boolean }[] = [
  { row: "new-global", cells: ["deepest"], buffers: 0, reversible: true },
  { row: "removed-global", cells: [], buffers: 0, reversible: true },
  { row: "wide-steps", cells: ["steps"], buffers: 0, reversible: false },
  { row: "more-registers", cells: [], buffers: 1, reversible: true },
  { row: "no-history", cells: [], buffers: 0, reversible: false, setup: (request) => request[0] !== Request.HISTORY },
];

describe("a migration makes a change of state a hotpatch", () => {
  for (const mode of ["slots", "inline"] as const) {
    TWINS.forEach(({ row, cells, buffers, reversible, setup = () => true }, i) => {
      it(`calc v1 → ${row}-migrated (${mode} mode) answers like a fresh target with the same history and the same migration`, async () => {
        const base = mode === "slots" ? v1 : await inlineImage(CALC_V1);
        const target = calcCorpus(`${row}-migrated`);
        const id = `KB5038${mode === "slots" ? 2 : 7}${String(i + 10)}`;
        const [built, fresh] = await Promise.all([hotpatch(base, target, id, keys.privateKey), plainImage(target)]);
        const state = built.manifest.state!;
        expect(state.cells.map((c) => c.key)).toEqual(cells);
        expect(state.buffers).toHaveLength(buffers);
        expect(state.unmigrate !== undefined).toBe(reversible);

        const { process: patched, loader } = startProcess(base);
        const old = GuestProcess.start(v1); // the reference's old state (a slots-mode image names every buffer)
        const reference = GuestProcess.start(fresh);
        const history = setupRequests("calc", SETUP_SEED + i, 500).filter(setup).slice(0, 400);
        expect(history).toHaveLength(400);
        for (const request of history) for (const p of [patched, old, reference]) p.request(request);
        loader.apply(built.package, keys.trust);
        migrateLikeThePatch(reference, old);

        const prior = logicalState("calc", old);
        expect(new Set(prior).size).toBeGreaterThan(5); // real state: registers, history, counters
        expect(logicalState("calc", patched)).toEqual(logicalState("calc", reference));
        const stream = streamRequests("calc", STREAM_SEED + i, 10_000);
        expect(compareAnswers(patched, reference, stream)).toEqual([]);
        expect(logicalState("calc", patched)).toEqual(logicalState("calc", reference));
        // Without the patch, v1 answers the same requests differently: the stream reaches the change.
        expect(compareAnswers(old, GuestProcess.start(fresh), stream, 1)).not.toEqual([]);
      });
    });
  }
});

describe("builds with a migration are reproducible", () => {
  it("builds more-registers-migrated to the same package bytes twice", async () => {
    const [a, b] = [await hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038299", keys.privateKey), await hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038299", keys.privateKey)];
    expect(Buffer.from(a.package).equals(Buffer.from(b.package))).toBe(true);
  });
});

describe("in the default inline mode", () => {
  it("finds more-registers-migrated's old buffer although the image folded its pointer constant, and migrates the registers", async () => {
    const base = await inlineImage(CALC_V1);
    expect(base.linkMap.globals.some((g) => g.key === "REGISTERS")).toBe(false); // folded by the first optimisation
    const built = await hotpatch(base, calcCorpus("more-registers-migrated"), "KB5038302", keys.privateKey);
    const { process, loader } = startProcess(base);
    const twin = GuestProcess.start(base);
    for (const request of setupRequests("calc", SETUP_SEED + 3, 400)) for (const p of [process, twin]) p.request(request);
    loader.apply(built.package, keys.trust);
    expect(logicalState("calc", process)).toEqual(logicalState("calc", twin));
    // Register 20 exists now (32 registers), in the new buffer.
    process.request(runRequest([push(77), [Instr.STORE, 20]]));
    expect(process.request(Uint8Array.from([Request.REG, 20]))).toEqual(Uint8Array.from([0, 77, 0, 0, 0]));
  });
});

describe("the migration runs at the switch, not when the patch is prepared", () => {
  it("widens the steps counter as it is at the commit: requests served between prepare and commit count", async () => {
    const built = await hotpatch(v1, calcCorpus("wide-steps-migrated"), "KB5038301", keys.privateKey);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
    const prepared = loader.prepare(stagePatch(built.package, keys.trust));
    const before = snapshot(process);
    const program = runRequest([push(1), push(2), [Instr.ADD]]);
    process.request(program); // three steps more, in the old u32 counter
    const steps = decodeStats(process.request(statsRequest())).steps;
    expect(changedSlots(before.entries, snapshot(process).entries)).toEqual([]); // prepared: nothing switched yet
    loader.commit(prepared);
    expect(decodeStats(process.request(statsRequest())).steps).toBe(steps);
    process.request(program);
    expect(decodeStats(process.request(statsRequest())).steps).toBe(steps + 3);
  });
});

describe("through a transition (the live path)", () => {
  it("migrates at the safe point where the transition completes, and a reversed transition changes nothing", async () => {
    const built = await hotpatch(v1, calcCorpus("wide-steps-migrated"), "KB5038303", keys.privateKey);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
    const options = { timeoutMs: 10, onStall: "reverse" as const, now: () => 0 };
    const before = snapshot(process);
    const reversed = Transition.start(loader, new Activity(process), { kind: "enable", staged: stagePatch(built.package, keys.trust) }, options);
    expect(reversed.reverse().state).toBe("reversed");
    expect(snapshot(process).state).toEqual(before.state);
    expect(loader.installed()).toEqual([]);

    const transition = Transition.start(loader, new Activity(process), { kind: "enable", staged: stagePatch(built.package, keys.trust) }, options);
    const steps = decodeStats(process.request(statsRequest())).steps; // served while the transition waits for its safe point
    expect(transition.tryComplete()?.state).toBe("complete");
    expect(decodeStats(process.request(statsRequest())).steps).toBe(steps);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038303"]);
  });
});

describe("migrations that cannot run are refused, and nothing changes", () => {
  const cases: { name: string; why: RegExp }[] = [
    { name: "migration-traps", why: /the migration traps \(unreachable\) on the scratch copy; nothing changed/ },
    { name: "migration-runs-forever", why: /the migration exceeds its budget of 1,000,000 loop iterations on the scratch copy/ },
    { name: "migration-writes-old-state", why: /the migration writes the running process's global errors: it may write only its cells and new buffers/ },
  ];
  cases.forEach(({ name, why }, i) => {
    it(`refuses ${name} with E_MIGRATION, naming the patch and the reason`, async () => {
      const built = await hotpatch(v1, fixture(name), `KB50383${String(i + 10)}`, keys.privateKey);
      const { process, loader } = startProcess(v1);
      for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
      const before = snapshot(process);
      const free = loader.arenaFreeBytes();
      const error = refusal(() => loader.apply(built.package, keys.trust), "E_MIGRATION");
      expect(error.message).toContain(`patch KB50383${String(i + 10)}`);
      expect(error.message).toMatch(why);
      const after = snapshot(process);
      expect(changedSlots(before.entries, after.entries)).toEqual([]);
      expect(after.state).toEqual(before.state);
      expect(loader.installed()).toEqual([]);
      expect(loader.arenaFreeBytes()).toBe(free);
    });
  });
});

describe("a migration that calls a function", () => {
  it("is refused at build time: a migration must be self-contained", async () => {
    const result = await buildPatch({ base: v1, target: fixture("migration-calls"), id: "KB5038330", key: keys.privateKey });
    expect(result.kind).toBe("requires-baseline");
    expect(result.reasons).toEqual(["the migration __hotpatch_migrate calls checksum: a migration must be self-contained (loads, stores and globals only)"]);
  });
});

describe("a migration that fails at the switch", () => {
  it("is refused at commit with E_MIGRATION when the state changed since prepare, and the process is as it was", async () => {
    const built = await hotpatch(v1, fixture("migration-traps-past-500-programs"), "KB5038320", keys.privateKey);
    const { process, loader } = startProcess(v1);
    const twin = GuestProcess.start(v1); // never patched
    const run = runRequest([push(1)]);
    for (let i = 0; i < 400; i++) for (const p of [process, twin]) p.request(run);
    const free = loader.arenaFreeBytes();
    const prepared = loader.prepare(stagePatch(built.package, keys.trust)); // 400 programs: the scratch run passes
    for (let i = 0; i < 200; i++) for (const p of [process, twin]) p.request(run);
    const before = snapshot(process);
    const error = refusal(() => loader.commit(prepared), "E_MIGRATION");
    expect(error.message).toMatch(/patch KB5038320: the migration traps \(unreachable\) at the switch; nothing changed/);
    expect(changedSlots(before.entries, snapshot(process).entries)).toEqual([]);
    expect(snapshot(process).state).toEqual(before.state);
    expect(loader.installed()).toEqual([]);
    expect(loader.arenaFreeBytes()).toBe(free);
    expect(logicalState("calc", process)).toEqual(logicalState("calc", twin));
  });
});

describe("reverting a patch that migrated state", () => {
  it("refuses to revert wide-steps-migrated, which has no reverse migration (E_IRREVERSIBLE), and changes nothing", async () => {
    const built = await hotpatch(v1, calcCorpus("wide-steps-migrated"), "KB5038401", keys.privateKey);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
    loader.apply(built.package, keys.trust);
    const before = snapshot(process);
    const error = refusal(() => loader.revert("KB5038401"), "E_IRREVERSIBLE");
    expect(error.message).toContain("patch KB5038401");
    expect(error.message).toContain("no reverse migration (__hotpatch_unmigrate)");
    expect(error.message).toContain("the way back is a baseline (rollback)");
    expect(changedSlots(before.entries, snapshot(process).entries)).toEqual([]);
    expect(snapshot(process).state).toEqual(before.state);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038401"]);
  });

  it("reverts more-registers-migrated through its reverse migration: the 16 registers go back into the old buffer", async () => {
    const built = await hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038402", keys.privateKey);
    const { process, loader } = startProcess(v1);
    const twin = GuestProcess.start(v1);
    for (const request of setupRequests("calc", SETUP_SEED + 1, 400)) for (const p of [process, twin]) p.request(request);
    loader.apply(built.package, keys.trust);
    // Changed while patched: register 3 (through the new buffer).
    const store = runRequest([push(1234), [Instr.STORE, 3]]);
    for (const p of [process, twin]) p.request(store);
    loader.revert("KB5038402");
    expect(logicalState("calc", process)).toEqual(logicalState("calc", twin));
  });

  // Found in review: the reverse migration writes the old state, so a swap failing after it once left that state changed.
  it("takes the reverse migration back when the swap after it fails: the patch stays installed and the process as it was", async () => {
    const built = await hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038403", keys.privateKey);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED + 2, 400)) process.request(request);
    loader.apply(built.package, keys.trust);
    process.request(runRequest([push(1234), [Instr.STORE, 3]]));
    const before = snapshot(process);
    faults.arm({ seed: 1, rules: [{ point: "swap", mode: "throw", afterSlot: 1 }] });
    try {
      refusal(() => loader.revert("KB5038403"), "E_FAULT_INJECTED");
    } finally {
      faults.disarm();
    }
    expect(snapshot(process)).toEqual(before);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038403"]);
    loader.revert("KB5038403"); // and it still reverts, once nothing fails
    expect(loader.installed()).toEqual([]);
  });
});

describe("a cumulative patch takes the state over", () => {
  it("keeps the registers of more-registers-migrated's new buffer when a later build of it supersedes it (its migration does not run again), and when that is reverted", async () => {
    const [kb1, kb2] = await Promise.all([
      hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038503", keys.privateKey),
      hotpatch(v1, calcCorpus("more-registers-migrated"), "KB5038504", keys.privateKey),
    ]);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
    loader.apply(kb1.package, keys.trust);
    const stored = process.request(runRequest([push(4242), [Instr.STORE, 2], push(99), [Instr.STORE, 25]]));
    expect(stored[0]).toBe(0);
    const registers = () => [2, 25].map((r) => Buffer.from(process.request(Uint8Array.from([Request.REG, r]))).toString("hex"));
    const kept = registers();
    expect(kept).toEqual(["0092100000", "0063000000"]);
    loader.apply(kb2.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038504"]);
    expect(registers()).toEqual(kept); // a second migration would have copied the old buffer's register 2 back and zeroed 25
    loader.revert("KB5038504"); // KB1 comes back and takes the buffer over again
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038503"]);
    expect(registers()).toEqual(kept);
  });

  it("refuses to supersede wide-steps-migrated by a patch without its state (E_IRREVERSIBLE: it has no reverse), changing nothing", async () => {
    const [kb1, kb2] = await Promise.all([
      hotpatch(v1, calcCorpus("wide-steps-migrated"), "KB5038505", keys.privateKey),
      hotpatch(v1, calcVersion("v2"), "KB5038506", keys.privateKey),
    ]);
    const { process, loader } = startProcess(v1);
    loader.apply(kb1.package, keys.trust);
    const before = snapshot(process);
    const error = refusal(() => loader.apply(kb2.package, keys.trust), "E_IRREVERSIBLE");
    expect(error.message).toContain("patch KB5038505: it migrated the process's state and has no reverse migration (__hotpatch_unmigrate), so superseding it by KB5038506 cannot give the state back");
    expect(changedSlots(before.entries, snapshot(process).entries)).toEqual([]);
    expect(snapshot(process).state).toEqual(before.state);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038505"]);
  });

  it("keeps the value of new-global-migrated's counter when KB2 supersedes KB1, and again when KB2 is reverted", async () => {
    const [kb1, kb2] = await Promise.all([
      hotpatch(v1, calcCorpus("new-global-migrated"), "KB5038501", keys.privateKey),
      hotpatch(v1, fixture("new-global-migrated-kb2"), "KB5038502", keys.privateKey),
    ]);
    const { process, loader } = startProcess(v1);
    for (const request of setupRequests("calc", SETUP_SEED, 400)) process.request(request);
    loader.apply(kb1.package, keys.trust);
    // Ten values deep, then back to one: the deepest stack (10) is more than the depth left (1), which a new migration would take.
    process.request(runRequest([...Array.from({ length: 10 }, (_, k) => push(k)), ...Array.from({ length: 9 }, () => [Instr.ADD])]));
    const deepest = () => process.request(statsRequest())[18];
    expect(deepest()).toBe(10);
    expect(decodeStats(process.request(statsRequest())).programs).toBeGreaterThan(0);
    loader.apply(kb2.package, keys.trust);
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038502"]);
    expect(deepest()).toBe(10);
    process.request(runRequest(Array.from({ length: 12 }, (_, k) => push(k))));
    expect(deepest()).toBe(12);
    loader.revert("KB5038502");
    expect(loader.installed().map((p) => p.id)).toEqual(["KB5038501"]);
    expect(deepest()).toBe(12);
  });
});
