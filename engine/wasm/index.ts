/**
 * The only owner of binaryen: module surgery (instrument, describe, closure
 * fingerprints, code pages, pointer relocation). Never imported by the worker.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { dataSegments, emitModule, markNoInline, optimize, validationError, withModule } from "./binaryen.ts";
export { withoutExports } from "./callback-exports.ts";
export { callUnchangedThroughSlots, closureFingerprints } from "./closure.ts";
export { extractCodePage, type OldState } from "./codepage.ts";
export { callsOfSlot, withOldStateKept } from "./migration.ts";
export { type DataDescription, describeModule, reachableAfterStartup, readersOfGlobals, sha256Hex } from "./describe.ts";
export { ENTRY_SUFFIX, IMPL_SUFFIX, instrument, MEMORY_EXPORT, SLOT_TABLE, type SlotPlan } from "./instrument.ts";
export { type PointerScan, type PointerTarget, relocatePointers, type ScannedSegment, scanPointers } from "./relocate.ts";
