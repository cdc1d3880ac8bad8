/**
 * Linking: instantiating a staged code page against the running process,
 * without touching the slot table.
 *
 * Order of `link`: slots and signatures (against the slot stacks, ignoring
 * the patches that are on their way out) → imports resolve → the caller
 * table → the patch's state cells (patch-state.ts) → place static data →
 * instantiate → the migration rehearsed on a scratch copy (migration.ts).
 * Every refusal is a HotpatchError (E_SLOT, E_SLOT_SIGNATURE, E_LINK,
 * E_INSTANTIATE, E_ARENA_FULL, E_MIGRATION…); one
 * raised after the data was placed removes it again, so a refused link leaves
 * memory as it was. `unlink` gives a linked page's data space back.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import { CALLERS_IMPORT, FUEL_IMPORT, parseCellImport, slotCallerName } from "../format/index.ts";
import type { PatchManifest } from "../patch/index.ts";
import type { GuestProcess } from "../process/index.ts";
import type { PatchArena } from "./arena.ts";
import { type BoundCallbacks, bindCallbacks } from "./callbacks.ts";
import { DATA_IMPORT_MODULE, type PlacedData, placeData, removeData } from "./data-placement.ts";
import { rehearseMigration } from "./migration.ts";
import { type LinkedState, newState, planTakeover, type StateSource, stateImports } from "./patch-state.ts";
import type { SlotStacks } from "./slot-stacks.ts";
import type { StagedPatch } from "./stage.ts";
import type { SlotEntry, SlotWrite } from "./swap.ts";

/** Marks a function that the base image does not have (manifest `oldFingerprint`). */
const NEW_FUNCTION = "none";

/** A linked, instantiated code page and where its entries go (manifest order). */
export interface Linked {
  writes: SlotWrite[];
  data?: PlacedData;
  /** The patch's callbacks, bound to this instance (callbacks.ts). */
  callbacks?: BoundCallbacks;
  state?: LinkedState;
}

/** Links code pages against one process (a restarted process gets a new linker). */
export class Linker {
  /** Signature of each slot of the image, by slot (built on first use). */
  private slotSignatures: Map<number, string> | undefined;
  /** The process's caller export of each slot asked for so far (callerOf). */
  private readonly slotCallers = new Map<number, SlotEntry>();

  constructor(
    private readonly process: GuestProcess,
    private readonly arena: PatchArena | undefined,
    private readonly stacks: SlotStacks,
  ) {}

  /**
   * Links and instantiates a patch as if the patches in `ignoring` were not
   * installed; `from`: the patches leaving with it, whose state it may take
   * over (patch-state.ts). A patch with a migration has it rehearsed on a
   * scratch copy of the process (migration.ts) unless all its state is taken over.
   */
  link(staged: StagedPatch, ignoring: ReadonlySet<string>, from: readonly StateSource[] = []): Linked {
    this.checkSlots(staged.manifest, ignoring);
    const checked = importsCheckedAgainst(staged, this.process.linkMap);
    if (!checked) this.checkImports(staged);
    const dataImports = staged.manifest.data ? staged.imports.filter((i) => i.module === DATA_IMPORT_MODULE && i.name !== CALLERS_IMPORT).map((i) => i.name) : [];
    const callers = this.callerTable(staged.manifest, checked);
    if (!checked) markImportsChecked(staged, this.process.linkMap);
    const state = newState(staged.manifest, from);
    const data = placeData(this.process, this.arena, staged.manifest, staged.code, dataImports);
    try {
      const perPatch = callers || state ? { ...data?.imports, ...(callers ? { [CALLERS_IMPORT]: callers } : {}), ...stateImports(state) } : data?.imports;
      const imports = perPatch ? { ...this.process.codePageImports, [DATA_IMPORT_MODULE]: perPatch } : this.process.codePageImports;
      let instance: WebAssembly.Instance;
      try {
        if (faults.isArmed()) faults.hit("instantiate", { patch: staged.id });
        instance = new WebAssembly.Instance(staged.code, imports);
      } catch (error) {
        throw instantiationError(error, staged.id);
      }
      const writes = staged.manifest.functions.map((fn) => ({ slot: fn.slot, entry: instance.exports[fn.export] as SlotEntry }));
      if (state) {
        bindMigration(state, staged, instance, imports);
        planTakeover(state, staged.manifest, data, from);
        if (!state.takenOver) rehearseMigration(this.process, staged, state, data, "migrate");
      }
      return { writes, data, state, ...(staged.manifest.callbacks ? { callbacks: bindCallbacks(staged.manifest, instance.exports) } : {}) };
    } catch (error) {
      removeData(this.process, this.arena, data);
      throw error;
    }
  }

