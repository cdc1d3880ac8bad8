/**
 * The patch builder: diffs two builds of a guest, classifies every change
 * (hotpatch or requires a baseline, with the reason) and emits a signed
 * package's code page.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { buildPatch, buildPatchCached } from "./cached-patch.ts";
