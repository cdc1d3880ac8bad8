/**
 * Cuts a code page out of a target build.
 *
 * The target build is the new version, instrumented with the base image's
 * slot plan and optimised, so its function bodies already call every other
 * function through the base's slot numbers. The code page is that module
 * reduced to the bodies of the slots being replaced, with everything else
 * imported from the running process (namespace `hotpatch`, see
 * GuestProcess.codePageImports): memory, tables and globals. Calls to other
 * slots go through the patch's own caller table (`patch.callers`, built by
 * the loader from the image's exported slot callers), so a code page imports
 * no functions of the process: V8 compiles a wrapper per imported function
 * signature with every new module (~20–35 µs each), and a table shared by
 * many instances slows every write to it (see callSlotsThroughCallers).
 * It has no data, no element segments and no start function, so instantiating
 * it changes nothing in the process; only the loader's swap does.
 */
import { HotpatchError } from "../errors.ts";
import {
  type BinaryenModule,
  binaryen,
  definedFunctions,
  elementSegments,
  emitModule,
  exports,
  globals,
  signatureOf,
  tables,
  validationError,
  withModule,
} from "./binaryen.ts";
import { SLOT_TABLE } from "./instrument.ts";
import { appendCustomSection, CALLERS_IMPORT, cellImport, DATA_SECTION, FUEL_IMPORT, MIGRATE_EXPORT, NEW_OBJECT_MODULE, UNMIGRATE_EXPORT } from "../format/index.ts";
import { meterLoops } from "./migration.ts";
import { childrenOf, UnsupportedExpression } from "./walk.ts";

export interface CodePageSpec {
  /** The slots to carry and the export name each body gets. */
  slots: { slot: number; export: string }[];
  /** The base image's export of each global, by key (`hotpatch:global:N`). */
  globalExports: ReadonlyMap<string, string>;
  /** The base image's exports of its own tables, by position. */
  tableExports: readonly string[];
  /** The base image's memory export, if it has a memory. */
  memoryExport: string | null;
  /** Keys of immutable globals whose value changes: defined in the code page, not imported. */
  foldGlobals?: ReadonlySet<string>;
  /** New static objects' bytes, carried in a `hotpatch.data` custom section. */
  data?: Uint8Array;
  /**
   * Slots for which the base image exports a caller (`hotpatch:call:<k>`).
   * Calls to them go through the patch's caller table instead of an imported
   * slot table. Undefined for images built before callers existed: the code
   * page then imports the slot table.
   */
  callerSlots?: ReadonlySet<number>;
  /** Keys of new or retyped mutable globals: imported from the cells the loader creates (`patch.cell:<key>`). */
  cells?: ReadonlySet<string>;
  /**
   * Old-state globals (`__hotpatch_old_<key>`, by key): imported from the
   * process's mutable global `<key>` (its export), or a constant (the address
   * of an old buffer), defined in the code page.
   */
  oldState?: ReadonlyMap<string, OldState>;
  /** Slots of the migration and its reverse in the target build: exported as `migrate` / `unmigrate`, their loops metered. */
  migration?: { migrate: number; unmigrate?: number };
}

/** Where an old-state global of a code page comes from. */
export type OldState = { export: string } | { constant: number };

export interface CodePage {
  code: Uint8Array;
  /** The slot behind each entry of the caller table (`patch.callers`), with its signature; empty when the page calls no other slot. */
  callers: { slot: number; signature: string }[];
}


const NAMESPACE = "hotpatch";
/** The code page's name of the migration's fuel counter. */
const FUEL_GLOBAL = "hotpatch:fuel";
/** The code page's name of its caller table. */
const CALLERS_TABLE = "hotpatch:callers";
const importName = (exportName: string) => exportName.slice(`${NAMESPACE}:`.length);

