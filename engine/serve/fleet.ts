/**
 * Fleets through `hotpatch serve`: a fleet spec made into ARM resources and
 * live VMs, and its releases' platform rollouts run by the server
 * (engine/fleet/ has the rules; routes/fleet.ts the endpoints).
 *
 * Contracts:
 * - One fleet per state, as for the CLI. Its VMs sit in ARM in one resource
 *   group per region, `fleet-<region>` of DEFAULT_SUBSCRIPTION, with the
 *   region as location, the zone in `zones`, each Flexible scale set a
 *   Microsoft.Compute/virtualMachineScaleSets resource, and each availability set of
 *   the spec as a Microsoft.Compute/availabilitySets resource of that group
 *   whose members carry their update and fault domain. A fleet made with
 *   `hotpatch fleet create` gets the same placement when a server first
 *   opens its state (adoptFleetVms).
 * - A rollout is recorded Running the moment it is asked for (a second ask
 *   is refused), and its rounds run in the serial queue, one change among
 *   the others: reads see its report after every round. Each install is
 *   published as the API's installs are (publish.ts), each round as
 *   `fleet.round`, the end as `fleet.rollout`.
 * - The rollout moves the emulated clock from window to window of the
 *   fleet's VMs; VMs outside the fleet are not patched automatically in
 *   between (their next clock advance catches up).
 * - A server that stops during a rollout halts it before its next round
 *   ("the server stopped"); a killed one leaves it Running, and the next
 *   start records it Halted. Either way it is resumable.
 * - A defective release (fault injection) is recorded in the state
 *   (engine/manage/release-defects.ts) when its rollout's task starts in the
 *   queue, and built into the catalog from then on by every session on the
 *   state (a restarted server, the CLI). It is refused once any VM runs that
 *   release or a later one: checked when asked (409) and again when the task
 *   starts (then the rollout ends Halted with the reason, nothing recorded),
 *   so an install queued in between cannot slip past it.
 * - A rollout runs over the VMs its report lists (the fleet as it was when
 *   it started), resumed too; a member deleted meanwhile stays NotStarted.
 */
import { createFleet, type FleetSpec, fleetOf, interruptedRollouts, outcomeCounts, placeFleet, planRollout, plannedRollout, type RolloutReport, runRollout, type StoredFleet, storedRollout, storeRollout } from "../fleet/index.ts";
import { iso, listVms, type ReleaseDefect, recordDefect, releaseFor, type Store, type VmRecord } from "../manage/index.ts";
import { ArmError } from "./arm-error.ts";
import { availabilitySetId, getAvailabilitySet, putAvailabilitySet } from "./availability-sets.ts";
import { emulatedNow, type ServeContext } from "./context.ts";
import { bootVm } from "./live-vms.ts";
import { publishInstallation } from "./publish.ts";
import { applyScaleSetPut, getScaleSet, putScaleSet, scaleSetId } from "./scale-sets.ts";
import { DEFAULT_SUBSCRIPTION, defaultVmArm, getGroup, getVmArm, putGroup, putVmArm, vmIdOf } from "./resources.ts";

export const FLEET_GROUP_PREFIX = "fleet-";
export const SERVER_STOPPED = "the server stopped during the rollout; resume it to go on";
export const SERVER_KILLED = "the server ended during the rollout (killed); resume it to go on";

export const fleetGroupOf = (region: string) => `${FLEET_GROUP_PREFIX}${region}`;

/**
 * The most guest processes a served fleet may run (VMs × processes): every one boots and serves
 * load in the server (about 0.8 MiB each with its load, docs/api.md), so 10,000 stay well inside
 * this machine class's memory; a larger fleet is for `hotpatch fleet rollout`, which runs no load.
 */
export const MAX_SERVED_FLEET_PROCESSES = 10_000;

