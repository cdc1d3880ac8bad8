/**
 * The patch builder: base + target → a signed hotpatch package, or the
 * reasons why the change needs a baseline.
 *
 * Stages: build the base image (or read it) → compile the target → place its
 * static data (reuse running objects, new ones go to the arena; static-data.ts)
 * and relocate its pointers onto the running layout → build the target with
 * the base's slot plan → classify → state changes and their migration
 * (state-changes.ts) → cut the code page → sign. Because the
 * target is relocated and keeps every known function in its base slot, an
 * unchanged function compiles to exactly the base's body: only real changes
 * become patch content, and the bodies in the code page call the running
 * process's functions through the right slots and address its live data.
 */
import type { KeyObject } from "node:crypto";
import type { BuildCache } from "../build-cache/index.ts";
import { HotpatchError } from "../errors.ts";
import { buildImage, buildImageFromPath, type DataPlan, type GuestModule, type Image, type ImageMode, isImage, keyFunction, layoutOf, loadGuest, MEMORY_BASE, planStaticData, slotPlanOf } from "../image/index.ts";
import { encodePackage, type PatchManifest } from "../patch/index.ts";
import { callUnchangedThroughSlots, extractCodePage, IMPL_SUFFIX, reachableAfterStartup, readersOfGlobals, relocatePointers, withoutExports } from "../wasm/index.ts";
import { callbackExports, callbackFields, readDirectives, splitCallbacks, withoutCallbackExports } from "./callbacks.ts";
import { classify, type FunctionChange, isMigrationName, isStartKey } from "./classify.ts";
import { planState, stateManifest } from "./state-changes.ts";

export interface PatchBuildRequest {
  /** Base: an AssemblyScript source, a `.wasm`, or an image file (or an image already built). */
  base: string | Image;
  /** Target: an AssemblyScript source or a `.wasm`. */
  target: string;
  id: string;
  title?: string;
  classification?: string;
  key: KeyObject;
  /**
   * Which installed hotpatches this one replaces. Default (undefined): every
   * hotpatch of the same baseline with a lower KB number (cumulative). An
   * empty list: none — the patch stacks on top of others per function.
   */
  supersedes?: string[];
  /** The image mode of a base given as a source or plain `.wasm` (default DEFAULT_IMAGE_MODE, engine/image); an image keeps its own. */
  mode?: ImageMode;
  /** Reuse and record the compiles and the base image in this build cache (engine/build-cache/); none by default. */
  cache?: BuildCache;
}

export type PatchBuildResult =
  | { kind: "hotpatch"; id: string; functions: FunctionChange[]; reasons: []; manifest: PatchManifest; code: Uint8Array; package: Uint8Array; base: Image }
  | { kind: "requires-baseline"; id: string; functions: FunctionChange[]; reasons: string[]; base: Image }
  | { kind: "no-change"; id: string; functions: []; reasons: []; base: Image };

export const codePageExportName = (slot: number) => `fn:${slot}`;

export async function buildPatch(request: PatchBuildRequest): Promise<PatchBuildResult> {
  const { cache } = request;
  const base = typeof request.base === "string" ? await buildImageFromPath(request.base, { mode: request.mode, cache }) : request.base;
  const guest = await loadGuest(request.target, { sameLayoutAs: base.linkMap.static, cache });
  if (isImage(guest)) {
    throw new HotpatchError("E_USAGE", "the target must be a source or a plain .wasm, not an image", { path: request.target, patch: request.id });
  }
  const { relocated, plan } = placeStaticData(guest, base);
  // Built in the base's mode, with its slots: unchanged functions get exactly the base's optimised bodies.
  // (A link map without a mode is an image built before modes existed: slots.)
  const target = buildImage(relocated, slotPlanOf(base.linkMap), { mode: base.linkMap.mode ?? "slots" });
  const keyOf = keyFunction(guest.namePrefix);
  const classification = classify(withoutCallbackExports(base.linkMap), withoutCallbackExports(target.linkMap), { relocated: plan !== undefined });
  const state = planState(base.linkMap, target, classification, plan);
  const reasons = [...classification.reasons, ...state.reasons, ...startupOnlyChanges(classification.changes, target, keyOf)];
  const readAgain = [...classification.changedConstants, ...state.cells];
  const cut = splitCallbacks(target.linkMap, withReadersOfChangedConstants(classification.changes, readAgain, target, keyOf), request.target);
  const changes = cut.changes.filter(
    // Accepted state changes: the migration stands in for the start-up code, which never runs again.
    (c) => !isMigrationName(c.key) && !(state.accepted && isStartKey(c.key, target.linkMap.start)),
  );
  if (reasons.length > 0) return { kind: "requires-baseline", id: request.id, functions: changes, reasons, base };
  if (changes.length === 0) return { kind: "no-change", id: request.id, functions: [], reasons: [], base };

  const { code, callers } = extractCodePage(withoutExports(throughUnchangedSlots(target, base), callbackExports(cut.callbacks)), keyOf, {
    slots: [...changes.map((c) => ({ slot: c.slot, export: codePageExportName(c.slot) })), ...cut.callbacks],
    globalExports: new Map(base.linkMap.globals.map((g) => [g.key, g.export])),
    tableExports: base.linkMap.tables.map((t) => t.export),
    memoryExport: base.linkMap.memory.export,
    foldGlobals: new Set(classification.changedConstants),
    data: plan?.blob,
    callerSlots: base.linkMap.slots.callers ? new Set(base.linkMap.functions.map((f) => f.slot)) : undefined,
    cells: state.cells,
    oldState: state.oldState,
    migration: state.migration,
  });
  const patchState = stateManifest(state, plan);
  const manifest: PatchManifest = {
    format: 1,
    id: request.id,
    title: request.title ?? `Hotpatch ${request.id} for ${base.linkMap.source.name}`,
    classification: request.classification ?? "Security",
    kind: "hotpatch",
    target: { buildId: base.linkMap.buildId },
    functions: changes.map((c) => ({
      key: c.key,
      slot: c.slot,
      signature: c.signature,
      oldFingerprint: c.oldFingerprint,
      newFingerprint: c.newFingerprint,
      export: codePageExportName(c.slot),
    })),
    helpers: changes.filter((c) => c.change === "new").map((c) => c.key),
    ...(callers.length > 0 ? { callers } : {}),
    ...(request.supersedes ? { supersedes: request.supersedes } : {}),
    ...callbackFields(cut.callbacks, readDirectives(request.target), request.target),
    ...(plan && plan.newObjects.length > 0
      ? { data: { size: plan.blob.length, objects: plan.newObjects.map((o) => o.blobOffset), relocations: plan.relocations } }
      : {}),
    ...(patchState ? { state: patchState } : {}),
  };
  const bytes = encodePackage({ manifest, code }, request.key);
  return { kind: "hotpatch", id: request.id, functions: changes, reasons: [], manifest, code, package: bytes, base };
}

