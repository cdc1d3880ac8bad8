/**
 * The package fuzzer: mutated packages in worker threads must be refused
 * cleanly or applied completely.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { runFuzz } from "./fuzz.ts";
