/**
 * The loader: links staged patches against one running process and keeps,
 * for every slot, the stack of code that has been placed in it.
 *
 * As in the kernel's livepatch `func_stack`, the entry in use is the top of
 * the slot's stack: enabling a patch pushes its functions, disabling pops
 * them, and only a patch that is on top of every slot it touches can be
 * disabled (E_NOT_ON_TOP otherwise). The bottom of each stack is the image's
 * own function, captured when the slot is first touched.
 *
 * Cumulative hotpatches: a patch supersedes the installed patches its
 * manifest names (default: every one of the same target build with a lower
 * KB number). Enabling it replaces them in the same single swap; disabling it
 * puts exactly those patches back, again in one swap. Superseded patches'
 * arena space is freed when they are superseded.
 *
 * `enable` order: duplicates, target build, downgrade, supersession → slots
 * and signatures → imports resolve → place static data → instantiate → swap
 * (one step, swap.ts) → record. A failure before the swap undoes the data
 * placement, so a refused patch leaves table and memory exactly as they were.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import type { PatchManifest, TrustStore } from "../patch/index.ts";
import type { GuestProcess } from "../process/index.ts";
import { PatchArena } from "./arena.ts";
import { CALLERS_IMPORT, redirectFlagName, slotCallerName } from "../format/index.ts";
import { DATA_IMPORT_MODULE, type PlacedData, placeData, removeData } from "./data-placement.ts";
import { stagePatch, type StagedPatch } from "./stage.ts";
import { rewriteSlots, type SlotEntry, type SlotWrite, type SwapProbe, swapSlots } from "./swap.ts";

/** The empty set of patch ids (prepare's common case: nothing superseded). */
const NOTHING: ReadonlySet<string> = new Set();

/** Marks a function that the base image does not have (manifest `oldFingerprint`). */
const NEW_FUNCTION = "none";

interface StackEntry {
  patchId: string;
  key: string;
  signature: string;
  entry: SlotEntry;
}

export interface InstalledPatch {
  id: string;
  title: string;
  classification: string;
  functions: { key: string; slot: number }[];
  appliedAt: number;
  /** Installed patches this one replaced; disabling it puts them back. */
  superseded: InstalledPatch[];
  /** Kept so a restarted process can have its patches re-applied. */
  staged: StagedPatch;
  data?: PlacedData;
}

export interface LoaderOptions {
  /** Injected clock (milliseconds); records carry its time. */
  now?: () => number;
  /** Fault-injection hook run inside the swap after each slot write. */
  swapProbe?: SwapProbe;
}

/** A linked, instantiated code page and where its entries go. */
interface Linked {
  writes: SlotWrite[];
  data?: PlacedData;
}

export interface PreparedPatch {
  staged: StagedPatch;
  superseded: InstalledPatch[];
  linked: Linked;
  /** Slots of superseded patches that the new patch does not replace, and what they go back to. */
  restores: SlotWrite[];
  generation: number;
  /** Everything `commit` does, computed ahead so the switch only writes: the swap (linked writes, then restores), what those slots hold now, the redirect flags, the stack entries to push and the record. */
  switch: {
    writes: SlotWrite[];
    current: SlotEntry[];
    flags: FlagWrite[];
    entries: { slot: number; entry: StackEntry }[];
    record: InstalledPatch;
  };
}

/** A revert computed ahead of its switch (see `prepareRevert`). */
export interface PreparedRevert {
  record: InstalledPatch;
  /** The patches the reverted one superseded, linked again: they come back in the same swap. */
  reinstated: { old: InstalledPatch; linked: Linked }[];
  writes: SlotWrite[];
  current: SlotEntry[];
  flags: FlagWrite[];
  generation: number;
}

/** A redirect flag and the value it takes with a swap. */
interface FlagWrite {
  flag: WebAssembly.Global;
  value: number;
}