/** Creates the spec's fleet: VMs in the management plane, their ARM documents, then their processes boot. */
export function createServedFleet(context: ServeContext, spec: FleetSpec): { vms: number; regions: string[] } {
  if (fleetOf(context.session) !== undefined) throw new ArmError(409, "FleetExists", "The emulator's state has a fleet already (one fleet per state); GET /hotpatch/fleet shows it.");
  const vms = placeFleet(spec);
  if (vms.length * spec.processes > MAX_SERVED_FLEET_PROCESSES) {
    throw new ArmError(400, "InvalidParameter", `The fleet would run ${vms.length * spec.processes} guest processes (${vms.length} VMs × ${spec.processes}) in the server; a served fleet runs at most ${MAX_SERVED_FLEET_PROCESSES}.`, "groups");
  }
  const taken = vms.find((v) => context.store.vm(v.name) !== undefined || getVmArm(context.store, v.name) !== undefined);
  if (taken !== undefined) throw new ArmError(409, "Conflict", `The fleet's VM name '${taken.name}' is taken by a virtual machine of the state; VM names are unique in the emulator's state.`, "groups");
  for (const g of spec.groups) {
    if (g.availabilitySet !== undefined && getAvailabilitySet(context.store, DEFAULT_SUBSCRIPTION, fleetGroupOf(g.region), g.availabilitySet) !== undefined) {
      throw new ArmError(409, "Conflict", `The availability set '${g.availabilitySet}' exists already in resource group '${fleetGroupOf(g.region)}'.`, "groups");
    }
    if (g.scaleSet !== undefined && getScaleSet(context.store, DEFAULT_SUBSCRIPTION, fleetGroupOf(g.region), g.scaleSet) !== undefined) {
      throw new ArmError(409, "Conflict", `The scale set '${g.scaleSet}' exists already in resource group '${fleetGroupOf(g.region)}'.`, "groups");
    }
  }
  const now = emulatedNow(context);
  context.store.tx(() => {
    createFleet(context.session, vms, spec, now);
    placeInArm(context.store, fleetOf(context.session)!, now);
  });
  for (const vm of vms) void bootVm(context, vm.name); // queued: each VM's processes start serving
  const regions = [...new Set(vms.map((v) => v.region))];
  context.events.publish("fleet.created", now, { vms: vms.length, regions });
  return { vms: vms.length, regions };
}

/** A fleet made with the CLI (members without ARM documents) gets its ARM placement; returns how many VMs. */
export function adoptFleetVms(store: Store, fleet: StoredFleet | undefined, now: Date): number {
  if (fleet === undefined) return 0;
  const orphans = fleet.vms.filter((v) => getVmArm(store, v.name) === undefined);
  if (orphans.length === 0) return 0;
  store.tx(() => placeInArm(store, { ...fleet, vms: orphans }, now));
  return orphans.length;
}

/** The fleet's resource groups, availability sets and VM documents (see the contract above). */
function placeInArm(store: Store, fleet: StoredFleet, now: Date): void {
  for (const region of new Set(fleet.vms.map((v) => v.region))) {
    if (getGroup(store, DEFAULT_SUBSCRIPTION, fleetGroupOf(region)) === undefined) {
      putGroup(store, { subscription: DEFAULT_SUBSCRIPTION, name: fleetGroupOf(region), location: region, tags: {}, createdAt: iso(now) });
    }
  }
  for (const set of fleet.sets) {
    if (getAvailabilitySet(store, DEFAULT_SUBSCRIPTION, fleetGroupOf(set.region), set.name) !== undefined) continue;
    putAvailabilitySet(store, {
      subscription: DEFAULT_SUBSCRIPTION,
      resourceGroup: fleetGroupOf(set.region),
      name: set.name,
      location: set.region,
      tags: {},
      sku: "Aligned",
      platformUpdateDomainCount: set.updateDomains,
      platformFaultDomainCount: set.faultDomains,
    });
  }
  for (const set of fleet.scaleSets) {
    if (getScaleSet(store, DEFAULT_SUBSCRIPTION, fleetGroupOf(set.region), set.name) !== undefined) continue;
    const at = { subscription: DEFAULT_SUBSCRIPTION, group: fleetGroupOf(set.region), name: set.name, now: iso(now) };
    putScaleSet(store, applyScaleSetPut(undefined, { location: set.region, zones: set.zone === null ? [] : [set.zone], platformFaultDomainCount: set.faultDomains }, at, 0));
  }
  for (const vm of fleet.vms) {
    const record = store.vm<VmRecord>(vm.name);
    if (record === undefined) continue;
    const group = fleetGroupOf(vm.region);
    putVmArm(store, {
      ...defaultVmArm(record, { subscription: DEFAULT_SUBSCRIPTION, resourceGroup: group, location: vm.region }),
      vmId: vmIdOf(DEFAULT_SUBSCRIPTION, vm.name),
      zones: vm.zone === null ? [] : [vm.zone],
      assessmentMode: "AutomaticByPlatform",
      availabilitySet: vm.availabilitySet === null ? null : availabilitySetId(DEFAULT_SUBSCRIPTION, group, vm.availabilitySet),
      updateDomain: vm.updateDomain,
      faultDomain: vm.faultDomain,
      virtualMachineScaleSet: vm.scaleSet ? scaleSetId(DEFAULT_SUBSCRIPTION, group, vm.scaleSet) : null,
    });
  }
}

/** Start-up: rollouts a killed server left Running are Halted (resumable). */
export function repairFleet(context: ServeContext): void {
  for (const month of interruptedRollouts(context.session, SERVER_KILLED)) {
    context.events.publish("fleet.rollout", emulatedNow(context), { release: month, status: "Halted", haltReason: SERVER_KILLED });
  }
}

/** The stored fleet, or 404. */
export function servedFleet(context: ServeContext): StoredFleet {
  const fleet = fleetOf(context.session);
  if (fleet === undefined) throw new ArmError(404, "FleetNotFound", "The emulator's state has no fleet; create one with PUT /hotpatch/fleet (a fleet spec).");
  return fleet;
}

