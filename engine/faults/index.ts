/**
 * The one fault-injection channel: the catalogue of named fault points
 * (points.ts) and the seeded plans that make them fail (plan.ts). Nothing else
 * in the engine knows about injected faults.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { arm, checkPlan, disarm, type FaultPlan, type FaultRule, hit, isArmed, report, type RuleReport } from "./plan.ts";
