/**
 * Fault experiments: a scenario (experiments/*.json) runs a worker process
 * under seeded load, injects a fault plan or a defective patch, and checks the
 * invariants against a reference replay.
 *
 * scenario.ts reads and validates the scenario file; run.ts runs it
 * (prepare → start → play the actions → stop → compare), with
 * packages.ts building its patches (faulty-patches.ts the defective ones)
 * and process-under-test.ts applying, watching and recovering each one;
 * invariants.ts judges what the run observed; report.ts is the result
 * and its Markdown.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { renderReport } from "./report.ts";
export { runExperiment } from "./run.ts";
export { listExperiments } from "./scenario.ts";