/**
 * Starts a release's rollout: checked and recorded Running now, its rounds queued. With `defect`
 * the release is made defective first (see the contract above).
 */
export function startRollout(context: ServeContext, month: string, defect: ReleaseDefect | undefined): RolloutReport {
  const fleet = servedFleet(context);
  const stored = storedRollout(context.session, month);
  if (stored !== undefined) throw new ArmError(409, "RolloutExists", `The rollout of ${month} exists already (${stored.status}); a halted one can be resumed or stopped.`, "release");
  const release = releaseFor(month, context.session.unplanned);
  const now = emulatedNow(context);
  const report = plannedRollout(fleet.vms, planRollout(fleet.vms), release);
  if (new Date(report.deadline).getTime() < now.getTime()) {
    throw new ArmError(400, "InvalidParameter", `The rollout of ${month} had to end by ${report.deadline} (30 days after the release); the emulated clock is at ${iso(now)}.`, "release");
  }
  if (defect !== undefined) checkDefect(context, month);
  storeRollout(context.session, report, "Running");
  context.events.publish("fleet.rollout", now, { release: month, status: "Running", haltReason: null, ...outcomeCounts(report) });
  runQueued(context, { ...report }, defect);
  return report;
}

/** Resumes a halted rollout after its last round that ran. */
export function resumeRollout(context: ServeContext, month: string): RolloutReport {
  servedFleet(context);
  const report = { ...halted(context, month, "resumed"), halted: false, haltReason: null };
  storeRollout(context.session, report, "Running");
  context.events.publish("fleet.rollout", emulatedNow(context), { release: month, status: "Running", haltReason: null, ...outcomeCounts(report) });
  runQueued(context, report);
  return report;
}

/** Stops a halted rollout: its remaining VMs stay NotStarted. */
export function stopRollout(context: ServeContext, month: string): RolloutReport {
  servedFleet(context);
  const report = halted(context, month, "stopped");
  storeRollout(context.session, report, "Stopped");
  context.events.publish("fleet.rollout", emulatedNow(context), { release: month, status: "Stopped", haltReason: report.haltReason });
  return report;
}

function halted(context: ServeContext, month: string, verb: string): RolloutReport {
  const stored = storedRollout(context.session, month);
  if (stored === undefined) throw new ArmError(404, "RolloutNotFound", `No rollout of ${month} was started.`);
  if (stored.status !== "Halted") throw new ArmError(409, "RolloutNotHalted", `The rollout of ${month} is ${stored.status}: only a halted rollout can be ${verb}.`);
  return stored.report;
}

/** 409 ReleaseAlreadyInstalled when a VM runs `month`'s release or a later one (see the contract above). */
function checkDefect(context: ServeContext, month: string): void {
  const running = listVms(context.store).find((vm) => vm.osMonth >= month);
  if (running !== undefined) {
    throw new ArmError(409, "ReleaseAlreadyInstalled", `The VM '${running.name}' runs release ${running.osMonth} already; a release can be made defective only before any VM runs it or a later one.`, "defectiveRelease");
  }
}

/**
 * The rollout's rounds in the serial queue, over the VMs its report lists; the report is stored
 * after each round and at the end. With `defect`, the defect is checked again and recorded first.
 * Never rejects: a failure ends the rollout Halted with the reason.
 */
function runQueued(context: ServeContext, start: RolloutReport, defect?: ReleaseDefect): void {
  const month = start.release;
  const run = context.serial.run(async () => {
    let status: "Completed" | "Halted" = "Halted";
    let report = start;
    try {
      if (defect !== undefined) {
        checkDefect(context, month);
        recordDefect(context.store, month, defect);
      }
      const window = servedFleet(context).window;
      report = await runRollout(context.session, start.vms, planRollout(start.vms), releaseFor(month, context.session.unplanned), window, start, {
        onInstall: (result) => publishInstallation(context, result, { trigger: "fleet", release: month }),
        onRound: (progress, round) => {
          storeRollout(context.session, progress, "Running");
          context.events.publish("fleet.round", emulatedNow(context), {
            release: month,
            halted: progress.halted,
            haltReason: progress.haltReason,
            batches: round.map((b) => ({ region: b.region, unit: b.unit, vms: b.vms.length, outcome: b.outcome, startedAt: b.startedAt, endedAt: b.endedAt })),
            ...outcomeCounts(progress),
          });
        },
        haltBefore: () => context.stopping,
      });
      status = report.halted ? "Halted" : "Completed";
    } catch (error) {
      report = { ...(storedRollout(context.session, month)?.report ?? report), halted: true, haltReason: `the rollout failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    storeRollout(context.session, report, status);
    context.events.publish("fleet.rollout", emulatedNow(context), { release: month, status, haltReason: report.haltReason, ...outcomeCounts(report) });
  });
  // Nothing after the try above should throw; if the store itself fails, the server goes on (the next start repairs a Running rollout).
  run.catch(() => undefined);
}
