/**
 * Where a state keeps its fleet (the store's `resources` table; the rest of
 * the management plane never reads these kinds):
 * - "fleet": the fleet's settings (image, processes, window, each
 *   availability set's update and fault domain counts, each Flexible scale
 *   set's fault domains or zone), one per state;
 * - "fleet-vm": each member's placement (FleetVm) and its creation index;
 * - "fleet-rollout": each release's rollout, keyed by month: its status and
 *   its report (rollout.ts), written after every round while it runs.
 *
 * Status of a stored rollout: Running while its rounds run (a server that
 * stopped or was killed during one finds it Running at its next start and
 * records it Halted, resumable: `interruptedRollouts`); Completed; Halted (an
 * unhealthy VM, or an interruption); Stopped (an operator ended a halted one).
 */
import { createVm, type Session, setClock } from "../manage/index.ts";
import type { RolloutReport } from "./rollout.ts";
import type { FleetGroup } from "./spec.ts";
import type { FleetVm } from "./topology.ts";

const FLEET_VM = "fleet-vm";
const FLEET = "fleet";
const ROLLOUT = "fleet-rollout";

export type RolloutStatus = "Running" | "Completed" | "Halted" | "Stopped";

export interface StoredRollout {
  status: RolloutStatus;
  report: RolloutReport;
}

/** An availability set of the fleet: its region, name and domain counts. */
export interface FleetSet {
  region: string;
  name: string;
  updateDomains: number;
  faultDomains: number;
}

/** A Flexible scale set of the fleet: regional over `faultDomains`, or in one zone. */
export interface FleetScaleSet {
  region: string;
  name: string;
  faultDomains: number;
  zone: string | null;
}

export interface FleetSettings {
  image: string;
  processes: number;
  window: string;
  /** Absent in states made before sets were recorded: then derived from the members. */
  sets?: FleetSet[];
  scaleSets?: FleetScaleSet[];
}

export interface StoredFleet {
  vms: FleetVm[];
  window: string;
  image: string;
  processes: number;
  sets: FleetSet[];
  scaleSets: FleetScaleSet[];
}

/** One line per stored rollout, for status views. */
export interface RolloutSummary {
  release: string;
  status: RolloutStatus;
  haltReason: string | null;
  succeeded: number;
  unhealthy: number;
  notStarted: number;
}

/** The state's fleet: its members' placements (creation order), settings and sets; undefined when it has none. */
export function fleetOf(session: Session): StoredFleet | undefined {
  const settings = session.store.resource<FleetSettings>(FLEET, "fleet");
  if (settings === undefined) return undefined;
  const members = session.store.resources<FleetVm & { index: number }>(FLEET_VM).filter((v) => session.store.vm(v.name) !== undefined);
  const vms = members.sort((a, b) => a.index - b.index).map(({ index: _index, ...vm }) => vm);
  return { vms, window: settings.window, image: settings.image, processes: settings.processes, sets: settings.sets ?? setsOfMembers(vms), scaleSets: settings.scaleSets ?? [] };
}

/** Sets as their members show them (the highest domain index + 1): for fleets stored without their sets. */
function setsOfMembers(vms: readonly FleetVm[]): FleetSet[] {
  const sets = new Map<string, FleetSet>();
  for (const vm of vms) {
    if (vm.availabilitySet === null) continue;
    const key = `${vm.region}/${vm.availabilitySet}`;
    const set = sets.get(key) ?? { region: vm.region, name: vm.availabilitySet, updateDomains: 1, faultDomains: 1 };
    set.updateDomains = Math.max(set.updateDomains, (vm.updateDomain ?? 0) + 1);
    set.faultDomains = Math.max(set.faultDomains, (vm.faultDomain ?? 0) + 1);
    sets.set(key, set);
  }
  return [...sets.values()];
}

export function storedRollout(session: Session, month: string): StoredRollout | undefined {
  return session.store.resource<StoredRollout>(ROLLOUT, month);
}

export function storeRollout(session: Session, report: RolloutReport, status: RolloutStatus): void {
  session.store.tx(() => session.store.putResource(ROLLOUT, report.release, { status, report } satisfies StoredRollout));
}

/** How many of a rollout's VMs ended each way. */
export function outcomeCounts(report: RolloutReport): { succeeded: number; unhealthy: number; notStarted: number } {
  const count = (outcome: string) => report.vms.filter((v) => v.outcome === outcome).length;
  return { succeeded: count("Succeeded"), unhealthy: count("Unhealthy"), notStarted: count("NotStarted") };
}

/** Every stored rollout, by month. */
export function rolloutsOf(session: Session): RolloutSummary[] {
  return session.store.resources<StoredRollout>(ROLLOUT).map(({ status, report }) => ({ release: report.release, status, haltReason: report.haltReason, ...outcomeCounts(report) }));
}

/**
 * Rollouts left Running by a process that ended during them become Halted, with the reason
 * (their report holds every round that ended; the round that was running is resumable as its
 * VMs ended). Returns the months.
 */
export function interruptedRollouts(session: Session, reason: string): string[] {
  const running = session.store.resources<StoredRollout>(ROLLOUT).filter((r) => r.status === "Running");
  for (const { report } of running) storeRollout(session, { ...report, halted: true, haltReason: reason }, "Halted");
  return running.map((r) => r.report.release);
}

/**
 * Creates the fleet's VMs in the session's state at `at`: AutomaticByPlatform with hotpatch, each
 * in its group's time zone, patched only by the fleet's rollouts. `sets` are the spec's sets.
 */
export function createFleet(
  session: Session,
  vms: readonly FleetVm[],
  options: { image: string; processes: number; window: string; hotpatch?: boolean; groups?: readonly FleetGroup[] },
  at: Date,
): void {
  const groups = options.groups ?? [];
  const sets = groups.flatMap((g) => (g.availabilitySet === undefined ? [] : [{ region: g.region, name: g.availabilitySet, updateDomains: g.updateDomains, faultDomains: g.faultDomains }]));
  const scaleSets = groups.flatMap((g) => (g.scaleSet === undefined ? [] : [{ region: g.region, name: g.scaleSet, faultDomains: g.zone === undefined ? g.faultDomains : 1, zone: g.zone ?? null }]));
  session.store.tx(() => {
    for (const [index, vm] of vms.entries()) {
      const record = createVm(
        session.store,
        {
          name: vm.name,
          image: options.image,
          patchMode: "AutomaticByPlatform",
          hotpatch: options.hotpatch ?? true,
          timeZone: vm.timezone,
          window: options.window,
          processes: options.processes,
          ...(vm.scaleSet ? { scaleSet: "Flexible" } : {}),
        },
        at,
        session.catalog,
      );
      session.store.putVm(vm.name, { ...record, orchestratedBy: "fleet" });
      session.store.putResource(FLEET_VM, vm.name, { ...vm, index });
    }
    session.store.putResource(FLEET, "fleet", { image: options.image, processes: options.processes, window: options.window, sets, scaleSets } satisfies FleetSettings);
    setClock(session.store, at);
  });
}
