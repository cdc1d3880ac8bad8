/**
 * Images: a guest compiled with asc and instrumented so every function is
 * called through its slot of the funcref table, plus its link map and static-
 * data layout.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { buildImage, buildImageFromPath, DEFAULT_IMAGE_MODE, type GuestModule, type Image, isImage, keyFunction, loadGuest, slotPlanOf } from "./build.ts";
export { MEMORY_BASE, PINNED_ASC_OPTIONS, runAsc } from "./compile-as.ts";
export { IMAGE_MODES, type ImageMode, type LinkedFunction, type LinkMap } from "./linkmap.ts";
export { type DataPlan, layoutOf, planStaticData } from "./static-data.ts";
