/**
 * Cuts a code page out of a target build.
 *
 * The target build is the new version, instrumented with the base image's
 * slot plan and optimised, so its function bodies already call every other
 * function through the base's slot numbers. The code page is that module
 * reduced to the bodies of the slots being replaced, with everything else
 * imported from the running process (namespace `hotpatch`, see
 * GuestProcess.codePageImports): memory, tables, the slot table and globals.
 * It has no data, no element segments and no start function, so instantiating
 * it changes nothing in the process; only the loader's swap does.
 */
import { HotpatchError } from "../errors.ts";
import {
  type BinaryenModule,
  type binaryen,
  elementSegments,
  emitModule,
  exports,
  globals,
  tables,
  validationError,
  withModule,
} from "./binaryen.ts";
import { SLOT_TABLE } from "./instrument.ts";
import { DATA_SECTION } from "./patch-abi.ts";
import { appendCustomSection } from "./sections.ts";

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
}


const NAMESPACE = "hotpatch";
const importName = (exportName: string) => exportName.slice(`${NAMESPACE}:`.length);

export function extractCodePage(targetModule: Uint8Array, keyOf: (name: string) => string, spec: CodePageSpec): Uint8Array {
  return withModule(targetModule, (module) => {
    const implBySlot = new Map<number, string>();
    const segments = elementSegments(module);
    for (const segment of segments) {
      if (segment.table !== SLOT_TABLE) continue;
      for (const [i, name] of segment.functions.entries()) implBySlot.set((segment.offset ?? 0) + i, name);
    }
    const carried = spec.slots.map(({ slot, export: exportName }) => {
      const impl = implBySlot.get(slot);
      if (!impl) throw new Error(`internal: the target build has no function in slot ${slot}`);
      return { impl, exportName };
    });

    for (const e of exports(module)) module.removeExport(e.name);
    for (const segment of segments) module.removeElementSegment(segment.name);
    clearStart(module);
    importMemory(module, spec.memoryExport);
    importTables(module, spec.tableExports);
    importGlobals(module, keyOf, spec.globalExports, spec.foldGlobals ?? new Set());
    for (const { impl, exportName } of carried) module.addFunctionExport(impl, exportName);
    // Drops every body, trampoline and import the carried functions do not reach.
    module.runPasses(["remove-unused-module-elements"]);

    const invalid = validationError(module);
    if (invalid) throw new HotpatchError("E_BUILD", `the code page is invalid: ${invalid}`);
    const code = emitModule(module);
    return spec.data && spec.data.length > 0 ? appendCustomSection(code, DATA_SECTION, spec.data) : code;
  });
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

function importGlobals(
  module: BinaryenModule,
  keyOf: (name: string) => string,
  globalExports: ReadonlyMap<string, string>,
  fold: ReadonlySet<string>,
): void {
  for (const global of globals(module)) {
    if (global.imported || fold.has(keyOf(global.name))) continue;
    const exportName = globalExports.get(keyOf(global.name));
    if (exportName === undefined) {
      // New globals: immutable ones stay defined in the code page (folded);
      // a new mutable one has no storage in the running process.
      if (global.mutable) {
        throw new HotpatchError("E_REQUIRES_BASELINE", `new mutable global ${keyOf(global.name)} cannot be added to a running process`);
      }
      continue;
    }
    module.removeGlobal(global.name);
    module.addGlobalImport(global.name, NAMESPACE, importName(exportName), global.type, global.mutable);
  }
}
