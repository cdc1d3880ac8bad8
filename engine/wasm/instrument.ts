/**
 * Makes every function of a module patchable.
 *
 * Each defined function F is split in two: its body moves to `F@impl`, which is
 * placed in slot k of a new exported table `hotpatch:slots`; F itself becomes a
 * trampoline that does `call_indirect hotpatch:slots k` with its own arguments.
 * Exports, element segments and the start function keep referring to F by
 * name, so every path into F — direct calls, exports, function pointers — goes
 * through slot k. Replacing the table entry replaces F everywhere.
 *
 * Ordering contract: instrument first, optimise afterwards. The optimiser then
 * inlines the trampolines into their callers (so a call costs one
 * `call_indirect`), but it can never turn a call through an exported table back
 * into a direct call, and it never inlines an `@impl` (they are only reachable
 * through the table). A function the optimiser would have inlined therefore
 * stays patchable. (Exception, on request: `direct` functions, whose `@impl`
 * the module's own code calls directly; see InstrumentOptions.)
 *
 * The module's memory, tables and globals are exported under `hotpatch:` names
 * so that code pages (patches) can import exactly what the running process has.
 *
 * Functions that can reach the host's safepoint import get a counting
 * trampoline and an activation counter global (engine/wasm/activation.ts).
 *
 * Slot callers. Every slot k also gets an exported, non-counting caller
 * `hotpatch:call:<k>` (`call_indirect hotpatch:slots k` with the slot's
 * signature: the trampoline without the counting). Code pages reach the
 * running process's functions through these callers — placed by the loader
 * in a caller table of the patch's own (engine/wasm/codepage.ts) — instead
 * of importing the slot table: V8 registers every instance that imports a
 * table with that table for as long as the table lives (even after the
 * instance is unreachable), and every `table.set` then updates all of them —
 * a swap slowed down by every code page ever applied, and a leak.
 *
 * The slot table is table 0 when the module imports no table: V8 reaches
 * table 0 with fewer loads than any other table, and every patchable call
 * goes through it.
 *
 * Entries (option `entries`, image mode `inline`). A host call of an
 * exported function would pay for one more wasm frame than in a plain build:
 * export → trampoline → `call_indirect` → body. With entries, each function
 * F the guest exports gets `F@entry`, which the export names instead of F:
 * a copy of F's own body behind a test of a redirect flag, the mutable
 * global `hotpatch:redirect:<k>` (k = F's slot). While the flag is 0 the host
 * runs the copy, exactly the image's own F; the loader sets the flag to 1
 * whenever slot k holds anything but the image's own function, in the same
 * synchronous step as the slot write, and `F@entry` then calls through the
 * slot. Counted functions count their activations in `F@entry` too (on the
 * same counter as the trampoline). `F@entry` is not in a slot and has F's key.
 */
import { HotpatchError } from "../errors.ts";
import { countingCall, functionsReachingSafepoint } from "./activation.ts";
import { binaryen, type BinaryenModule, definedFunctions, exports, globals, tables } from "./binaryen.ts";
import { activeCounterName, redirectFlagName, slotCallerName } from "../format/index.ts";
import { childrenOf, UnsupportedExpression, walk } from "./walk.ts";

export const SLOT_TABLE = "hotpatch:slots";
export const MEMORY_EXPORT = "hotpatch:memory";
export const IMPL_SUFFIX = "@impl";
/** Suffix of an exported function's host entry (option `entries`). */
export const ENTRY_SUFFIX = "@entry";
/** Suffix of the non-counting slot caller of a counted function (other functions' trampolines are their callers). */
export const CALLER_SUFFIX = "@call";
/** The image's export of slot k's caller: the loader puts it in the caller tables of code pages that call slot k. */
export const callerExportName = (slot: number) => `hotpatch:${slotCallerName(slot)}`;
export const tableExportName = (index: number) => `hotpatch:table:${index}`;
export const globalExportName = (index: number) => `hotpatch:global:${index}`;

