/**
 * Finding and rewriting pointers into static data.
 *
 * A guest compiled twice, with its static data at two memory bases `delta`
 * apart, gives two modules that differ only where the layout shows through:
 * an `i32.const`, a global's initial value or a 4-byte word of a data segment
 * that differs by exactly `delta` is a pointer (or an address computed from
 * one). `scanPointers` finds them by walking both unoptimised modules in step;
 * `relocatePointers` rewrites the first build so every pointer refers to the
 * running image's layout, or to a new object placed at apply time through an
 * imported global `patch.obj<k>` (position-independent code pages).
 */
import { HotpatchError } from "../errors.ts";
import { binaryen, dataSegments, definedFunctions, emitModule, globals, withModule } from "./binaryen.ts";
import { NEW_OBJECT_MODULE, newObjectImport } from "../format/index.ts";
import { walk } from "./walk.ts";

export interface ScannedSegment {
  offset: number;
  bytes: Uint8Array;
  /** Offsets (within the segment) of 4-byte words that hold pointers. */
  pointerWords: number[];
}

export interface PointerScan {
  /** Per function name: positions (among its i32 constants, in walk order) that are pointers, with their value. */
  code: Map<string, { index: number; value: number }[]>;
  /** Globals whose initial value is a pointer, with that value. */
  globals: Map<string, number>;
  segments: ScannedSegment[];
}

/** Where a pointer of the new build must point in the running process. */
export type PointerTarget = { absolute: number } | { object: number; offset: number };

/** binaryen.js's Const accessors (missing from its type declarations). */
const Const = (binaryen as unknown as { Const: { getValueI32(e: number): number; setValueI32(e: number, v: number): void } }).Const;

export function scanPointers(a: Uint8Array, b: Uint8Array, delta: number, name: string): PointerScan {
  return withModule(a, (ma) =>
    withModule(b, (mb) => {
      const fail = (what: string): never => {
        throw new HotpatchError("E_BUILD", `the builds at two memory bases differ in ${what}; static data cannot be analysed`, { path: name });
      };
      const code = new Map<string, { index: number; value: number }[]>();
      const fa = definedFunctions(ma);
      const fb = definedFunctions(mb);
      if (fa.length !== fb.length) fail("their number of functions");
      fa.forEach((fnA, i) => {
        const fnB = fb[i];
        if (fnA.name !== fnB.name) fail(`function order (${fnA.name} / ${fnB.name})`);
        const constsA = i32Constants(fnA.body);
        const constsB = i32Constants(fnB.body);
        if (constsA.length !== constsB.length) fail(`the structure of ${fnA.name}`);
        const pointers: { index: number; value: number }[] = [];
        constsA.forEach((c, index) => {
          const vb = constValue(constsB[index]);
          const va = constValue(c);
          if (vb - va === delta) pointers.push({ index, value: va });
          else if (va !== vb) fail(`a constant of ${fnA.name}`);
        });
        if (pointers.length > 0) code.set(fnA.name, pointers);
      });
      const globalPointers = new Map<string, number>();
      const ga = globals(ma);
      const gb = globals(mb);
      ga.forEach((g, i) => {
        if (g.imported || g.type !== binaryen.i32) return;
        if (binaryen.getExpressionId(g.init) !== binaryen.ConstId) return;
        const va = constValue(g.init);
        const vb = constValue(gb[i].init);
        if (vb - va === delta) globalPointers.set(g.name, va);
        else if (va !== vb) fail(`the initial value of ${g.name}`);
      });
      const da = dataSegments(ma);
      const db = dataSegments(mb);
      if (da.length !== db.length) fail("their number of data segments");
      const segments = da.map((segment, i) => {
        const other = db[i];
        if (segment.offset === null || other.offset === null || other.offset - segment.offset !== delta) fail(`data segment ${i}`);
        return { offset: segment.offset as number, bytes: segment.bytes, pointerWords: pointerWords(segment.bytes, other.bytes, delta, fail) };
      });
      return { code, globals: globalPointers, segments };
    }),
  );
}

/**
 * Rewrites build `a` (unoptimised, as scanned) so every pointer refers to
 * `resolve(value)`. New objects are reached through imported immutable
 * globals `patch.obj<k>`, whose values the loader sets when it places them.
 */
export function relocatePointers(a: Uint8Array, scan: PointerScan, resolve: (value: number) => PointerTarget): Uint8Array {
  return withModule(a, (module) => {
    const imported = new Set<string>();
    const objectBase = (k: number, offset = 0) => {
      const base = newObjectImport(k, offset);
      const name = `${NEW_OBJECT_MODULE}:${base}`;
      if (!imported.has(name)) {
        module.addGlobalImport(name, NEW_OBJECT_MODULE, base, binaryen.i32, false);
        imported.add(name);
      }
      return name;
    };
    for (const fn of definedFunctions(module)) {
      const pointers = scan.code.get(fn.name);
      if (!pointers) continue;
      const consts = i32ConstantsWithParents(fn.body);
      for (const { index, value } of pointers) {
        const target = resolve(value);
        const { expr, replace } = consts[index];
        if ("absolute" in target) {
          Const.setValueI32(expr, target.absolute);
        } else {
          const base = module.global.get(objectBase(target.object), binaryen.i32);
          const next = target.offset === 0 ? base : module.i32.add(base, module.i32.const(target.offset));
          if (!replace) throw new HotpatchError("E_BUILD", `a function body that is itself a pointer cannot be relocated (${fn.name})`);
          replace(next);
        }
      }
    }
    for (const g of globals(module)) {
      const value = scan.globals.get(g.name);
      if (value === undefined) continue;
      const target = resolve(value);
      if ("absolute" in target) {
        Const.setValueI32(g.init, target.absolute);
      } else {
        // A constant expression cannot add, so an inner pointer gets an import of its own.
        module.removeGlobal(g.name);
        module.addGlobal(g.name, g.type, g.mutable, module.global.get(objectBase(target.object, target.offset), binaryen.i32));
      }
    }
    return emitModule(module);
  });
}

function constValue(expr: number): number {
  return Const.getValueI32(expr);
}

function i32Constants(body: number): number[] {
  return i32ConstantsWithParents(body).map((c) => c.expr);
}

function i32ConstantsWithParents(body: number): { expr: number; replace?: (next: number) => void }[] {
  const out: { expr: number; replace?: (next: number) => void }[] = [];
  walk(body, (expr, parent) => {
    if (binaryen.getExpressionId(expr) === binaryen.ConstId && binaryen.getExpressionType(expr) === binaryen.i32) {
      out.push({ expr, replace: parent?.replace });
    }
  });
  return out;
}

function pointerWords(a: Uint8Array, b: Uint8Array, delta: number, fail: (what: string) => never): number[] {
  if (a.length !== b.length) fail("the size of a data segment");
  const words: number[] = [];
  const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at < a.length; at++) {
    if (a[at] === b[at]) continue;
    const word = at - (at % 4);
    if (word + 4 > a.length || (vb.getUint32(word, true) - va.getUint32(word, true)) >>> 0 !== delta) {
      fail(`a data word at +${word}`);
    }
    words.push(word);
    at = word + 3;
  }
  return words;
}
