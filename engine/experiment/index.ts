/**
 * Fault experiments: a scenario (experiments/*.json) runs a worker process
 * under seeded load, injects a fault plan or a defective patch, and checks the
 * invariants against a reference replay.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { listExperiments, renderReport, runExperiment } from "./experiment.ts";
