/**
 * The seeded load generator: request i of a run is a pure function of the seed
 * and i.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { dueAt, dueBy, indexSeed, type LoadSpec, requestAt } from "./generator.ts";
