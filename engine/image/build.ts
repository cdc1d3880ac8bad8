/**
 * Builds hotpatch-enabled images from AssemblyScript sources or from any
 * `.wasm` ("bring your own wasm").
 *
 * Stages: compile (AssemblyScript only) → instrument (slots and trampolines) →
 * optimise → describe → link map.
 *
 * Two modes (recorded in the link map; patches are built in their base's mode).
 * The default, DEFAULT_IMAGE_MODE, is `inline`: the mode whose steady state
 * stays within a few % of a plain build (bench suite `patchability`); every
 * path that builds an image without naming a mode (demo, stress, management
 * plane, scenarios, experiments, bench) gets it — except a module without a
 * name section, which defaults to `slots` (defaultModeOf): its globals are
 * keyed by index, inline mode's first optimisation drops constant globals,
 * and binaryen writes no names for nameless ones, so a re-read of the
 * optimised module numbers the rest anew and a patch's code page no longer
 * matches the link map (the patch build fails).
 * - `slots` (`--mode slots`): instrument, then optimise. Every call between two
 *   functions goes through a slot and no body is ever inlined into another,
 *   so replacing one slot replaces the function everywhere; every call costs
 *   a `call_indirect` (kvstore's mix about 3× slower than a plain build).
 * - `inline` (the default; kpatch's approach): optimise first, with asc -O3's inlining
 *   limits, then instrument, then optimise again (which inlines the
 *   trampolines). Functions the optimiser inlined have no slot of their own;
 *   their code lives in their callers' optimised bodies. A change to such a
 *   function changes those bodies, so the patch builder, which compares
 *   optimised bodies, patches every caller whose body changed. Calls that were
 *   not inlined go through slots, except calls of library code (`~lib/`,
 *   isLibraryFunction), which go straight to the body as in a plain build;
 *   a slot's fingerprint then also covers the library bodies its code reaches
 *   (engine/wasm/closure.ts), so a change to library code patches every
 *   function that calls it. Faster steady state; patches may carry more
 *   functions.
 * A foreign module's memory, data and globals are never moved:
 * instrumentation only adds a table, exports and functions, so every address
 * and global value of the original stays valid (in inline mode the first
 * optimisation may fold an unexported immutable global into the code that
 * reads it; every other global keeps its value).
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { type BuildCache, cacheKey, sourceInputsDigest } from "../build-cache/index.ts";
import { HotpatchError } from "../errors.ts";
import { closureFingerprints, dataSegments, describeModule, emitModule, ENTRY_SUFFIX, IMPL_SUFFIX, instrument, markNoInline, MEMORY_EXPORT, optimize, type PointerScan, scanPointers, SLOT_TABLE, type SlotPlan, validationError, withModule, withOldStateKept } from "../wasm/index.ts";
import { readModuleSummary } from "../format/index.ts";
import { contentHash, layoutOf, type StaticLayout } from "./static-data.ts";
import { compileAssemblyScript, MEMORY_BASE, PATCH_ARENA_START } from "./compile-as.ts";
import { buildIdOf, decodeImage, encodeImage, type ImageMode, type LinkMap } from "./linkmap.ts";

export interface Image {
  /** The instrumented module (what a process instantiates). */
  module: Uint8Array;
  linkMap: LinkMap;
  /** The image file: module + link map section. */
  bytes: Uint8Array;
}

/** Plain module bytes plus what is needed to name its functions. */
export interface GuestModule {
  wasm: Uint8Array;
  kind: "assemblyscript" | "wasm";
  name: string;
  namePrefix: string;
  /**
   * AssemblyScript only: pointers into static data, found by a second compile
   * at another memory base (engine/wasm/relocate.ts). Foreign modules have
   * none, so their static data cannot change in a hotpatch.
   */
  pointers?: PointerScan;
}

/** Distance between the two memory bases used to tell pointers from numbers. */
export const POINTER_PROBE_DELTA = 0x10000;

export function isAssemblyScriptSource(path: string): boolean {
  return path.endsWith(".ts");
}

export interface LoadOptions {
  /** A running image's static layout: a source whose data equals it needs no pointer scan. */
  sameLayoutAs?: StaticLayout;
  /** Reuse and record compiles in this build cache (engine/build-cache/); none by default. */
  cache?: BuildCache;
}

