/**
 * Walking binaryen expression trees: children with their setters, a
 * depth-first visit, and a canonical serialisation used for fingerprints.
 *
 * binaryen.js has no generic child accessor, so the child fields of each
 * expression kind are listed here. A kind that is not listed (GC, strings,
 * exceptions, atomics) makes `childrenOf` throw an UnsupportedExpression: the
 * builder then refuses to analyse that function rather than guess.
 */
import { binaryen, typeName } from "./binaryen.ts";

export class UnsupportedExpression extends Error {}

export interface Child {
  expr: number;
  replace(next: number): void;
}

/** `list` names the accessors of a list of children: [count getter, item getter, item setter]. */
type Kind = { single?: string[]; list?: [string, string, string] };

const B = binaryen as unknown as Record<string, Record<string, (...args: unknown[]) => unknown>>;

const CHILDREN: [string, string, string] = ["getNumChildren", "getChildAt", "setChildAt"];
const OPERANDS: [string, string, string] = ["getNumOperands", "getOperandAt", "setOperandAt"];

/** Child fields per expression class: single children by getter suffix, or a list. */
const KINDS: Record<number, [className: string, kind: Kind]> = {
  [binaryen.BlockId]: ["Block", { list: CHILDREN }],
  [binaryen.IfId]: ["If", { single: ["Condition", "IfTrue", "IfFalse"] }],
  [binaryen.LoopId]: ["Loop", { single: ["Body"] }],
  [binaryen.BreakId]: ["Break", { single: ["Condition", "Value"] }],
  [binaryen.SwitchId]: ["Switch", { single: ["Condition", "Value"] }],
  [binaryen.CallId]: ["Call", { list: OPERANDS }],
  [binaryen.CallIndirectId]: ["CallIndirect", { single: ["Target"], list: OPERANDS }],
  [binaryen.LocalGetId]: ["LocalGet", {}],
  [binaryen.LocalSetId]: ["LocalSet", { single: ["Value"] }],
  [binaryen.GlobalGetId]: ["GlobalGet", {}],
  [binaryen.GlobalSetId]: ["GlobalSet", { single: ["Value"] }],
  [binaryen.LoadId]: ["Load", { single: ["Ptr"] }],
  [binaryen.StoreId]: ["Store", { single: ["Ptr", "Value"] }],
  [binaryen.ConstId]: ["Const", {}],
  [binaryen.UnaryId]: ["Unary", { single: ["Value"] }],
  [binaryen.BinaryId]: ["Binary", { single: ["Left", "Right"] }],
  [binaryen.SelectId]: ["Select", { single: ["IfTrue", "IfFalse", "Condition"] }],
  [binaryen.DropId]: ["Drop", { single: ["Value"] }],
  [binaryen.ReturnId]: ["Return", { single: ["Value"] }],
  [binaryen.MemorySizeId]: ["MemorySize", {}],
  [binaryen.MemoryGrowId]: ["MemoryGrow", { single: ["Delta"] }],
  [binaryen.NopId]: ["Nop", {}],
  [binaryen.UnreachableId]: ["Unreachable", {}],
  [binaryen.MemoryInitId]: ["MemoryInit", { single: ["Dest", "Offset", "Size"] }],
  [binaryen.DataDropId]: ["DataDrop", {}],
  [binaryen.MemoryCopyId]: ["MemoryCopy", { single: ["Dest", "Source", "Size"] }],
  [binaryen.MemoryFillId]: ["MemoryFill", { single: ["Dest", "Value", "Size"] }],
  [binaryen.RefNullId]: ["RefNull", {}],
  [binaryen.RefIsNullId]: ["RefIsNull", { single: ["Value"] }],
  [binaryen.RefFuncId]: ["RefFunc", {}],
  [binaryen.RefEqId]: ["RefEq", { single: ["Left", "Right"] }],
  [binaryen.TableGetId]: ["TableGet", { single: ["Index"] }],
  [binaryen.TableSetId]: ["TableSet", { single: ["Index", "Value"] }],
  [binaryen.TableSizeId]: ["TableSize", {}],
  [binaryen.TableGrowId]: ["TableGrow", { single: ["Value", "Delta"] }],
  [binaryen.TupleMakeId]: ["TupleMake", { list: OPERANDS }],
  [binaryen.TupleExtractId]: ["TupleExtract", { single: ["Tuple"] }],
  [binaryen.SIMDExtractId]: ["SIMDExtract", { single: ["Vec"] }],
  [binaryen.SIMDReplaceId]: ["SIMDReplace", { single: ["Vec", "Value"] }],
  [binaryen.SIMDShuffleId]: ["SIMDShuffle", { single: ["Left", "Right"] }],
  [binaryen.SIMDTernaryId]: ["SIMDTernary", { single: ["A", "B", "C"] }],
  [binaryen.SIMDShiftId]: ["SIMDShift", { single: ["Vec", "Shift"] }],
  [binaryen.SIMDLoadId]: ["SIMDLoad", { single: ["Ptr"] }],
  [binaryen.SIMDLoadStoreLaneId]: ["SIMDLoadStoreLane", { single: ["Ptr", "Vec"] }],
};