export class PatchLoader {
  private process: GuestProcess;
  private arena: PatchArena | undefined;
  private readonly stacks = new Map<number, StackEntry[]>();
  private readonly patches: InstalledPatch[] = [];
  private readonly now: () => number;
  private readonly swapProbe?: SwapProbe;
  /** Bumped by every change of stacks; a PreparedPatch from another generation is stale. */
  private generation = 0;
  /** Signature of each slot of the image, by slot (built on first use). */
  private slotSignatures: Map<number, string> | undefined;
  /** The process's redirect flags by slot (inline-mode images; built on first use, dropped on reattach). */
  private redirectFlags: Map<number, WebAssembly.Global> | undefined;

  constructor(process: GuestProcess, options: LoaderOptions = {}) {
    this.process = process;
    this.arena = arenaOf(process);
    this.now = options.now ?? Date.now;
    this.swapProbe = options.swapProbe;
  }

  /** The process the loader patches (replaced by `reattach` after a restart). */
  get attached(): GuestProcess {
    return this.process;
  }

  /** Installed patches, oldest first. */
  installed(): readonly InstalledPatch[] {
    return this.patches;
  }

  /** Stages (verifies and compiles) and enables a package. */
  apply(bytes: Uint8Array, trust: TrustStore): InstalledPatch {
    return this.enable(stagePatch(bytes, trust));
  }

  enable(staged: StagedPatch): InstalledPatch {
    return this.commit(this.prepare(staged));
  }

  /**
   * Phase one of enabling: every check, static data placement and
   * instantiation — everything but the swap. The slot table is untouched, so
   * requests may keep running; `commit` swaps (at a safe point), `discard`
   * gives the data space back. A prepared patch goes stale if the loader
   * changes anything in between.
   */
  prepare(staged: StagedPatch): PreparedPatch {
    const { manifest } = staged;
    const patch = manifest.id;
    if (this.patches.some((p) => p.id === patch)) throw new HotpatchError("E_ALREADY_APPLIED", "the patch is already installed", { patch });
    const linkMap = this.process.linkMap;
    if (manifest.target.buildId !== linkMap.buildId) {
      throw new HotpatchError("E_TARGET_MISMATCH", `built for image ${manifest.target.buildId}, but the process runs ${linkMap.buildId} (${linkMap.source.name})`, {
        patch,
      });
    }
    const superseded = this.supersededBy(manifest);
    const ids = superseded.length === 0 ? NOTHING : new Set(superseded.map((p) => p.id));
    for (const old of superseded) this.requireOnTop(old, ids);
    const linked = this.link(staged, ids);
    const restores = superseded.length === 0 ? [] : this.restoresOf(manifest, superseded, ids);
    const writes = restores.length === 0 ? linked.writes : [...linked.writes, ...restores];
    const record: InstalledPatch = {
      id: manifest.id,
      title: manifest.title,
      classification: manifest.classification,
      functions: manifest.functions.map((fn) => ({ key: fn.key, slot: fn.slot })),
      appliedAt: Number.NaN, // set by commit
      superseded,
      staged,
      data: linked.data,
    };
    return {
      staged,
      superseded,
      linked,
      restores,
      generation: this.generation,
      switch: {
        writes,
        current: writes.map((w) => this.stack(w.slot).at(-1)!.entry),
        flags: this.flagWrites(writes),
        entries: this.stackEntries(manifest, linked.writes),
        record,
      },
    };
  }

  /** Slots the superseded patches held that the new one does not: back to what lies beneath them. */
  private restoresOf(manifest: PatchManifest, superseded: InstalledPatch[], ids: ReadonlySet<string>): SlotWrite[] {
    const mine = new Set(manifest.functions.map((f) => f.slot));
    return [...new Set(superseded.flatMap((p) => p.functions.map((f) => f.slot)))]
      .filter((slot) => !mine.has(slot))
      .map((slot) => ({ slot, entry: this.topIgnoring(slot, ids).entry }));
  }

