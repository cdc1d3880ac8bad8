/**
 * Static data in patches: which objects of the new build already exist in
 * the running image (they keep their running address, so live state stays
 * where it is) and which are new (they travel in the package and are placed
 * in the process's patch arena when the patch is applied).
 *
 * Objects are the data segments of an unoptimised AssemblyScript build (one
 * static object each). They are matched in order by content, with pointer
 * words masked (an LCS over content hashes, so an inserted string does not
 * shift the matching of everything after it); a matched object whose
 * pointers, once relocated, disagree with the running object's is treated as
 * new, until nothing changes. The running image's zero-filled objects are
 * buffers that hold live state: one that has no match in the new build means
 * its layout changed, which needs a baseline.
 */
import { createHash } from "node:crypto";
import type { PointerTarget, ScannedSegment } from "../wasm/index.ts";

export interface StaticObject {
  offset: number;
  size: number;
  /** SHA-256 (first 32 hex digits) of the content with pointer words zeroed. */
  shape: string;
  /** SHA-256 (first 32 hex digits) of the content as it is. */
  content: string;
  /** Pointer words: offset within the object and the address they hold. */
  pointers: { at: number; value: number }[];
  zeroFilled: boolean;
}

export interface StaticLayout {
  memoryBase: number;
  /** End of the last static object. */
  dataEnd: number;
  objects: StaticObject[];
}

export interface NewObject {
  /** Offset of the object in the package's data blob. */
  blobOffset: number;
  size: number;
}

export interface DataPlan {
  resolve(value: number): PointerTarget;
  newObjects: NewObject[];
  /** New objects' bytes; pointer words to existing objects already hold running addresses. */
  blob: Uint8Array;
  /** Words of the blob the loader sets to (address of new object `object`) + `offset`. */
  relocations: { at: number; object: number; offset: number }[];
  reasons: string[];
  /** The running image's zero-filled buffers that the target no longer uses (each is one of `reasons`). */
  vanished: { offset: number; size: number }[];
}

export function staticObjects(segments: ScannedSegment[]): StaticObject[] {
  return segments.map((segment) => {
    const masked = segment.bytes.slice();
    const view = new DataView(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength);
    const pointers = segment.pointerWords.map((at) => {
      masked.fill(0, at, at + 4);
      return { at, value: view.getUint32(at, true) };
    });
    return {
      offset: segment.offset,
      size: segment.bytes.length,
      shape: contentHash(masked),
      content: contentHash(segment.bytes),
      pointers,
      zeroFilled: pointers.length === 0 && segment.bytes.every((b) => b === 0),
    };
  });
}

export function contentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

export function layoutOf(segments: ScannedSegment[], memoryBase: number): StaticLayout {
  const objects = staticObjects(segments);
  const dataEnd = objects.reduce((end, o) => Math.max(end, o.offset + o.size), memoryBase);
  return { memoryBase, dataEnd, objects };
}

/** Plans where every object of `target` lives in a process running `base`. */
export function planStaticData(base: StaticLayout, target: StaticLayout, targetSegments: ScannedSegment[]): DataPlan {
  const match = lcs(base.objects.map((o) => o.shape), target.objects.map((o) => o.shape));
  // match[t] = index of the base object that target object t reuses, or -1 (new).
  const resolveWith = (value: number): PointerTarget => {
    // The end of static data (`__data_end`, the stack and heap above it) maps to the running end.
    if (value >= target.dataEnd) return { absolute: base.dataEnd + (value - target.dataEnd) };
    const t = containing(target.objects, value);
    if (t < 0) return { absolute: value >= target.dataEnd ? base.dataEnd + (value - target.dataEnd) : value };
    const offset = value - target.objects[t].offset;
    const b = match[t];
    return b >= 0 ? { absolute: base.objects[b].offset + offset } : { object: newIndex(t), offset };
  };
  const newIndex = (t: number) => match.slice(0, t).filter((m) => m < 0).length;

  // Unmatch objects whose pointers disagree once relocated, until stable.
  for (let changed = true; changed; ) {
    changed = false;
    target.objects.forEach((object, t) => {
      const b = match[t];
      if (b < 0) return;
      const running = base.objects[b].pointers;
      const agree =
        running.length === object.pointers.length &&
        object.pointers.every((p, i) => {
          const resolved = resolveWith(p.value);
          return running[i].at === p.at && "absolute" in resolved && resolved.absolute === running[i].value;
        });
      if (!agree) {
        match[t] = -1;
        changed = true;
      }
    });
  }

  const reasons: string[] = [];
  const vanished: DataPlan["vanished"] = [];
  const reused = new Set(match.filter((m) => m >= 0));
  base.objects.forEach((object, b) => {
    if (object.zeroFilled && !reused.has(b)) {
      vanished.push({ offset: object.offset, size: object.size });
      reasons.push(
        `the static buffer at 0x${object.offset.toString(16)} (${object.size} bytes) changes or disappears: it holds live state and cannot move`,
      );
    }
  });

  const newObjects: NewObject[] = [];
  const chunks: { blobOffset: number; bytes: Uint8Array; t: number }[] = [];
  let cursor = 0;
  target.objects.forEach((object, t) => {
    if (match[t] >= 0) return;
    // Keep each object's alignment modulo 16 (AssemblyScript aligns payloads to 16).
    cursor += (((object.offset % 16) - (cursor % 16)) + 16) % 16;
    newObjects.push({ blobOffset: cursor, size: object.size });
    chunks.push({ blobOffset: cursor, bytes: targetSegments[t].bytes, t });
    cursor += object.size;
  });
  const blob = new Uint8Array(cursor);
  const view = new DataView(blob.buffer);
  const relocations: DataPlan["relocations"] = [];
  for (const chunk of chunks) {
    blob.set(chunk.bytes, chunk.blobOffset);
    for (const pointer of target.objects[chunk.t].pointers) {
      const at = chunk.blobOffset + pointer.at;
      const resolved = resolveWith(pointer.value);
      if ("absolute" in resolved) view.setUint32(at, resolved.absolute, true);
      else {
        view.setUint32(at, 0, true);
        relocations.push({ at, object: resolved.object, offset: resolved.offset });
      }
    }
  }
  return { resolve: resolveWith, newObjects, blob, relocations, reasons, vanished };
}

/** Index of the object containing `value` (its one-past-the-end address counts), or -1. */
function containing(objects: StaticObject[], value: number): number {
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i];
    if (value >= o.offset && value < o.offset + o.size) return i;
  }
  for (let i = 0; i < objects.length; i++) if (value === objects[i].offset + objects[i].size) return i;
  return -1;
}

/** Longest common subsequence of two hash lists; returns, per `b` item, the matched `a` index or -1. */
function lcs(a: string[], b: string[]): number[] {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out = new Array<number>(m).fill(-1);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      out[j] = i;
      i++;
      j++;
    } else if (table[i + 1][j] >= table[i][j + 1]) i++;
    else j++;
  }
  return out;
}
