/**
 * The loader: stage (verify the signature, compile), link against the running
 * process, the transition (consistency model), and the table swap (swap.ts,
 * the only writer of slots).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export type { InstalledPatch } from "./installed-patch.ts";
export { PatchLoader } from "./loader.ts";
export { type StagedPatch, stagePatch, stagePatchAsync, warm } from "./stage.ts";
export { swapSlots } from "./swap.ts";
export { type StallPolicy, Transition, type TransitionRequest, type TransitionResult } from "./transition.ts";