  /** Phase two: the swap and the record. */
  commit(prepared: PreparedPatch): InstalledPatch {
    if (prepared.generation !== this.generation) {
      this.discard(prepared);
      throw new Error(`internal: ${prepared.staged.id} was prepared before the loader last changed; prepare it again`);
    }
    const { linked, superseded } = prepared;
    const { writes, current, flags, entries, record } = prepared.switch;
    try {
      this.writeSlots(writes, flags, current);
    } catch (error) {
      removeData(this.process, this.arena, linked.data);
      throw error;
    }
    for (const old of superseded) {
      for (const f of old.functions) this.stack(f.slot).pop();
      removeData(this.process, this.arena, old.data);
      old.data = undefined;
      this.patches.splice(this.patches.indexOf(old), 1);
    }
    this.generation++;
    for (let i = 0; i < entries.length; i++) this.stack(entries[i].slot).push(entries[i].entry);
    record.appliedAt = this.now();
    this.patches.push(record);
    return record;
  }

  /** Abandons a prepared patch: its static data is removed; nothing else had changed. */
  discard(prepared: PreparedPatch): void {
    removeData(this.process, this.arena, prepared.linked.data);
    prepared.linked.data = undefined;
  }

  /** Disables a patch that is on top of every slot it replaced, restoring exactly what it replaced. */
  revert(id: string): InstalledPatch {
    return this.commitRevert(this.prepareRevert(id));
  }

  /**
   * Phase one of disabling: the checks (E_NOT_APPLIED, E_NOT_ON_TOP) and, for
   * a cumulative patch, linking the patches it superseded again (their data
   * placed, their code pages instantiated) — everything but the swap, as
   * `prepare` for enabling. `commitRevert` swaps; `discardRevert` gives the
   * data space back.
   */
  prepareRevert(id: string): PreparedRevert {
    const record = this.patches.find((p) => p.id === id);
    if (!record) throw new HotpatchError("E_NOT_APPLIED", "the patch is not installed", { patch: id });
    this.requireOnTop(record, NOTHING);
    const ignore = new Set([id]);
    const reinstated: PreparedRevert["reinstated"] = [];
    try {
      for (const old of record.superseded) reinstated.push({ old, linked: this.link(old.staged, ignore) });
    } catch (error) {
      for (const { linked } of reinstated) removeData(this.process, this.arena, linked.data);
      throw error;
    }
    const bySlot = new Map<number, SlotEntry>();
    for (const f of record.functions) bySlot.set(f.slot, this.topIgnoring(f.slot, ignore).entry);
    for (const { linked } of reinstated) for (const w of linked.writes) bySlot.set(w.slot, w.entry);
    const writes = [...bySlot].map(([slot, entry]) => ({ slot, entry }));
    return {
      record,
      reinstated,
      writes,
      current: writes.map((w) => this.stack(w.slot).at(-1)!.entry),
      flags: this.flagWrites(writes),
      generation: this.generation,
    };
  }

  /** Phase two of disabling: the swap and the bookkeeping. */
  commitRevert(prepared: PreparedRevert): InstalledPatch {
    if (prepared.generation !== this.generation) {
      this.discardRevert(prepared);
      throw new Error(`internal: the revert of ${prepared.record.id} was prepared before the loader last changed; prepare it again`);
    }
    const { record, reinstated, writes, current, flags } = prepared;
    try {
      this.writeSlots(writes, flags, current);
    } catch (error) {
      this.discardRevert(prepared);
      throw error;
    }
    for (const f of record.functions) this.stack(f.slot).pop();
    this.generation++;
    removeData(this.process, this.arena, record.data);
    this.patches.splice(this.patches.indexOf(record), 1);
    for (const { old, linked } of reinstated) {
      old.data = linked.data;
      this.pushEntries(old.staged.manifest, linked.writes);
      this.patches.push(old);
    }
    return record;
  }

  /** Abandons a prepared revert: the superseded patches' data placed for it is removed; nothing else had changed. */
  discardRevert(prepared: PreparedRevert): void {
    for (const { linked } of prepared.reinstated) {
      removeData(this.process, this.arena, linked.data);
      linked.data = undefined;
    }
  }

