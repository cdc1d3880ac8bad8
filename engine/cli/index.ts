/**
 * The `hotpatch` command line: one file per verb, each thin (parse, call the
 * engine, print).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { main } from "./main.ts";
export { guarded, printJson, say } from "./output.ts";
