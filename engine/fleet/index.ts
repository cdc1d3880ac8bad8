/**
 * Fleets: a spec of VMs placed across regions, zones and availability sets
 * (spec.ts, topology.ts), the platform orchestrator's plan for a release
 * (plan.ts) and its health-gated rollout through the management plane
 * (rollout.ts), kept in a state (fleet-state.ts). docs/fleets.md has the rules.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { parseFleetSpec } from "./spec.ts";
export { placeFleet } from "./topology.ts";
export { type FleetSimulation, MAX_FLEET_SIMULATION_MONTHS, simulateFleet } from "./simulate-fleet.ts";
export { planRollout } from "./plan.ts";
export { plannedRollout, type RolloutReport, runRollout } from "./rollout.ts";
export { createFleet, fleetOf, interruptedRollouts, outcomeCounts, rolloutsOf, type StoredFleet, storedRollout, storeRollout } from "./fleet-state.ts";
export type { FleetVm } from "./topology.ts";
export type { FleetSpec } from "./spec.ts";
