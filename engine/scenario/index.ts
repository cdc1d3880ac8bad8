/**
 * The scenario runner: a JSON list of steps (request, apply, revert) against
 * one process.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { runScenarioFile } from "./runner.ts";
