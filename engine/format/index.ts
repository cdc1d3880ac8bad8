/**
 * WebAssembly bytes without binaryen: the module-summary reader, custom
 * sections, and the names images, code pages and the loader agree on (patch
 * ABI, activation counters). Safe for the worker's import closure.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { activeCounterName, counterTarget, SAFEPOINT_IMPORT } from "./counters.ts";
export { appendCustomSection, stripCustomSection } from "./custom-sections.ts";
export { exportedFunctionSignature, formatSignature, type ModuleImport, type ModuleSummary, readModuleSummary } from "./module-summary.ts";
export {
  CALLERS_IMPORT,
  cellImport,
  DATA_SECTION,
  FUEL_IMPORT,
  MIGRATE_EXPORT,
  MIGRATE_FUNCTION,
  MIGRATION_FUEL,
  NEW_OBJECT_MODULE,
  newObjectImport,
  OLD_STATE_PREFIX,
  parseCellImport,
  parseNewObjectImport,
  redirectFlagName,
  slotCallerName,
  UNMIGRATE_EXPORT,
  UNMIGRATE_FUNCTION,
} from "./patch-abi.ts";