/** Where each function goes. Built fresh for an image, or taken from a base image for a patch build. */
export interface SlotPlan {
  /** Slots already assigned, by function key. */
  assigned: ReadonlyMap<string, number>;
  /** Size of the slot table: assigned slots plus spare ones. */
  size: number;
  /** The first slot that new functions may take. */
  firstFree: number;
}

export interface InstrumentedFunction {
  key: string;
  name: string;
  slot: number;
}

export interface InstrumentResult {
  functions: InstrumentedFunction[];
  tableSize: number;
  /** Exported global name by global key. */
  globalExports: Map<string, string>;
  /** Exported table name by table position. */
  tableExports: string[];
  memoryExported: boolean;
  /** Whether every slot has an exported caller (`hotpatch:call:<k>`). */
  callers: boolean;
}

export interface InstrumentOptions {
  /**
   * Functions whose calls inside the module go straight to their body
   * (`call $F@impl`) instead of through their slot (image mode `inline`:
   * library code). They keep their slot, trampoline and slot caller (exports,
   * function pointers and code pages still use the slot), but replacing the
   * slot does not reach the direct calls: a patch that changes such a
   * function must also replace every function that calls it directly, which
   * the image builder ensures by folding the bodies a function reaches
   * through direct calls into its fingerprint (engine/wasm/closure.ts). Never
   * applies to counted functions (activation counting happens in trampolines).
   */
  direct?: (name: string) => boolean;
  /** Give every function the guest exports a host entry behind a redirect flag (see the module comment). */
  entries?: boolean;
}

/** Number of empty slots an image reserves for functions that patches add. */
export const DEFAULT_SPARE_SLOTS = 64;

export function freshPlan(keys: string[], spare = DEFAULT_SPARE_SLOTS): SlotPlan {
  const assigned = new Map<string, number>();
  for (const [slot, key] of keys.entries()) assigned.set(key, slot);
  return { assigned, size: keys.length + spare, firstFree: keys.length };
}

/**
 * Instruments `module` in place. `keyOf` maps a function or global name to the
 * name-independent key that matches it across versions.
 */