export function extractCodePage(targetModule: Uint8Array, keyOf: (name: string) => string, spec: CodePageSpec): CodePage {
  return withModule(targetModule, (module) => {
    const implBySlot = new Map<number, string>();
    const segments = elementSegments(module);
    for (const segment of segments) {
      if (segment.table !== SLOT_TABLE) continue;
      for (const [i, name] of segment.functions.entries()) implBySlot.set((segment.offset ?? 0) + i, name);
    }
    const migrationSlots = spec.migration ? [{ slot: spec.migration.migrate, export: MIGRATE_EXPORT }] : [];
    if (spec.migration?.unmigrate !== undefined) migrationSlots.push({ slot: spec.migration.unmigrate, export: UNMIGRATE_EXPORT });
    const carried = [...spec.slots, ...migrationSlots].map(({ slot, export: exportName }) => {
      const impl = implBySlot.get(slot);
      if (!impl) throw new Error(`internal: the target build has no function in slot ${slot}`);
      return { impl, exportName };
    });

    for (const e of exports(module)) module.removeExport(e.name);
    for (const segment of segments) module.removeElementSegment(segment.name);
    clearStart(module);
    importMemory(module, spec.memoryExport);
    importTables(module, spec.tableExports);
    const strays = importGlobals(module, keyOf, spec);
    for (const { impl, exportName } of carried) module.addFunctionExport(impl, exportName);
    // Drops every body, trampoline and import the carried functions do not reach.
    module.runPasses(["remove-unused-module-elements"]);
    const callers: CodePage["callers"] = [];
    if (spec.callerSlots && callSlotsThroughCallers(module, spec.callerSlots, implBySlot, callers)) {
      // The slot table (and anything only it kept) is no longer used.
      module.runPasses(["remove-unused-module-elements"]);
    }

    // New mutable globals no carried body uses (e.g. the redirect flags of the migration's exports) are gone now.
    const stray = globals(module).find((g) => strays.has(g.name));
    if (stray) throw new HotpatchError("E_REQUIRES_BASELINE", `new mutable global ${keyOf(stray.name)} cannot be added to a running process`);
    if (migrationSlots.length > 0) {
      module.addGlobalImport(FUEL_GLOBAL, NEW_OBJECT_MODULE, FUEL_IMPORT, binaryen.i32, true);
      for (const impl of new Set(carried.slice(spec.slots.length).map((c) => c.impl))) meterLoops(module, impl, FUEL_GLOBAL);
    }
    const invalid = validationError(module);
    if (invalid) throw new HotpatchError("E_BUILD", `the code page is invalid: ${invalid}`);
    const code = emitModule(module);
    return { code: spec.data && spec.data.length > 0 ? appendCustomSection(code, DATA_SECTION, spec.data) : code, callers };
  });
}

/**
 * Rewrites every `call_indirect hotpatch:slots (i32.const k)` of the code page:
 * - k has a caller in the base image → `call_indirect patch.callers (i32.const i)`,
 *   where entry i of the patch's caller table is the image's caller of slot k
 *   (recorded in `callers`, in order; the manifest carries the list and the
 *   loader fills the table). Each patch gets a table of its own: V8 slows
 *   every write to a table by the number of instances that ever imported it
 *   (and keeps those instances alive), and the caller table is never written
 *   after it is filled;
 * - k is a spare slot (a new function of this patch) → a direct `call` of the
 *   new function's body, which this code page carries (every function the base
 *   lacks is part of every patch built against that base). Trade-off: a later
 *   patch that replaces the new function through its slot does not reach this
 *   code page's direct calls — but a later patch is built against the same
 *   base, so it carries (and replaces) these callers as well.
 * Activation counting is untouched: the inlined trampolines count around the
 * call, whatever instruction makes it. Returns whether anything changed; a
 * call with a non-constant slot keeps the imported table.
 */
function callSlotsThroughCallers(
  module: BinaryenModule,
  callerSlots: ReadonlySet<number>,
  implBySlot: ReadonlyMap<number, string>,
  callers: CodePage["callers"],
): boolean {
  const api = binaryen as unknown as {
    CallIndirect: { getTable(e: number): string; getParams(e: number): number; getResults(e: number): number; getTarget(e: number): number; getOperands(e: number): number[] };
    Function: { setBody(f: number, body: number): void };
  };
  const entryOf = new Map<number, number>();
  const callerEntry = (slot: number, params: number, results: number) => {
    let entry = entryOf.get(slot);
    if (entry === undefined) {
      entry = callers.length;
      callers.push({ slot, signature: signatureOf(params, results) });
      entryOf.set(slot, entry);
    }
    return entry;
  };
  let changed = false;
  for (const fn of definedFunctions(module)) {
    const rewrite = (expr: number): number | undefined => {
      if (binaryen.getExpressionId(expr) !== binaryen.CallIndirectId || api.CallIndirect.getTable(expr) !== SLOT_TABLE) return undefined;
      const target = api.CallIndirect.getTarget(expr);
      if (binaryen.getExpressionId(target) !== binaryen.ConstId) return undefined;
      const slot = binaryen.getExpressionInfo(target) as binaryen.ConstInfo;
      const k = slot.value as number;
      const params = api.CallIndirect.getParams(expr);
      const results = api.CallIndirect.getResults(expr);
      const operands = api.CallIndirect.getOperands(expr);
      if (callerSlots.has(k)) return module.call_indirect(CALLERS_TABLE, module.i32.const(callerEntry(k, params, results)), operands, params, results);
      const impl = implBySlot.get(k);
      return impl ? module.call(impl, operands, results) : undefined;
    };
    // Children first, so a rewritten call's operands are already rewritten.
    const visit = (expr: number): number | undefined => {
      for (const child of childrenOf(expr)) {
        const next = visit(child.expr);
        if (next !== undefined) child.replace(next);
      }
      const next = rewrite(expr);
      if (next !== undefined) changed = true;
      return next;
    };
    try {
      const root = visit(fn.body);
      if (root !== undefined) api.Function.setBody(module.getFunction(fn.name) as unknown as number, root);
    } catch (error) {
      // An expression kind the walker does not know: that function keeps calling through the imported table.
      if (!(error instanceof UnsupportedExpression)) throw error;
    }
  }
  if (callers.length > 0) {
    const t = module as unknown as { addTableImport(name: string, module: string, base: string): void; addTable(name: string, initial: number, maximum: number, type: number): number };
    t.addTable(CALLERS_TABLE, callers.length, callers.length, binaryen.funcref);
    t.addTableImport(CALLERS_TABLE, NEW_OBJECT_MODULE, CALLERS_IMPORT);
  }
  return changed;
}