/** Compiles or reads a guest; an image file given here is returned as an image. */
export async function loadGuest(path: string, options: LoadOptions = {}): Promise<GuestModule | Image> {
  if (isAssemblyScriptSource(path)) {
    const { wasm, namePrefix } = await compileAssemblyScript(path, MEMORY_BASE, options.cache);
    // Finding pointers costs a second compile; skip it when the static data is
    // byte for byte the layout the caller already runs (nothing to relocate).
    const unchanged = options.sameLayoutAs && sameStaticData(wasm, options.sameLayoutAs);
    const pointers = unchanged ? undefined : await scanAssemblyScriptPointers(path, wasm, options.cache);
    return { wasm, kind: "assemblyscript", name: basename(path), namePrefix, pointers };
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot read ${path}: ${(error as Error).message}`, { path });
  }
  const image = decodeImage(bytes, path);
  if (image) return { ...image, bytes };
  readModuleSummary(bytes); // a clear E_FORMAT for anything that is not WebAssembly
  return { wasm: bytes, kind: "wasm", name: basename(path), namePrefix: "" };
}

async function scanAssemblyScriptPointers(path: string, wasm: Uint8Array, cache?: BuildCache): Promise<PointerScan> {
  const shifted = await compileAssemblyScript(path, MEMORY_BASE + POINTER_PROBE_DELTA, cache);
  return scanPointers(wasm, shifted.wasm, POINTER_PROBE_DELTA, basename(path));
}

function sameStaticData(wasm: Uint8Array, layout: StaticLayout): boolean {
  const segments = withModule(wasm, dataSegments);
  return (
    segments.length === layout.objects.length &&
    segments.every((s, i) => s.offset === layout.objects[i].offset && contentHash(s.bytes) === layout.objects[i].content)
  );
}

export function isImage(value: GuestModule | Image): value is Image {
  return "linkMap" in value;
}

/** The image mode of every build that names none (`image build`, `stress`, demo, management plane, bench). */
export const DEFAULT_IMAGE_MODE: ImageMode = "inline";

export interface ImageOptions {
  /** Default: defaultModeOf the guest (DEFAULT_IMAGE_MODE, `slots` for a module without names). */
  mode?: ImageMode;
}

/** The mode of a build that names none: DEFAULT_IMAGE_MODE, or `slots` for a module without a name section (see the top of this file). */
function defaultModeOf(hasNames: boolean): ImageMode {
  return hasNames ? DEFAULT_IMAGE_MODE : "slots";
}

/**
 * Builds an image from a source, a plain `.wasm`, or returns an image file as it is (whatever its mode).
 * With `cache`, an image built before from the same inputs (a source and
 * everything it imports, or the `.wasm`'s bytes) in the same mode is read
 * back: the same bytes a build gives.
 */
export async function buildImageFromPath(path: string, options: ImageOptions & { cache?: BuildCache } = {}): Promise<Image> {
  const { cache } = options;
  const cached = cache && (await imageKeyOf(path, options.mode, cache));
  const hit = cached ? cache.get(cached) : undefined;
  const decoded = hit && decodeImage(hit, path);
  if (hit && decoded) return { ...decoded, bytes: hit };
  const guest = await loadGuest(path, { cache });
  if (isImage(guest)) return guest;
  const image = buildImage(guest, undefined, options);
  const key = cache && (await imageKeyOf(path, options.mode, cache));
  if (key) cache.put(key, image.bytes);
  return image;
}

/** The cache key of the image of `path` in `mode`; undefined while the source's inputs are unknown to the cache. */
async function imageKeyOf(path: string, mode: ImageMode | undefined, cache: BuildCache): Promise<string | undefined> {
  if (isAssemblyScriptSource(path)) {
    const digest = sourceInputsDigest(cache, path);
    return digest && cacheKey("image", { source: digest, mode: mode ?? null });
  }
  const bytes = await readFile(path).catch(() => undefined);
  return bytes && cacheKey("image", { wasm: new Uint8Array(bytes), name: basename(path), mode: mode ?? null });
}

export function keyFunction(namePrefix: string): (name: string) => string {
  // AssemblyScript names the entry file's top-level code `start:<entry>`.
  const startName = `start:${namePrefix.slice(0, -1)}`;
  return (name) => {
    const plain = name.endsWith(IMPL_SUFFIX) ? name.slice(0, -IMPL_SUFFIX.length) : name.endsWith(ENTRY_SUFFIX) ? name.slice(0, -ENTRY_SUFFIX.length) : name;
    if (!namePrefix) return plain;
    if (plain === startName) return "start:~entry";
    return plain.startsWith(namePrefix) ? plain.slice(namePrefix.length) : plain;
  };
}

/**
 * Instruments and optimises a guest. With `plan` (a base image's slots), known
 * functions keep the base's slots: used by the patch builder so that target
 * and base bodies are directly comparable.
 */
export function buildImage(guest: GuestModule, plan?: SlotPlan, options: ImageOptions = {}): Image {
  const hasNames = WebAssembly.Module.customSections(new WebAssembly.Module(guest.wasm as BufferSource), "name").length > 0;
  const mode = options.mode ?? defaultModeOf(hasNames);
  const keyOf = keyFunction(guest.namePrefix);
  return withModule(guest.wasm, (module) => {
    if (mode === "inline") {
      markNoInline(module, PROGRAM_RUNTIME);
      withOldStateKept(module, keyOf, () => optimize(module, { inlining: "asc" }));
    }
    const result = instrument(module, keyOf, plan, mode === "inline" ? { direct: isLibraryFunction, entries: true } : {});
    optimize(module);
    const invalid = validationError(module);
    if (invalid) throw new HotpatchError("E_BUILD", `instrumented module is invalid: ${invalid}`, { path: guest.name });
    const moduleBytes = emitModule(module);
    const description = describeModule(module, keyOf);
    const closures = mode === "inline" ? closureFingerprints(module, keyOf, description) : undefined;
    const fingerprintBySlot = new Map(description.slots.map((s) => [s.slot, closures ? { ...s, fingerprint: closures.get(s.slot) ?? s.fingerprint } : s]));
    const globalsByName = new Map(description.globals.map((g) => [g.name, g]));
    const linkMap: LinkMap = {
      format: 1,
      buildId: buildIdOf(moduleBytes),
      source: { kind: guest.kind, name: guest.name, namePrefix: guest.namePrefix, names: hasNames },
      slots: { table: SLOT_TABLE, size: result.tableSize, firstFree: plan?.firstFree ?? result.functions.length, callers: result.callers },
      mode,
      functions: result.functions.map((f) => {
        const slot = fingerprintBySlot.get(f.slot);
        if (!slot) throw new Error(`internal: slot ${f.slot} of ${f.name} vanished during optimisation`);
        return { key: f.key, name: f.name, slot: f.slot, signature: slot.signature, fingerprint: slot.fingerprint };
      }),
      globals: [...result.globalExports].map(([key, exportName]) => {
        const name = [...globalsByName.keys()].find((n) => keyOf(n) === key)!;
        const g = globalsByName.get(name)!;
        return { key, name, type: g.type, mutable: g.mutable, export: exportName, init: g.init };
      }),
      memory: { export: result.memoryExported ? MEMORY_EXPORT : null },
      tables: result.tableExports.map((name) => ({ export: name })),
      data: description.data,
      imports: description.imports,
      exports: description.exports,
      start: description.start,
      elements: description.elements,
      static: guest.pointers
        ? { ...layoutOf(guest.pointers.segments, MEMORY_BASE), arena: { start: PATCH_ARENA_START, end: MEMORY_BASE } }
        : undefined,
    };
    return { module: moduleBytes, linkMap, bytes: encodeImage(moduleBytes, linkMap) };
  });
}

/**
 * AssemblyScript runtime functions whose code depends on the program (its
 * globals, classes and type table) rather than on the library alone: they
 * change with ordinary edits (a new string literal, a new class), so in
 * inline mode they are never inlined and never called directly, and a
 * change to them stays a one-slot patch.
 */
const PROGRAM_RUNTIME = ["~lib/rt/__visit_globals", "~lib/rt/__visit_members", "~lib/rt/__typeinfo", "~lib/rt/__instanceof"];

/**
 * Inline mode: library code (AssemblyScript's `~lib/` standard library and
 * runtime, except PROGRAM_RUNTIME) is called directly, not through slots, as
 * in a plain build. It still has its slots (exports and code pages use them);
 * a change to it reaches the process through every function that calls it
 * directly (see closureFingerprints).
 */
export function isLibraryFunction(name: string): boolean {
  return name.startsWith("~lib/") && !PROGRAM_RUNTIME.includes(name);
}

/** The slot plan of an image: patch builds against it keep its slots. */
export function slotPlanOf(linkMap: LinkMap): SlotPlan {
  return {
    assigned: new Map(linkMap.functions.map((f) => [f.key, f.slot])),
    size: linkMap.slots.size,
    firstFree: linkMap.slots.firstFree,
  };
}
