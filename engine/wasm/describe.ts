/**
 * Reads what an instrumented, optimised module looks like: which function
 * sits in which slot with what signature and body fingerprint, its globals,
 * data segments, imports and exports. The image builder turns this into a
 * link map; the patch builder compares two of them.
 *
 * Fingerprints are independent of names that only reflect where a source file
 * lives: every `$name` token of a body is replaced by its key, and type
 * indices (`(type $N)`, which depend on the order of the type section) are
 * dropped. Two bodies with equal fingerprints behave the same when slot
 * numbers, globals and data layout match — which the builder checks apart.
 */
import { createHash } from "node:crypto";
import {
  type BinaryenModule,
  dataSegments,
  definedFunctions,
  elementSegments,
  exports,
  expressionText,
  globals,
  importedFunctions,
  signatureOf,
  startFunctionName,
  typeName,
} from "./binaryen.ts";
import { SLOT_TABLE } from "./instrument.ts";

export interface SlotDescription {
  slot: number;
  /** Name of the function in the slot (an `@impl`, possibly merged by the optimiser). */
  implName: string;
  signature: string;
  fingerprint: string;
}

export interface GlobalDescription {
  name: string;
  type: string;
  mutable: boolean;
  imported: boolean;
  /** Constant initial value as text, for immutable globals folded into code pages. */
  init: string;
}

export interface DataDescription {
  offset: number | null;
  size: number;
  sha256: string;
}

export interface ModuleDescription {
  slots: SlotDescription[];
  globals: GlobalDescription[];
  data: DataDescription[];
  imports: { module: string; base: string; kind: "function"; signature: string }[];
  exports: { name: string; kind: string; value: string }[];
  /** Key of the start function, if any (its body is in the slot with that key). */
  start?: string;
  /** Element segments of tables other than the slot table (function pointers). */
  elements: { table: string; offset: number | null; functions: string[] }[];
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function describeModule(module: BinaryenModule, keyOf: (name: string) => string): ModuleDescription {
  const functionsByName = new Map(definedFunctions(module).map((f) => [f.name, f]));
  const fingerprintOf = (name: string) => {
    const fn = functionsByName.get(name);
    if (!fn) throw new Error(`internal: slot function ${name} is not defined`);
    const header = `${signatureOf(fn.params, fn.results)} vars(${fn.vars.map(typeName).join(",")})`;
    return sha256Hex(`${header}\n${normalizeText(expressionText(fn.body), keyOf)}`).slice(0, 32);
  };

  const slots: SlotDescription[] = [];
  const elements: ModuleDescription["elements"] = [];
  for (const segment of elementSegments(module)) {
    if (segment.table !== SLOT_TABLE) {
      elements.push({ table: segment.table, offset: segment.offset, functions: segment.functions.map(keyOf) });
      continue;
    }
    segment.functions.forEach((implName, i) => {
      const fn = functionsByName.get(implName)!;
      slots.push({
        slot: (segment.offset ?? 0) + i,
        implName,
        signature: signatureOf(fn.params, fn.results),
        fingerprint: fingerprintOf(implName),
      });
    });
  }
  slots.sort((a, b) => a.slot - b.slot);

  const start = startFunctionName(module);
  return {
    slots,
    globals: globals(module).map((g) => ({
      name: g.name,
      type: typeName(g.type),
      mutable: g.mutable,
      imported: g.imported,
      init: g.imported ? "" : normalizeText(expressionText(g.init), keyOf),
    })),
    data: dataSegments(module).map((d) => ({ offset: d.offset, size: d.bytes.length, sha256: sha256Hex(d.bytes).slice(0, 32) })),
    imports: importedFunctions(module).map((f) => ({
      module: f.module,
      base: f.base,
      kind: "function" as const,
      signature: signatureOf(f.params, f.results),
    })),
    exports: exports(module)
      .filter((e) => !e.name.startsWith("hotpatch:"))
      .map((e) => ({ name: e.name, kind: e.kind, value: e.kind === "function" || e.kind === "global" ? keyOf(e.value) : e.value })),
    start: start ? keyOf(start) : undefined,
    elements,
  };
}

/** Replaces `$name` tokens with their keys and drops type indices. */
export function normalizeText(text: string, keyOf: (name: string) => string): string {
  return text.replace(/ \(type \$[^\s()]+\)/g, "").replace(/\$([^\s()]+)/g, (_, name: string) => `$${keyOf(name)}`);
}