/** Info fields that hold child expressions (left out of serialisations). */
const CHILD_FIELDS = new Set([
  "children",
  "condition",
  "ifTrue",
  "ifFalse",
  "body",
  "value",
  "operands",
  "ptr",
  "left",
  "right",
  "delta",
  "dest",
  "source",
  "size",
  "vec",
  "tuple",
  "shift",
  "a",
  "b",
  "c",
]);

export function expressionKind(expr: number): string {
  const entry = KINDS[binaryen.getExpressionId(expr)];
  return entry ? entry[0] : `unsupported#${binaryen.getExpressionId(expr)}`;
}

export function childrenOf(expr: number): Child[] {
  const id = binaryen.getExpressionId(expr);
  const entry = KINDS[id];
  if (!entry) throw new UnsupportedExpression(`expression kind ${id} is not supported by the patch builder`);
  const [cls, kind] = entry;
  const api = B[cls];
  const out: Child[] = [];
  for (const field of kind.single ?? []) {
    const child = api[`get${field}`](expr) as number;
    if (child) out.push({ expr: child, replace: (next) => void api[`set${field}`](expr, next) });
  }
  if (kind.list) {
    const [countOf, itemAt, setItemAt] = kind.list;
    const count = api[countOf](expr) as number;
    for (let i = 0; i < count; i++) {
      const child = api[itemAt](expr, i) as number;
      out.push({ expr: child, replace: (next) => void api[setItemAt](expr, i, next) });
    }
  }
  return out;
}

/** Depth-first, parent before children, children in evaluation order. */
export function walk(expr: number, visit: (expr: number, parent: Child | undefined) => void, parent?: Child): void {
  visit(expr, parent);
  for (const child of childrenOf(expr)) walk(child.expr, visit, child);
}

export interface SerializeOptions {
  /** Maps function, global and table names to keys. */
  keyOf: (name: string) => string;
  /** Name of the `abort` import, whose line and column arguments are noise. */
  abortName?: string;
}

/** A canonical text of an expression tree: kinds, scalar fields and keys, no type indices. */
export function serialize(expr: number, options: SerializeOptions): string {
  const parts: string[] = [];
  // Branch labels are renamed by order of first use: their names carry counters
  // (`__inlined_func$f$208`) that shift when unrelated code is inlined elsewhere.
  const labels = new Map<string, string>();
  const label = (name: string) => {
    let canonical = labels.get(name);
    if (canonical === undefined) {
      canonical = `L${labels.size}`;
      labels.set(name, canonical);
    }
    return canonical;
  };
  const isLabelled = (id: number) => id === binaryen.BlockId || id === binaryen.LoopId || id === binaryen.BreakId || id === binaryen.SwitchId;
  const visit = (node: number, masked: boolean) => {
    if (masked) {
      parts.push("(masked)");
      return;
    }
    const id = binaryen.getExpressionId(node);
    const info = expressionInfo(node);
    // Types are rendered by name: binaryen's ids of composite types are heap
    // pointers, which differ from one process to the next.
    const fields: string[] = [expressionKind(node), `t:${typeText(info.type as number)}`];
    for (const [field, value] of Object.entries(info)) {
      // A Const's `value` is its number, not a child expression: it must count.
      if (field === "id" || field === "type" || (CHILD_FIELDS.has(field) && id !== binaryen.ConstId)) continue;
      if (id === binaryen.CallIndirectId && field === "target") continue;
      if ((id === binaryen.TableGetId || id === binaryen.TableSetId) && field === "index") continue;
      if (id === binaryen.MemoryInitId && field === "offset") continue;
      if (isLabelled(id) && (field === "name" || field === "defaultName") && typeof value === "string") {
        fields.push(`${field}=${label(value)}`);
        continue;
      }
      if (id === binaryen.SwitchId && field === "names" && Array.isArray(value)) {
        fields.push(`${field}=[${value.map((n) => label(String(n))).join(",")}]`);
        continue;
      }
      fields.push(`${field}=${renderField(field, value, options)}`);
    }
    // abort(message, file, line, column) only reports: a moved line, a renamed source file or a
    // relocated message string is not a change (the call itself, and where it is, still count).
    const isAbort = id === binaryen.CallId && options.abortName !== undefined && info.target === options.abortName;
    parts.push(`(${fields.join(" ")}`);
    childrenOf(node).forEach((child, i) => {
      visit(child.expr, isAbort && i <= 3);
    });
    parts.push(")");
  };
  visit(expr, false);
  return parts.join("");
}

/** getExpressionInfo throws for kinds without accessors (Unreachable, Nop, …): those have no fields. */
function expressionInfo(expr: number): Record<string, unknown> {
  try {
    return binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>;
  } catch {
    return { id: binaryen.getExpressionId(expr), type: binaryen.getExpressionType(expr) };
  }
}

/** Fields whose value is a binaryen type id. */
const TYPE_FIELDS = new Set(["params", "results", "valueType"]);

function typeText(type: number): string {
  return binaryen.expandType(type).map(typeName).join(",");
}

function renderField(field: string, value: unknown, options: SerializeOptions): string {
  if (TYPE_FIELDS.has(field) && typeof value === "number") return typeText(value);
  if (typeof value === "string" && (field === "target" || field === "name" || field === "table" || field === "func")) {
    return options.keyOf(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(String).join(",")}]`;
  if (value !== null && typeof value === "object") return JSON.stringify(value); // e.g. an i64 Const's { low, high }
  return String(value);
}
