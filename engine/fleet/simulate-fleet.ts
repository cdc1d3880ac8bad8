/**
 * `hotpatch simulate --fleet`: the same fleet twice — with hotpatch and
 * without — through every monthly release of a period, each release rolled
 * out by the platform orchestrator (plan.ts, rollout.ts) through the real
 * engine. Per side: reboots, VM-hours down (the emulated reboot time, 8
 * minutes a reboot), exposure per release across VMs (release to the VM's
 * install end, in days: mean, p95, max; a VM not patched within the 30 days
 * counts 30), and the largest share of any availability set down at once —
 * taken per batch, the VMs Azure patches side by side (the emulator installs
 * a batch's VMs one after another on its clock).
 *
 * Each side runs in its own in-memory state; both share the artifact cache
 * (images and packages are built once) and the caller's process host.
 */
import { formatMonth, releaseFor, Session, Store, useCatalogKeyFile } from "../manage/index.ts";
import type { ProcessHost } from "../vms/index.ts";
import { planRollout } from "./plan.ts";
import { createFleet } from "./fleet-state.ts";
import { type RolloutReport, runRollout } from "./rollout.ts";
import type { FleetSpec } from "./spec.ts";
import { type FleetVm, placeFleet } from "./topology.ts";

export const MAX_FLEET_SIMULATION_MONTHS = 24;

export interface FleetSimulationRequest {
  spec: FleetSpec;
  /** The first release, "YYYY-MM". */
  from: string;
  months: number;
  seed: number;
  artifactsDir: string;
  keyFile: string;
  host?: ProcessHost;
}

export interface FleetSide {
  hotpatch: boolean;
  reboots: number;
  vmHoursDown: number;
  exposureDays: { mean: number; p95: number; max: number };
  /** Across all releases and sets: the most of one set's VMs rebooting in one batch, as a share of the set. */
  largestSetShareDown: number;
  releases: { release: string; kind: string; halted: boolean; reboots: number; exposureMaxDays: number; notPatched: number }[];
}

export interface FleetSimulation {
  vms: number;
  regions: string[];
  releases: string[];
  hotpatch: FleetSide;
  withoutHotpatch: FleetSide;
}


export async function simulateFleet(request: FleetSimulationRequest, onProgress: (line: string) => void = () => {}): Promise<FleetSimulation> {
  const vms = placeFleet(request.spec);
  const months = monthsFrom(request.from, request.months);
  const sides: FleetSide[] = [];
  for (const hotpatch of [true, false]) {
    const store = Store.open(":memory:");
    try {
      useCatalogKeyFile(store, request.keyFile);
      const session = new Session(store, { seed: request.seed, artifactsDir: request.artifactsDir, ...(request.host === undefined ? {} : { host: request.host }) });
      createFleet(session, vms, { ...request.spec, hotpatch }, new Date(Date.parse(releaseFor(months[0]).releaseDate) - 86_400_000));
      const reports: RolloutReport[] = [];
      for (const month of months) {
        const report = await runRollout(session, vms, planRollout(vms), releaseFor(month), request.spec.window);
        reports.push(report);
        onProgress(`${hotpatch ? "hotpatch" : "without hotpatch"} ${month}: ${report.vms.filter((v) => v.outcome === "Succeeded").length} of ${vms.length} patched${report.halted ? `, HALTED: ${report.haltReason}` : ""}`);
      }
      for (const vm of vms) session.dropRuntime(vm.name);
      sides.push(sideOf(hotpatch, vms, reports));
    } finally {
      store.close();
    }
  }
  return { vms: vms.length, regions: [...new Set(vms.map((v) => v.region))], releases: months, hotpatch: sides[0], withoutHotpatch: sides[1] };
}

function sideOf(hotpatch: boolean, fleet: readonly FleetVm[], reports: readonly RolloutReport[]): FleetSide {
  const exposures: number[] = [];
  let reboots = 0;
  let downSeconds = 0;
  let largest = 0;
  const setSize = new Map<string, number>();
  for (const vm of fleet) if (vm.availabilitySet !== null) setSize.set(`${vm.region}/${vm.availabilitySet}`, (setSize.get(`${vm.region}/${vm.availabilitySet}`) ?? 0) + 1);
  const releases = reports.map((report) => {
    const released = Date.parse(report.releasedAt);
    const byName = new Map(report.vms.map((v) => [v.name, v]));
    const days = report.vms.map((v) => (v.patchedTo === null ? 30 : (Date.parse(v.patchedTo) - released) / 86_400_000));
    exposures.push(...days);
    const rebooted = report.vms.filter((v) => v.downtimeSeconds > 0);
    reboots += rebooted.length;
    downSeconds += rebooted.reduce((n, v) => n + v.downtimeSeconds, 0);
    for (const batch of report.phases.flatMap((p) => p.batches)) {
      const down = batch.vms.map((n) => byName.get(n)!).filter((v) => v.downtimeSeconds > 0 && v.availabilitySet !== null);
      if (down.length > 0) largest = Math.max(largest, down.length / setSize.get(`${down[0].region}/${down[0].availabilitySet}`)!);
    }
    return { release: report.release, kind: releaseFor(report.release).type, halted: report.halted, reboots: rebooted.length, exposureMaxDays: round(Math.max(...days)), notPatched: report.vms.filter((v) => v.patchedTo === null).length };
  });
  const sorted = [...exposures].sort((a, b) => a - b);
  const p95 = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
  return {
    hotpatch,
    reboots,
    vmHoursDown: round(downSeconds / 3600),
    exposureDays: { mean: round(exposures.reduce((a, b) => a + b, 0) / Math.max(1, exposures.length)), p95: round(p95), max: round(Math.max(0, ...exposures)) },
    largestSetShareDown: round(largest),
    releases,
  };
}

function monthsFrom(from: string, count: number): string[] {
  const [year, month] = from.split("-").map(Number);
  return Array.from({ length: count }, (_, i) => formatMonth(year + Math.floor((month - 1 + i) / 12), ((month - 1 + i) % 12) + 1));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