/**
 * For AssemblyScript targets against images that recorded their static
 * layout: plan the data and rewrite the target's pointers onto the running
 * layout. Anything else is compared as it is (static data must not change).
 */
function placeStaticData(guest: GuestModule, base: Image): { relocated: GuestModule; plan?: DataPlan } {
  const layout = base.linkMap.static;
  if (!guest.pointers || !layout) return { relocated: { ...guest, pointers: undefined } };
  const plan = planStaticData(layout, layoutOf(guest.pointers.segments, MEMORY_BASE), guest.pointers.segments);
  const wasm = relocatePointers(guest.wasm, guest.pointers, plan.resolve);
  return { relocated: { ...guest, wasm, pointers: undefined }, plan };
}

/**
 * Inline mode: the target's direct calls of library code that did not change
 * (same closure fingerprint as the base's: engine/wasm/closure.ts) go through
 * the running process's slots, so the code page does not carry copies of it.
 */
function throughUnchangedSlots(target: Image, base: Image): Uint8Array {
  if (target.linkMap.mode !== "inline") return target.module;
  const before = new Map(base.linkMap.functions.map((f) => [f.key, f]));
  const unchanged = new Map<string, number>();
  for (const f of target.linkMap.functions) {
    const old = before.get(f.key);
    if (old && old.slot === f.slot && old.signature === f.signature && old.fingerprint === f.fingerprint) unchanged.set(f.name + IMPL_SUFFIX, f.slot);
  }
  return callUnchangedThroughSlots(target.module, unchanged);
}

/** A function that reads a constant whose value changes must be replaced even if its code did not change. */
function withReadersOfChangedConstants(
  changes: FunctionChange[],
  changedConstants: string[],
  target: Image,
  keyOf: (name: string) => string,
): FunctionChange[] {
  const readers = readersOfGlobals(target.module, keyOf, new Set(changedConstants));
  const known = new Set(changes.map((c) => c.key));
  const extra = target.linkMap.functions
    .filter((f) => readers.has(f.key) && !known.has(f.key))
    .map((f): FunctionChange => ({
      key: f.key,
      slot: f.slot,
      signature: f.signature,
      change: "changed",
      oldFingerprint: f.fingerprint,
      newFingerprint: f.fingerprint,
    }));
  return [...changes, ...extra].sort((a, b) => a.slot - b.slot);
}

/** A changed function that only start-up code reaches would never run again in a running process. */
function startupOnlyChanges(changes: FunctionChange[], target: Image, keyOf: (name: string) => string): string[] {
  const keyBySlot = new Map(target.linkMap.functions.map((f) => [f.slot, f.key]));
  const live = reachableAfterStartup(target.module, keyOf, keyBySlot);
  // The start function itself is reported by classify ("the module's start-up code changes").
  const isStart = (key: string) => key === target.linkMap.start || key.startsWith("start:");
  return changes
    .filter((c) => !live.has(c.key) && !isStart(c.key))
    .map((c) => `function ${c.key} runs only at start-up, which already happened in a running process: the change would never take effect`);
}