export function instrument(module: BinaryenModule, keyOf: (name: string) => string, plan?: SlotPlan, options: InstrumentOptions = {}): InstrumentResult {
  const defined = definedFunctions(module);
  const keys = defined.map((f) => keyOf(f.name));
  const effectivePlan = plan ?? freshPlan(keys);
  const slots = assignSlots(keys, effectivePlan);
  const counted = functionsReachingSafepoint(module);
  // Counted functions are always entered through their (counting) trampoline.
  const direct = new Set(defined.filter((f) => options.direct?.(f.name) && !counted.has(f.name)).map((f) => f.name));

  const taken = new Set(defined.map((f) => f.name));
  const exportedByGuest = new Set(
    exports(module)
      .filter((e) => e.kind === "function" && !e.name.startsWith("hotpatch:"))
      .map((e) => e.value),
  );
  const entries: { fn: (typeof defined)[number]; slot: number; body: number }[] = [];
  const functions: InstrumentedFunction[] = [];
  defined.forEach((fn, i) => {
    const impl = fn.name + IMPL_SUFFIX;
    if (taken.has(impl)) {
      throw new HotpatchError("E_BUILD", `the module already has a function named ${impl}`, { function: fn.name });
    }
    const paramTypes = binaryen.expandType(fn.params);
    if (options.entries && exportedByGuest.has(fn.name)) entries.push({ fn, slot: slots[i], body: module.copyExpression(fn.body) });
    // The body keeps living in the module's arena when its function is removed.
    module.removeFunction(fn.name);
    module.addFunction(impl, fn.params, fn.results, fn.vars, fn.body);
    const args = paramTypes.map((type, index) => module.local.get(index, type));
    const call = module.call_indirect(SLOT_TABLE, module.i32.const(slots[i]), args, fn.params, fn.results);
    if (counted.has(fn.name)) {
      // Added before the globals are exported below, so counters are exported (and importable) like any global.
      module.addGlobal(activeCounterName(fn.name), binaryen.i32, true, module.i32.const(0));
      const body = countingCall(module, activeCounterName(fn.name), call, fn.results, paramTypes.length);
      module.addFunction(fn.name, fn.params, fn.results, fn.results === binaryen.none ? [] : [fn.results], body);
      const caller = fn.name + CALLER_SUFFIX;
      if (taken.has(caller)) throw new HotpatchError("E_BUILD", `the module already has a function named ${caller}`, { function: fn.name });
      const args2 = paramTypes.map((type, index) => module.local.get(index, type));
      module.addFunction(caller, fn.params, fn.results, [], module.call_indirect(SLOT_TABLE, module.i32.const(slots[i]), args2, fn.params, fn.results));
      module.addFunctionExport(caller, callerExportName(slots[i]));
    } else {
      module.addFunction(fn.name, fn.params, fn.results, [], call);
      module.addFunctionExport(fn.name, callerExportName(slots[i]));
    }
    functions.push({ key: keys[i], name: fn.name, slot: slots[i] });
  });

  const withEntries = entries.filter((entry) => addEntry(module, entry.fn, entry.slot, entry.body, counted.has(entry.fn.name)));
  if (direct.size > 0) callDirectly(module, direct);

  const originalTables = tables(module);
  // Redirect flags are globals of the image like any other: exported, in the link map and the process state.
  for (const entry of withEntries) module.addGlobal(redirectFlagName(entry.slot), binaryen.i32, true, module.i32.const(0));
  const originalGlobals = globals(module);
  addSlotTable(module, originalTables, effectivePlan.size);
  addSlotSegments(module, functions);
  module.addTableExport(SLOT_TABLE, SLOT_TABLE);

  const tableExports = originalTables.map((table, index) => {
    module.addTableExport(table.name, tableExportName(index));
    return tableExportName(index);
  });
  const globalExports = new Map<string, string>();
  originalGlobals.forEach((global, index) => {
    module.addGlobalExport(global.name, globalExportName(index));
    globalExports.set(keyOf(global.name), globalExportName(index));
  });
  const memoryName = memoryInternalName(module);
  if (memoryName !== undefined) module.addMemoryExport(memoryName, MEMORY_EXPORT);

  return { functions, tableSize: effectivePlan.size, globalExports, tableExports, memoryExported: memoryName !== undefined, callers: true };
}

/**
 * Adds `F@entry` (see the module comment) and points F's guest exports at it.
 * `body` is a copy of F's original body: its `return`s become branches out
 * of the copy, so a counted entry always reaches its decrement. Returns
 * false (and adds nothing: F keeps its trampoline as export) for a body with
 * an expression the walker does not know.
 */
function addEntry(module: BinaryenModule, fn: ReturnType<typeof definedFunctions>[number], slot: number, body: number, counted: boolean): boolean {
  const name = fn.name + ENTRY_SUFFIX;
  let copy: number;
  try {
    copy = returnsToBranches(module, body, "hotpatch:entry");
  } catch (error) {
    if (error instanceof UnsupportedExpression) return false;
    throw error;
  }
  const label = "hotpatch:entry";
  const params = binaryen.expandType(fn.params);
  const args = params.map((type, index) => module.local.get(index, type));
  const viaSlot = module.call_indirect(SLOT_TABLE, module.i32.const(slot), args, fn.params, fn.results);
  const leave = fn.results === binaryen.none ? module.block(null, [viaSlot, module.br(label)], binaryen.none) : module.br(label, 0, viaSlot);
  const inner = module.block(label, [module.if(module.global.get(redirectFlagName(slot), binaryen.i32), leave), copy], fn.results);
  const resultLocal = params.length + fn.vars.length;
  const vars = counted && fn.results !== binaryen.none ? [...fn.vars, fn.results] : [...fn.vars];
  const entryBody = counted ? countingCall(module, activeCounterName(fn.name), inner, fn.results, resultLocal) : inner;
  module.addFunction(name, fn.params, fn.results, vars, entryBody);
  for (const e of exports(module)) {
    if (e.kind !== "function" || e.value !== fn.name || e.name.startsWith("hotpatch:")) continue;
    module.removeExport(e.name);
    module.addFunctionExport(name, e.name);
  }
  return true;
}

