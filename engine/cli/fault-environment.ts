/**
 * Fault plans armed from the environment, for the management commands: the
 * CLI is where a plan is armed; the engine only passes its fault points
 * (engine/faults/points.ts).
 *
 * - `HOTPATCH_FAULT_PLAN`: a fault plan as JSON (unset when empty), e.g.
 *   `{"seed": 1, "rules": [{"point": "install.db-write", "mode": "throw"}]}`,
 *   checked like every plan (engine/faults/plan.ts);
 * - `HOTPATCH_FAULT=kill-during-install`: shorthand for the rule
 *   `{"point": "install.apply", "mode": "kill"}`: the command dies by SIGKILL
 *   once an install run is recorded InProgress. Other values are ignored.
 * With both, the shorthand's rule follows the plan's rules.
 *
 * Ordering: the environment is read before the command opens its state, so
 * a bad plan is refused with E_USAGE and nothing changes; the plan is armed
 * for the command and disarmed when it ends.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";

const FAULT_PLAN_VARIABLE = "HOTPATCH_FAULT_PLAN";
const FAULT_SHORTHAND_VARIABLE = "HOTPATCH_FAULT";

/** The shorthands HOTPATCH_FAULT accepts, and the rule each one arms. */
const FAULT_SHORTHANDS: Readonly<Record<string, faults.FaultRule>> = {
  "kill-during-install": { point: "install.apply", mode: "kill" },
};

/** Runs `fn` with the plan the environment asks for armed (if any). */
export async function withEnvironmentFaults<T>(fn: () => Promise<T>): Promise<T> {
  const plan = faultPlanFromEnvironment(process.env);
  if (plan === undefined) return fn();
  faults.arm(plan);
  try {
    return await fn();
  } finally {
    faults.disarm();
  }
}

/** The plan the environment asks for, checked; undefined when it asks for none. */
export function faultPlanFromEnvironment(env: NodeJS.ProcessEnv): faults.FaultPlan | undefined {
  const text = env[FAULT_PLAN_VARIABLE]?.trim() || undefined;
  const name = env[FAULT_SHORTHAND_VARIABLE];
  const shorthand = name !== undefined && Object.hasOwn(FAULT_SHORTHANDS, name) ? FAULT_SHORTHANDS[name] : undefined;
  if (text === undefined && shorthand === undefined) return undefined;
  const plan = text === undefined ? { seed: 0, rules: [] } : parsePlan(text);
  return shorthand === undefined ? plan : { seed: plan.seed, rules: [...plan.rules, shorthand] };
}

function parsePlan(text: string): faults.FaultPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HotpatchError("E_USAGE", `${FAULT_PLAN_VARIABLE} is not JSON: ${(error as Error).message}`);
  }
  try {
    return faults.checkPlan(value as faults.FaultPlan);
  } catch (error) {
    if (!(error instanceof HotpatchError)) throw error;
    throw new HotpatchError("E_USAGE", `${FAULT_PLAN_VARIABLE} is not a valid fault plan: ${error.message.slice(`${error.code}: `.length)}`);
  }
}