  /**
   * Attaches to a restarted process of the same image and re-applies every
   * installed patch in order, as an OS re-applies installed hotpatches at boot.
   */
  reattach(process: GuestProcess): void {
    if (process.buildId !== this.process.buildId) {
      throw new HotpatchError("E_TARGET_MISMATCH", `cannot reattach patches of ${this.process.buildId} to ${process.buildId}`);
    }
    const again = [...this.patches];
    this.process = process;
    this.arena = arenaOf(process);
    this.redirectFlags = undefined;
    this.stacks.clear();
    this.patches.length = 0;
    this.generation++;
    for (const old of again) {
      const prepared = this.link(old.staged, new Set());
      try {
        this.writeSlots(prepared.writes, this.flagWrites(prepared.writes));
      } catch (error) {
        removeData(this.process, this.arena, prepared.data);
        throw error;
      }
      old.data = prepared.data;
      this.pushEntries(old.staged.manifest, prepared.writes);
      this.patches.push(old);
    }
  }

  /** Which patch's code each slot runs now (slots never patched are left out). */
  activePatches(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [slot, stack] of this.stacks) if (stack.length > 1) out.set(slot, stack.at(-1)!.patchId);
    return out;
  }

  /** Free bytes in the patch arena (undefined for images without one). */
  arenaFreeBytes(): number | undefined {
    return this.arena?.freeBytes();
  }

  private supersededBy(manifest: PatchManifest): InstalledPatch[] {
    const target = manifest.target.buildId;
    const number = kbNumber(manifest.id);
    if (manifest.supersedes !== undefined) {
      const named = new Set(manifest.supersedes);
      return this.patches.filter((p) => named.has(p.id));
    }
    const newer = this.patches.find(
      (p) => p.staged.manifest.target.buildId === target && p.staged.manifest.supersedes === undefined && kbNumber(p.id) > number,
    );
    if (newer) {
      throw new HotpatchError("E_DOWNGRADE", `${newer.id}, a later cumulative hotpatch of the same baseline, is installed`, { patch: manifest.id });
    }
    return this.patches.filter((p) => p.staged.manifest.target.buildId === target && kbNumber(p.id) < number);
  }

  /** Links and instantiates a patch without touching the slot table. */
  private link(staged: StagedPatch, ignoring: ReadonlySet<string>): Linked {
    this.checkSlots(staged.manifest, ignoring);
    this.checkImports(staged);
    const dataImports = staged.manifest.data ? staged.imports.filter((i) => i.module === DATA_IMPORT_MODULE && i.name !== CALLERS_IMPORT).map((i) => i.name) : [];
    const callers = this.callerTable(staged.manifest);
    const data = placeData(this.process, this.arena, staged.manifest, staged.code, dataImports);
    try {
      const perPatch = callers ? { ...data?.imports, [CALLERS_IMPORT]: callers } : data?.imports;
      const imports = perPatch ? { ...this.process.codePageImports, [DATA_IMPORT_MODULE]: perPatch } : this.process.codePageImports;
      if (faults.isArmed()) faults.hit("instantiate", { patch: staged.id });
      const instance = new WebAssembly.Instance(staged.code, imports);
      const writes = staged.manifest.functions.map((fn) => ({ slot: fn.slot, entry: instance.exports[fn.export] as SlotEntry }));
      return { writes, data };
    } catch (error) {
      removeData(this.process, this.arena, data);
      const code = error instanceof WebAssembly.LinkError ? "E_LINK" : "E_INSTANTIATE";
      throw new HotpatchError(code, `the code page cannot be instantiated: ${(error as Error).message}`, { patch: staged.id });
    }
  }

  /**
   * The patch's caller table: entry i is the image's exported caller of slot
   * `callers[i].slot` (engine/wasm/codepage.ts). E_LINK when a slot has no
   * caller or another signature than the manifest says — `call_indirect`
   * would only find out when the call traps.
   */
  private callerTable(manifest: PatchManifest): WebAssembly.Table | undefined {
    const callers = manifest.callers;
    if (!callers || callers.length === 0) return undefined;
    const namespace = this.process.codePageImports.hotpatch as Record<string, unknown>;
    const table = new WebAssembly.Table({ element: "anyfunc", initial: callers.length, maximum: callers.length });
    callers.forEach(({ slot, signature }, i) => {
      const caller = namespace[slotCallerName(slot)];
      const actual = this.signatureOfSlot(slot);
      if (typeof caller !== "function" || actual === undefined) {
        throw new HotpatchError("E_LINK", `the code page calls slot ${slot}, for which the process exports no caller`, { patch: manifest.id, slot });
      }
      if (actual !== signature) {
        throw new HotpatchError("E_LINK", `the code page calls slot ${slot} as ${signature}, but the slot holds ${actual}`, { patch: manifest.id, slot });
      }
      table.set(i, caller as SlotEntry);
    });
    return table;
  }

  private signatureOfSlot(slot: number): string | undefined {
    if (!this.slotSignatures) this.slotSignatures = new Map(this.process.linkMap.functions.map((f) => [f.slot, f.signature]));
    return this.slotSignatures.get(slot);
  }

  /**
   * Rehearses the switch of a prepared patch or revert without changing
   * anything: every slot it writes gets its current entry again, every
   * redirect flag its current value. See `rewriteSlots` (swap.ts).
   */
  rehearse(prepared: PreparedPatch | PreparedRevert): void {
    const { writes, flags } = "switch" in prepared ? prepared.switch : prepared;
    rewriteSlots(this.process.slots, writes);
    for (const { flag } of flags) {
      const value = flag.value;
      flag.value = value;
    }
  }

  /**
   * The switch: every slot write (swap.ts: all or none) and, in the same
   * synchronous step (no guest code runs in between), the redirect flags.
   */
  private writeSlots(writes: readonly SlotWrite[], flags: readonly FlagWrite[], current?: readonly SlotEntry[]): void {
    swapSlots(this.process.slots, writes, this.swapProbe, current);
    for (let i = 0; i < flags.length; i++) flags[i].flag.value = flags[i].value;
  }

  /**
   * The redirect flags a swap of `writes` sets: a written slot's flag is 1
   * unless the slot holds the image's own function again, so host entries
   * (`F@entry`, inline mode) never run the image's copy of a patched function.
   */
  private flagWrites(writes: readonly SlotWrite[]): FlagWrite[] {
    const flags = this.redirectFlagsBySlot();
    const out: FlagWrite[] = [];
    if (flags.size === 0) return out;
    for (const { slot, entry } of writes) {
      const flag = flags.get(slot);
      if (flag) out.push({ flag, value: entry === this.stack(slot)[0].entry ? 0 : 1 });
    }
    return out;
  }

  /** The process's redirect flags by slot: none in slots-mode images. */
  private redirectFlagsBySlot(): Map<number, WebAssembly.Global> {
    if (!this.redirectFlags) {
      const exported = this.process.instance.exports as Record<string, unknown>;
      const exportByKey = new Map(this.process.linkMap.globals.map((g) => [g.key, g.export]));
      this.redirectFlags = new Map();
      for (const f of this.process.linkMap.functions) {
        const flag = exported[exportByKey.get(redirectFlagName(f.slot)) ?? ""];
        if (flag instanceof WebAssembly.Global) this.redirectFlags.set(f.slot, flag);
      }
    }
    return this.redirectFlags;
  }

  /** The stack entries a patch's writes push, in manifest order. */
  private stackEntries(manifest: PatchManifest, writes: SlotWrite[]): { slot: number; entry: StackEntry }[] {
    return manifest.functions.map((fn, i) => ({ slot: fn.slot, entry: { patchId: manifest.id, key: fn.key, signature: fn.signature, entry: writes[i].entry } }));
  }

  private pushEntries(manifest: PatchManifest, writes: SlotWrite[]): void {
    this.generation++;
    for (const { slot, entry } of this.stackEntries(manifest, writes)) this.stack(slot).push(entry);
  }

  /** Refuses unless, in each of its slots, nothing but patches in `leaving` lies above the record's entry. */
  private requireOnTop(record: InstalledPatch, leaving: ReadonlySet<string>): void {
    for (const fn of record.functions) {
      const top = this.stack(fn.slot).findLast((e) => e.patchId === record.id || !leaving.has(e.patchId))!;
      if (top.patchId !== record.id) {
        throw new HotpatchError("E_NOT_ON_TOP", `${top.patchId} was applied over it and must be reverted first`, { patch: record.id, function: fn.key });
      }
    }
  }

  /** The entry a slot would run if the given patches were not installed. */
  private topIgnoring(slot: number, ignoring: ReadonlySet<string>): StackEntry {
    const stack = this.stack(slot);
    return stack.findLast((e) => !ignoring.has(e.patchId)) ?? stack[0];
  }

  private stack(slot: number): StackEntry[] {
    let stack = this.stacks.get(slot);
    if (!stack) {
      const fn = this.process.linkMap.functions.find((f) => f.slot === slot);
      stack = [{ patchId: "", key: fn?.key ?? "", signature: fn?.signature ?? "", entry: this.process.slots.get(slot) as SlotEntry }];
      this.stacks.set(slot, stack);
    }
    return stack;
  }

  private checkSlots(manifest: PatchManifest, ignoring: ReadonlySet<string>): void {
    const patch = manifest.id;
    const size = this.process.linkMap.slots.size;
    const firstFree = this.process.linkMap.slots.firstFree;
    for (const fn of manifest.functions) {
      const refuse = (code: "E_SLOT" | "E_SLOT_SIGNATURE", reason: string) => new HotpatchError(code, reason, { patch, function: fn.key, slot: fn.slot });
      if (fn.slot >= size) throw refuse("E_SLOT", `slot ${fn.slot} does not exist: the image has ${size} slots`);
      const top = this.topIgnoring(fn.slot, ignoring);
      if (fn.oldFingerprint === NEW_FUNCTION) {
        if (fn.slot < firstFree) throw refuse("E_SLOT", `slot ${fn.slot} belongs to ${top.key}, not to a new function`);
        if (top.entry !== null && top.key !== fn.key) throw refuse("E_SLOT", `spare slot ${fn.slot} is already used by ${top.key} of ${top.patchId}`);
      } else if (top.key !== fn.key) {
        throw refuse("E_SLOT", `slot ${fn.slot} holds ${top.key || "nothing"}, not ${fn.key}`);
      }
      if (top.entry !== null && top.signature !== fn.signature) {
        throw refuse("E_SLOT_SIGNATURE", `the slot holds ${top.signature} but the replacement is ${fn.signature}`);
      }
    }
  }

  private checkImports(staged: StagedPatch): void {
    const imports = this.process.codePageImports;
    for (const imp of staged.imports) {
      if (imp.module === DATA_IMPORT_MODULE) {
        if (imp.name === CALLERS_IMPORT) continue; // the caller table: stage checked it against the manifest
        if (!staged.manifest.data) {
          throw new HotpatchError("E_LINK", `the code page imports ${imp.module}.${imp.name} but carries no static data`, { patch: staged.id });
        }
        continue; // provided by data placement
      }
      const value = (imports[imp.module] as Record<string, unknown> | undefined)?.[imp.name];
      const ok =
        (imp.kind === "function" && typeof value === "function") ||
        (imp.kind === "memory" && value instanceof WebAssembly.Memory) ||
        (imp.kind === "table" && value instanceof WebAssembly.Table) ||
        (imp.kind === "global" && value instanceof WebAssembly.Global);
      if (!ok) {
        throw new HotpatchError("E_LINK", `the code page imports ${imp.module}.${imp.name} (${imp.kind}), which the process does not provide`, {
          patch: staged.id,
        });
      }
    }
  }
}

function arenaOf(process: GuestProcess): PatchArena | undefined {
  const arena = process.linkMap.static?.arena;
  return arena ? new PatchArena(arena.start, arena.end) : undefined;
}

function kbNumber(id: string): number {
  return Number(id.slice(2));
}