/** `return v` → `br $label v` everywhere in `body` (which must not be shared with another function). */
function returnsToBranches(module: BinaryenModule, body: number, label: string): number {
  const api = binaryen as unknown as { Return: { getValue(e: number): number } };
  const rewrite = (expr: number): number | undefined => {
    for (const child of childrenOf(expr)) {
      const next = rewrite(child.expr);
      if (next !== undefined) child.replace(next);
    }
    if (binaryen.getExpressionId(expr) !== binaryen.ReturnId) return undefined;
    const value = api.Return.getValue(expr);
    return module.br(label, 0, value === 0 ? undefined : value);
  };
  return rewrite(body) ?? body;
}

/**
 * Rewrites every `call $F` of a function of `direct` into `call $F@impl`, in
 * every body. Function references (`ref.func`, element segments) and exports
 * keep the trampoline. A body the walker cannot analyse keeps its calls
 * through the trampolines (correct, only slower).
 */
function callDirectly(module: BinaryenModule, direct: ReadonlySet<string>): void {
  const call = (binaryen as unknown as { Call: unknown }).Call as { getTarget(expr: number): string; setTarget(expr: number, name: string): void };
  for (const fn of definedFunctions(module)) {
    try {
      walk(fn.body, (expr) => {
        if (binaryen.getExpressionId(expr) !== binaryen.CallId) return;
        const target = call.getTarget(expr);
        if (direct.has(target)) call.setTarget(expr, target + IMPL_SUFFIX);
      });
    } catch (error) {
      if (!(error instanceof UnsupportedExpression)) throw error;
    }
  }
}

/**
 * Adds the slot table as table 0 when the module imports no table (defined
 * tables are re-added after it under their own names, so segments, exports
 * and instructions, which refer to tables by name, are unchanged).
 */
function addSlotTable(module: BinaryenModule, original: ReturnType<typeof tables>, size: number): void {
  if (original.some((t) => t.imported)) {
    module.addTable(SLOT_TABLE, size, size);
    return;
  }
  const typed = binaryen as unknown as { _BinaryenTableGetType(table: number): number };
  const info = original.map((t) => ({ ...t, type: typed._BinaryenTableGetType(module.getTable(t.name)) }));
  for (const t of info) module.removeTable(t.name);
  module.addTable(SLOT_TABLE, size, size);
  const add = module.addTable as unknown as (name: string, initial: number, maximum: number, type: number) => number;
  for (const t of info) add.call(module, t.name, t.initial, t.max ?? -1, t.type);
}

function assignSlots(keys: string[], plan: SlotPlan): number[] {
  let next = plan.firstFree;
  return keys.map((key) => {
    const known = plan.assigned.get(key);
    if (known !== undefined) return known;
    if (next >= plan.size) {
      throw new HotpatchError("E_BUILD", `no spare slot left for new function (the image reserves ${plan.size - plan.firstFree})`, {
        function: key,
      });
    }
    return next++;
  });
}

/** One active segment per run of consecutive slots (removed functions leave holes). */
function addSlotSegments(module: BinaryenModule, functions: InstrumentedFunction[]): void {
  const bySlot = [...functions].sort((a, b) => a.slot - b.slot);
  let run: InstrumentedFunction[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const at = run[0].slot;
    module.addActiveElementSegment(SLOT_TABLE, `hotpatch:slots@${at}`, run.map((f) => f.name + IMPL_SUFFIX), module.i32.const(at));
    run = [];
  };
  for (const fn of bySlot) {
    if (run.length > 0 && run[run.length - 1].slot + 1 !== fn.slot) flush();
    run.push(fn);
  }
  flush();
}

function memoryInternalName(module: BinaryenModule): string | undefined {
  const exported = exports(module).find((e) => e.kind === "memory");
  if (exported) return exported.value;
  if (!(module as unknown as { hasMemory(): boolean }).hasMemory()) return undefined;
  // binaryen.js cannot name a memory directly; the text form can (build time only).
  return module.emitText().match(/\(memory \$(\S+)/)?.[1];
}