  /** Rehearses a linked patch's reverse migration on a scratch copy of the process (E_MIGRATION; nothing changes). */
  rehearseReverse(staged: StagedPatch, state: LinkedState, data: PlacedData | undefined): void {
    rehearseMigration(this.process, staged, state, data, "unmigrate");
  }

  /** Gives the data space of a linked page back (zeroed); nothing for a page without data. */
  unlink(data: PlacedData | undefined): void {
    removeData(this.process, this.arena, data);
  }

  private checkSlots(manifest: PatchManifest, ignoring: ReadonlySet<string>): void {
    const patch = manifest.id;
    const size = this.process.linkMap.slots.size;
    const firstFree = this.process.linkMap.slots.firstFree;
    for (const fn of manifest.functions) {
      const refuse = (code: "E_SLOT" | "E_SLOT_SIGNATURE", reason: string) => new HotpatchError(code, reason, { patch, function: fn.key, slot: fn.slot });
      if (fn.slot >= size) throw refuse("E_SLOT", `slot ${fn.slot} does not exist: the image has ${size} slots`);
      const top = this.stacks.topIgnoring(fn.slot, ignoring);
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
        const cell = parseCellImport(imp.name);
        if (cell !== undefined || imp.name === FUEL_IMPORT) {
          const state = staged.manifest.state;
          if (!state || (cell !== undefined && !state.cells.some((c) => c.key === cell))) {
            throw new HotpatchError("E_LINK", `the code page imports ${imp.module}.${imp.name}, a state cell its manifest does not declare`, { patch: staged.id });
          }
          continue; // provided by the patch's state
        }
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

  /**
   * The patch's caller table: entry i is the image's exported caller of slot
   * `callers[i].slot` (engine/wasm/codepage.ts). E_LINK when a slot has no
   * caller or another signature than the manifest says — `call_indirect`
   * would only find out when the call traps.
   */
  private callerTable(manifest: PatchManifest, checked: boolean): WebAssembly.Table | undefined {
    const callers = manifest.callers;
    if (!callers || callers.length === 0) return undefined;
    const namespace = this.process.codePageImports.hotpatch as Record<string, unknown>;
    const table = new WebAssembly.Table({ element: "anyfunc", initial: callers.length, maximum: callers.length });
    if (checked) {
      for (let i = 0; i < callers.length; i++) table.set(i, this.callerOf(callers[i].slot, namespace));
      return table;
    }
    callers.forEach(({ slot, signature }, i) => {
      const caller = this.callerOf(slot, namespace);
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

  /** The process's exported caller of a slot (a fixed export of its instance), looked up once per slot. */
  private callerOf(slot: number, namespace: Record<string, unknown>): SlotEntry {
    let caller = this.slotCallers.get(slot);
    if (caller === undefined) {
      caller = namespace[slotCallerName(slot)] as SlotEntry;
      this.slotCallers.set(slot, caller);
    }
    return caller;
  }

  private signatureOfSlot(slot: number): string | undefined {
    if (!this.slotSignatures) this.slotSignatures = new Map(this.process.linkMap.functions.map((f) => [f.slot, f.signature]));
    return this.slotSignatures.get(slot);
  }
}

/**
 * Staged patches whose imports and caller table were checked against an
 * image, by the image's link map (object identity). The checks read only
 * the staged patch and what every process of one image provides alike —
 * its exports and the host's namespace, and its link map's signatures — so a
 * fleet of processes of one image (engine/vms, bench fleet-apply) checks a
 * package once, not once per process. Slots are still checked per process:
 * they depend on its installed patches.
 */
const importsChecked = new WeakMap<StagedPatch, WeakSet<object>>();

function importsCheckedAgainst(staged: StagedPatch, linkMap: object): boolean {
  return importsChecked.get(staged)?.has(linkMap) ?? false;
}

function markImportsChecked(staged: StagedPatch, linkMap: object): void {
  let images = importsChecked.get(staged);
  if (!images) {
    images = new WeakSet();
    importsChecked.set(staged, images);
  }
  images.add(linkMap);
}

function instantiationError(error: unknown, patch: string): HotpatchError {
  const code = error instanceof WebAssembly.LinkError ? "E_LINK" : "E_INSTANTIATE";
  return new HotpatchError(code, `the code page cannot be instantiated: ${(error as Error).message}`, { patch });
}

function bindMigration(state: LinkedState, staged: StagedPatch, instance: WebAssembly.Instance, imports: WebAssembly.Imports): void {
  const exported = (name: string | undefined) => (name === undefined ? undefined : (instance.exports[name] as (() => void) | undefined));
  state.imports = imports;
  state.migrate = exported(staged.manifest.state?.migrate);
  state.unmigrate = exported(staged.manifest.state?.unmigrate);
}
