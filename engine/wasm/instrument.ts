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
 * stays patchable.
 *
 * The module's memory, tables and globals are exported under `hotpatch:` names
 * so that code pages (patches) can import exactly what the running process has.
 *
 * Functions that can reach the host's safepoint import get a counting
 * trampoline and an activation counter global (engine/wasm/activation.ts).
 *
 * Slot callers. Every slot k also gets an exported, non-counting caller
 * `hotpatch:call:<k>` (`call_indirect hotpatch:slots k` with the slot's
 * signature: the trampoline without the counting). Code pages call the
 * running process's functions through these imported callers instead of
 * importing the slot table: V8 registers every instance that imports a table
 * with that table for as long as the table lives (even after the instance is
 * unreachable), and every `table.set` then updates all of them — a swap
 * slowed down by every code page ever applied, and a leak.
 *
 * The slot table is table 0 when the module imports no table: V8 reaches
 * table 0 with fewer loads than any other table, and every patchable call
 * goes through it.
 */
import { HotpatchError } from "../errors.ts";
import { countingCall, functionsReachingSafepoint } from "./activation.ts";
import { binaryen, type BinaryenModule, definedFunctions, exports, globals, tables } from "./binaryen.ts";
import { activeCounterName } from "./counters.ts";

export const SLOT_TABLE = "hotpatch:slots";
export const MEMORY_EXPORT = "hotpatch:memory";
export const IMPL_SUFFIX = "@impl";
/** Suffix of the non-counting slot caller of a counted function (other functions' trampolines are their callers). */
export const CALLER_SUFFIX = "@call";
/** The image's export of slot k's caller: code pages import it instead of the slot table. */
export const callerExportName = (slot: number) => `hotpatch:call:${slot}`;
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
export function instrument(module: BinaryenModule, keyOf: (name: string) => string, plan?: SlotPlan): InstrumentResult {
  const defined = definedFunctions(module);
  const keys = defined.map((f) => keyOf(f.name));
  const effectivePlan = plan ?? freshPlan(keys);
  const slots = assignSlots(keys, effectivePlan);
  const counted = functionsReachingSafepoint(module);

  const taken = new Set(defined.map((f) => f.name));
  const functions: InstrumentedFunction[] = [];
  defined.forEach((fn, i) => {
    const impl = fn.name + IMPL_SUFFIX;
    if (taken.has(impl)) {
      throw new HotpatchError("E_BUILD", `the module already has a function named ${impl}`, { function: fn.name });
    }
    const paramTypes = binaryen.expandType(fn.params);
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

  const originalTables = tables(module);
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
