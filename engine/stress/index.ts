/**
 * `hotpatch stress`: a worker process under load with a stream of live
 * patches, checked against the reference replay (reference.ts).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { replay } from "./reference.ts";
export { runStress } from "./stress.ts";
