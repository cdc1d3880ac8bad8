/**
 * The target build's callback exports (engine/patch/callbacks-and-states.ts),
 * before a code page is cut from it: a callback runs from the code page's own
 * export, never through the process's host entry, so its export — and in
 * inline mode the host entry behind it and that entry's redirect flag, a
 * mutable global the running process does not have — are dropped. The
 * callback's body stays: it lives in the slot table's element segment,
 * which is where extractCodePage takes it from.
 */
import { emitModule, exports, withModule } from "./binaryen.ts";

/** The module without the exports named, or of the internal names given (a global's export is named by its index), and what only they kept. */
export function withoutExports(targetModule: Uint8Array, names: readonly string[]): Uint8Array {
  if (names.length === 0) return targetModule;
  const drop = new Set(names);
  return withModule(targetModule, (module) => {
    for (const e of exports(module)) if (drop.has(e.name) || drop.has(e.value)) module.removeExport(e.name);
    module.runPasses(["remove-unused-module-elements"]);
    return emitModule(module);
  });
}