function clearStart(module: BinaryenModule): void {
  if (module.getStart()) module.setStart(0 as unknown as binaryen.FunctionRef);
}

function importMemory(module: BinaryenModule, memoryExport: string | null): void {
  const m = module as unknown as { hasMemory(): boolean; getMemoryInfo(): { initial: number; max?: number; shared: boolean } };
  if (!m.hasMemory()) return;
  if (!memoryExport) throw new HotpatchError("E_BUILD", "the target has a memory but the base image exports none");
  const info = m.getMemoryInfo();
  const name = memoryName(module);
  // setMemory replaces the memory and drops every data segment: a code page never writes data.
  // It asks for no minimum size: the process's memory is whatever size it has grown to.
  module.setMemory(0, info.max ?? -1, null, [], info.shared, false, name);
  module.addMemoryImport(name, NAMESPACE, importName(memoryExport), info.shared);
}

function memoryName(module: BinaryenModule): string {
  const exported = exports(module).find((e) => e.kind === "memory");
  if (exported) return exported.value;
  return module.emitText().match(/\(memory \$(\S+)/)?.[1] ?? "0";
}

function importTables(module: BinaryenModule, tableExports: readonly string[]): void {
  let own = 0;
  for (const table of tables(module)) {
    module.removeTable(table.name);
    if (table.name === SLOT_TABLE) {
      module.addTableImport(SLOT_TABLE, NAMESPACE, "slots");
      continue;
    }
    const exportName = tableExports[own++];
    if (!exportName) throw new HotpatchError("E_BUILD", `the target has a table ${table.name} that the base image does not have`);
    module.addTableImport(table.name, NAMESPACE, importName(exportName));
  }
}

/** Imports the process's globals; returns the new mutable globals that have no storage (refused if a carried body uses them). */
function importGlobals(module: BinaryenModule, keyOf: (name: string) => string, spec: CodePageSpec): Set<string> {
  const fold = spec.foldGlobals ?? new Set<string>();
  const strays = new Set<string>();
  for (const global of globals(module)) {
    const key = keyOf(global.name);
    if (global.imported || fold.has(key)) continue;
    const old = spec.oldState?.get(key);
    if (spec.cells?.has(key)) {
      module.removeGlobal(global.name);
      module.addGlobalImport(global.name, NEW_OBJECT_MODULE, cellImport(key), global.type, true);
      continue;
    }
    if (old) {
      module.removeGlobal(global.name);
      // A constant is read-only: a write to it does not validate.
      if ("constant" in old) module.addGlobal(global.name, global.type, false, module.i32.const(old.constant));
      else module.addGlobalImport(global.name, NAMESPACE, importName(old.export), global.type, true);
      continue;
    }
    const exportName = spec.globalExports.get(key);
    if (exportName === undefined) {
      // New globals: immutable ones stay defined in the code page (folded);
      // a new mutable one is a cell (spec.cells) or has no storage in the running process.
      if (global.mutable) strays.add(global.name);
      continue;
    }
    module.removeGlobal(global.name);
    module.addGlobalImport(global.name, NAMESPACE, importName(exportName), global.type, global.mutable);
  }
  return strays;
}
