/**
 * The link map: what a process and a patch need to know about an image.
 *
 * An image file is the instrumented module with the link map appended as a
 * custom section named `hotpatch.linkmap` (UTF-8 JSON), so an image is still a
 * valid `.wasm` that any tool can load. The build id is the SHA-256 of the
 * module bytes without that section (first 24 hex digits): the same sources
 * and compiler options give the same bytes and so the same build id.
 */
import { HotpatchError } from "../errors.ts";
import type { StaticLayout } from "./static-data.ts";
import { type DataDescription, sha256Hex } from "../wasm/index.ts";
import { appendCustomSection, stripCustomSection } from "../format/index.ts";

export const LINK_MAP_SECTION = "hotpatch.linkmap";
export const LINK_MAP_FORMAT = 1;

export type ImageMode = "slots" | "inline";
export const IMAGE_MODES: readonly ImageMode[] = ["slots", "inline"];

export interface LinkedFunction {
  /** Name-independent identity: the name without the entry file's prefix, or the index name of a nameless module. */
  key: string;
  /** The function's name in the image (for messages and traces). */
  name: string;
  slot: number;
  signature: string;
  fingerprint: string;
}

export interface LinkedGlobal {
  key: string;
  name: string;
  type: string;
  mutable: boolean;
  /** The image's export of this global, which code pages import. */
  export: string;
  init: string;
}

export interface LinkMap {
  format: typeof LINK_MAP_FORMAT;
  buildId: string;
  source: {
    kind: "assemblyscript" | "wasm";
    name: string;
    /** Prefix stripped from names to form keys (`v1/`), empty if none. */
    namePrefix: string;
    /** Whether the module had a name section (functions match by name) or not (by index). */
    names: boolean;
  };
  /**
   * `callers`: the image exports a non-counting caller of every slot
   * (`hotpatch:call:<k>`), which the loader puts in code pages' caller tables.
   * Absent in images built before callers existed.
   */
  slots: { table: string; size: number; firstFree: number; callers?: boolean };
  /**
   * How the image was optimised (engine/image/build.ts): `slots` (default;
   * instrument, then optimise: no function body is ever inlined into another)
   * or `inline` (optimise with inlining, then instrument: a change to an
   * inlined function is delivered by patching every function whose optimised
   * body changed). Absent means `slots`.
   */
  mode?: ImageMode;
  functions: LinkedFunction[];
  globals: LinkedGlobal[];
  memory: { export: string | null };
  tables: { export: string }[];
  data: DataDescription[];
  imports: { module: string; base: string; kind: "function"; signature: string }[];
  exports: { name: string; kind: string; value: string }[];
  start?: string;
  elements: { table: string; offset: number | null; functions: string[] }[];
  /**
   * AssemblyScript images: the static objects of the unoptimised build (so
   * patches can reuse them in place) and the free region below static data
   * where patches' new objects are placed.
   */
  static?: StaticLayout & { arena: { start: number; end: number } };
}

export function buildIdOf(moduleBytes: Uint8Array): string {
  return sha256Hex(moduleBytes).slice(0, 24);
}

export function encodeImage(moduleBytes: Uint8Array, linkMap: LinkMap): Uint8Array {
  return appendCustomSection(moduleBytes, LINK_MAP_SECTION, new TextEncoder().encode(JSON.stringify(linkMap)));
}

export interface DecodedImage {
  module: Uint8Array;
  linkMap: LinkMap;
}

/** Splits an image file; undefined when the bytes are a plain module without a link map. */
export function decodeImage(bytes: Uint8Array, path?: string): DecodedImage | undefined {
  const { module, payload } = stripCustomSection(bytes, LINK_MAP_SECTION);
  if (!payload) return undefined;
  let linkMap: LinkMap;
  try {
    linkMap = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (error) {
    throw new HotpatchError("E_FORMAT", `the image's link map is not valid JSON (${(error as Error).message})`, { path });
  }
  if (linkMap?.format !== LINK_MAP_FORMAT) {
    throw new HotpatchError("E_FORMAT", `unknown link map format ${String(linkMap?.format)} (this version reads ${LINK_MAP_FORMAT})`, { path });
  }
  if (linkMap.buildId !== buildIdOf(module)) {
    throw new HotpatchError("E_FORMAT", "the image's module does not match the build id in its link map", { path });
  }
  return { module, linkMap };
}
