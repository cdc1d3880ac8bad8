/**
 * The loader: links staged patches against one running process and keeps,
 * for every slot, the stack of code that has been placed in it.
 *
 * As in the kernel's livepatch `func_stack`, the entry in use is the top of
 * the slot's stack: enabling a patch pushes its functions, disabling pops
 * them, and only a patch that is on top of every slot it touches can be
 * disabled (E_NOT_ON_TOP otherwise). The bottom of each stack is the image's
 * own function, captured when the loader is attached.
 *
 * `enable` order: target build id → slots and signatures → imports resolve →
 * instantiate → swap (one step, swap.ts) → record. Any failure before the
 * swap leaves the table and memory untouched: a code page has no start
 * function and no data (checked at staging), so instantiation writes nothing.
 */
import { HotpatchError } from "../errors.ts";
import type { LinkMap } from "../image/linkmap.ts";
import type { PatchManifest } from "../patch/format.ts";
import type { TrustStore } from "../patch/keys.ts";
import type { GuestProcess } from "../process/process.ts";
import { stagePatch, type StagedPatch } from "./stage.ts";
import { type SlotEntry, type SlotWrite, type SwapProbe, swapSlots } from "./swap.ts";

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
  /** Kept so a restarted process can have its patches re-applied. */
  staged: StagedPatch;
}

export interface LoaderOptions {
  /** Injected clock (milliseconds); records carry its time. */
  now?: () => number;
  /** Fault-injection hook run inside the swap after each slot write. */
  swapProbe?: SwapProbe;
}

export class PatchLoader {
  private process: GuestProcess;
  private readonly stacks = new Map<number, StackEntry[]>();
  private readonly patches: InstalledPatch[] = [];
  private readonly now: () => number;
  private readonly swapProbe?: SwapProbe;

  constructor(process: GuestProcess, options: LoaderOptions = {}) {
    this.process = process;
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
    const { manifest } = staged;
    const patch = manifest.id;
    if (this.patches.some((p) => p.id === patch)) {
      throw new HotpatchError("E_ALREADY_APPLIED", "the patch is already installed", { patch });
    }
    const linkMap = this.process.linkMap;
    if (manifest.target.buildId !== linkMap.buildId) {
      throw new HotpatchError(
        "E_TARGET_MISMATCH",
        `built for image ${manifest.target.buildId}, but the process runs ${linkMap.buildId} (${linkMap.source.name})`,
        { patch },
      );
    }
    this.checkSlots(manifest, linkMap);
    this.checkImports(staged);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(staged.code, this.process.codePageImports);
    } catch (error) {
      const code = error instanceof WebAssembly.LinkError ? "E_LINK" : "E_INSTANTIATE";
      throw new HotpatchError(code, `the code page cannot be instantiated: ${(error as Error).message}`, { patch });
    }
    const writes: SlotWrite[] = manifest.functions.map((fn) => ({ slot: fn.slot, entry: instance.exports[fn.export] as SlotEntry }));
    swapSlots(this.process.slots, writes, this.swapProbe);
    manifest.functions.forEach((fn, i) => {
      this.stack(fn.slot).push({ patchId: patch, key: fn.key, signature: fn.signature, entry: writes[i].entry });
    });
    const record: InstalledPatch = {
      id: patch,
      title: manifest.title,
      classification: manifest.classification,
      functions: manifest.functions.map((fn) => ({ key: fn.key, slot: fn.slot })),
      appliedAt: this.now(),
      staged,
    };
    this.patches.push(record);
    return record;
  }

  /** Disables a patch that is on top of every slot it replaced, restoring the exact previous entries. */
  revert(id: string): InstalledPatch {
    const index = this.patches.findIndex((p) => p.id === id);
    if (index < 0) throw new HotpatchError("E_NOT_APPLIED", "the patch is not installed", { patch: id });
    const record = this.patches[index];
    for (const fn of record.functions) {
      const top = this.stack(fn.slot).at(-1)!;
      if (top.patchId !== id) {
        throw new HotpatchError("E_NOT_ON_TOP", `${top.patchId} was applied over it and must be reverted first`, {
          patch: id,
          function: fn.key,
        });
      }
    }
    const writes = record.functions.map((fn) => {
      const stack = this.stack(fn.slot);
      return { slot: fn.slot, entry: stack[stack.length - 2].entry };
    });
    swapSlots(this.process.slots, writes, this.swapProbe);
    for (const fn of record.functions) this.stack(fn.slot).pop();
    this.patches.splice(index, 1);
    return record;
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
    this.stacks.clear();
    this.patches.length = 0;
    for (const record of again) this.enable(record.staged);
  }

  /** Which patch's code each slot runs now (slots never patched are left out). */
  activePatches(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [slot, stack] of this.stacks) if (stack.length > 1) out.set(slot, stack.at(-1)!.patchId);
    return out;
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

  private checkSlots(manifest: PatchManifest, linkMap: LinkMap): void {
    const patch = manifest.id;
    for (const fn of manifest.functions) {
      const context = { patch, function: fn.key, slot: fn.slot };
      if (fn.slot >= linkMap.slots.size) {
        throw new HotpatchError("E_SLOT", `slot ${fn.slot} does not exist: the image has ${linkMap.slots.size} slots`, context);
      }
      const top = this.stack(fn.slot).at(-1)!;
      if (fn.oldFingerprint === NEW_FUNCTION) {
        if (fn.slot < linkMap.slots.firstFree) {
          throw new HotpatchError("E_SLOT", `slot ${fn.slot} belongs to ${top.key}, not to a new function`, context);
        }
        if (top.entry !== null && top.key !== fn.key) {
          throw new HotpatchError("E_SLOT", `spare slot ${fn.slot} is already used by ${top.key} of ${top.patchId}`, context);
        }
      } else if (top.key !== fn.key) {
        throw new HotpatchError("E_SLOT", `slot ${fn.slot} holds ${top.key || "nothing"}, not ${fn.key}`, context);
      }
      if (top.entry !== null && top.signature !== fn.signature) {
        throw new HotpatchError("E_SLOT_SIGNATURE", `the slot holds ${top.signature} but the replacement is ${fn.signature}`, context);
      }
    }
  }

  private checkImports(staged: StagedPatch): void {
    const imports = this.process.codePageImports;
    for (const imp of staged.imports) {
      const namespace = imports[imp.module] as Record<string, unknown> | undefined;
      const value = namespace?.[imp.name];
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
