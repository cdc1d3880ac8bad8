/**
 * The platform orchestrator's plan for one release: phases of regions, and in
 * each region a sequence of batches. The rules (Azure publishes the
 * principles, not the numbers; where it gives none, the rule chosen is
 * marked "ours"):
 *
 * - Phases: the region with the fewest VMs goes first, alone (a canary,
 *   ours); then the remaining regions, fewest VMs first, each joining the
 *   current phase unless its pair is in it (then a new phase starts). So
 *   paired regions are never in one phase, and a phase moves on only when
 *   every batch of its regions ended healthy (rollout.ts).
 * - In a region, one unit at a time: each zone in turn ("1", "2", "3"; a
 *   zonal scale set's VMs are in their zone's unit), then each availability
 *   set (by name), then each regional Flexible scale set (by name), then the
 *   standalone VMs.
 * - A zone's VMs, and standalone VMs, go in batches of at most 20 % of them
 *   (at least one VM; ours): never all of a zone or a region at once unless it
 *   has a single VM.
 * - An availability set goes one update domain at a time, each domain in
 *   batches of at most 20 % of the set's VMs (at least one), so a set under
 *   10 VMs goes one VM at a time.
 * - A regional Flexible scale set goes one fault domain at a time (Flexible
 *   orchestration has no update domains; ours), each in batches of at most
 *   20 % of the scale set's VMs (at least one).
 *
 * The plan is a pure function of the placed fleet: the same fleet gives the
 * same plan.
 */
import { pairOf } from "./regions.ts";
import type { FleetVm } from "./topology.ts";

export interface Batch {
  region: string;
  /** "zone 1", "availability set web, update domain 2", "scale set app, fault domain 0", "standalone". */
  unit: string;
  vms: string[];
}

export interface Phase {
  regions: string[];
  /** Per region, its batches in order. */
  batches: Record<string, Batch[]>;
}

/** The share of a zone, set or region's standalone VMs one batch may take. */
export const BATCH_SHARE = 0.2;

export function planRollout(vms: readonly FleetVm[]): Phase[] {
  const byRegion = groupBy(vms, (v) => v.region);
  const order = [...byRegion.keys()].sort((a, b) => byRegion.get(a)!.length - byRegion.get(b)!.length || a.localeCompare(b));
  const phases: string[][] = [];
  for (const [i, region] of order.entries()) {
    const current = phases.at(-1);
    if (i === 0 || i === 1 || current === undefined || current.includes(pairOf(region))) phases.push([region]);
    else current.push(region);
  }
  return phases.map((regions) => ({ regions, batches: Object.fromEntries(regions.map((r) => [r, regionBatches(r, byRegion.get(r)!)])) }));
}

function regionBatches(region: string, vms: readonly FleetVm[]): Batch[] {
  const batches: Batch[] = [];
  const zones = groupBy(
    vms.filter((v) => v.zone !== null),
    (v) => v.zone!,
  );
  for (const zone of [...zones.keys()].sort()) {
    const members = zones.get(zone)!;
    for (const chunk of chunks(members, shareOf(members.length))) batches.push({ region, unit: `zone ${zone}`, vms: chunk.map((v) => v.name) });
  }
  const sets = groupBy(
    vms.filter((v) => v.availabilitySet !== null),
    (v) => v.availabilitySet!,
  );
  for (const set of [...sets.keys()].sort()) {
    const members = sets.get(set)!;
    const size = shareOf(members.length); // 1 for a set under 10 VMs
    const domains = groupBy(members, (v) => String(v.updateDomain));
    for (const domain of [...domains.keys()].sort((a, b) => Number(a) - Number(b))) {
      for (const chunk of chunks(domains.get(domain)!, size)) {
        batches.push({ region, unit: `availability set ${set}, update domain ${domain}`, vms: chunk.map((v) => v.name) });
      }
    }
  }
  const scaleSets = groupBy(
    vms.filter((v) => v.zone === null && v.availabilitySet === null && (v.scaleSet ?? null) !== null),
    (v) => v.scaleSet!,
  );
  for (const scaleSet of [...scaleSets.keys()].sort()) {
    const members = scaleSets.get(scaleSet)!;
    const size = shareOf(members.length);
    const domains = groupBy(members, (v) => String(v.faultDomain));
    for (const domain of [...domains.keys()].sort((a, b) => Number(a) - Number(b))) {
      for (const chunk of chunks(domains.get(domain)!, size)) batches.push({ region, unit: `scale set ${scaleSet}, fault domain ${domain}`, vms: chunk.map((v) => v.name) });
    }
  }
  const standalone = vms.filter((v) => v.zone === null && v.availabilitySet === null && (v.scaleSet ?? null) === null);
  for (const chunk of chunks(standalone, shareOf(standalone.length))) batches.push({ region, unit: "standalone", vms: chunk.map((v) => v.name) });
  return batches;
}

function shareOf(n: number): number {
  return Math.max(1, Math.floor(n * BATCH_SHARE));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list === undefined) map.set(k, [item]);
    else list.push(item);
  }
  return map;
}
