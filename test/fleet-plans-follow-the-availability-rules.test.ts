/**
 * The platform orchestrator's plan (engine/fleet/plan.ts) follows the
 * availability rules its header states, checked as invariants over
 * randomized fleet specs (fast-check, fixed seeds): known regions, often
 * with their pairs, zones "1"–"3", availability sets with random update and
 * fault domains, standalone VMs and random time zones, each spec parsed
 * (spec.ts) and placed (topology.ts) the way `hotpatch fleet rollout` does.
 *
 * - every placed VM is in exactly one batch of one phase, of its own region;
 * - paired regions are never in one phase; the smallest region goes first,
 *   alone, then the others fewest VMs first;
 * - in a region: zones ("1", "2", "3"), then sets (by name), then scale
 *   sets (by name), then the standalone VMs, one unit per batch;
 * - sets go one update domain at a time in batches of at most 20 % of the
 *   set (one VM at a time under 10 VMs); regional Flexible scale sets one
 *   fault domain at a time, batches of at most 20 % of the scale set (a
 *   zonal one's VMs are in their zone's unit); zones and standalone VMs in
 *   batches of at most 20 % of them, so never all of a unit at once;
 * - placement names, update and fault domains follow creation order;
 * - the same spec gives the same plan.
 *
 * And parseFleetSpec refuses a malformed spec with E_USAGE naming the field.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Batch, type Phase, planRollout } from "../engine/fleet/plan.ts";
import { pairOf, REGION_PAIRS } from "../engine/fleet/regions.ts";
import { type FleetSpec, parseFleetSpec } from "../engine/fleet/spec.ts";
import { type FleetVm, placeFleet } from "../engine/fleet/topology.ts";
import { refusal } from "./refusal.ts";

const IMAGE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const TIME_ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney"];
/** Lowercase, so "by name" means the same under any collation. "eastus" and "westus" share a name prefix with those regions' standalone VMs; "web" and "web-1" with each other. */
const SET_NAMES = ["web", "web-1", "api", "db", "cache", "eastus", "westus"];
const SCALE_SET_NAMES = ["app", "app-1", "web", "batch"];
const NUM_RUNS = 150;

// ---------------------------------------------------------------- generators

interface RawGroup {
  region: string;
  zone?: string;
  availabilitySet?: string;
  scaleSet?: string;
  updateDomains?: number;
  faultDomains?: number;
  count: number;
  timezone?: string;
  names?: string[];
}

interface RawSpec {
  image: string;
  timezone?: string;
  groups: RawGroup[];
}

const groupDraft = (regions: readonly string[]) =>
  fc.record({
    region: fc.constantFrom(...regions),
    shout: fc.constantFrom(false, false, false, true), // "EastUS": the parser lowercases regions
    kind: fc.constantFrom("zone", "set", "scaleSet", "standalone"),
    zone: fc.constantFrom("1", "2", "3"),
    set: fc.constantFrom(...SET_NAMES),
    scaleSet: fc.constantFrom(...SCALE_SET_NAMES),
    zonal: fc.constantFrom(false, false, true),
    updateDomains: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined, freq: 6 }),
    faultDomains: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 6 }),
    // Small counts often, so that ties between regions and sets under 10 VMs come up.
    count: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 60 })),
    timezone: fc.option(fc.constantFrom(...TIME_ZONES), { nil: undefined }),
    named: fc.constantFrom(false, false, false, false, true),
  });

/** A valid raw spec: regions drawn from 1–4 region pairs (so pairs are often both present), 1–10 groups. */
const rawSpecArb: fc.Arbitrary<RawSpec> = fc
  .uniqueArray(fc.integer({ min: 0, max: REGION_PAIRS.length - 1 }), { minLength: 1, maxLength: 4 })
  .chain((pairs) => {
    const regions = pairs.flatMap((i) => [...REGION_PAIRS[i]]);
    return fc.record({
      timezone: fc.option(fc.constantFrom(...TIME_ZONES), { nil: undefined }),
      drafts: fc.array(groupDraft(regions), { minLength: 1, maxLength: 10 }),
    });
  })
  .map(({ timezone, drafts }) => {
    const sets = new Set<string>();
    const scaleSets = new Set<string>();
    const groups = drafts.map((d, gi): RawGroup => {
      const g: RawGroup = { region: d.shout ? d.region.toUpperCase() : d.region, count: d.count };
      if (d.kind === "zone") g.zone = d.zone;
      if (d.kind === "set") {
        // One group per set and region: a name taken in this region gets a suffix.
        let name = d.set;
        for (let k = 2; sets.has(`${d.region}/${name}`); k++) name = `${d.set}x${k}`;
        sets.add(`${d.region}/${name}`);
        g.availabilitySet = name;
        if (d.updateDomains !== undefined) g.updateDomains = d.updateDomains;
        if (d.faultDomains !== undefined) g.faultDomains = d.faultDomains;
      }
      if (d.kind === "scaleSet") {
        let name = d.scaleSet;
        for (let k = 2; scaleSets.has(`${d.region}/${name}`); k++) name = `${d.scaleSet}x${k}`;
        scaleSets.add(`${d.region}/${name}`);
        g.scaleSet = name;
        if (d.zonal) g.zone = d.zone;
        else if (d.faultDomains !== undefined) g.faultDomains = d.faultDomains;
      }
      if (d.timezone !== undefined) g.timezone = d.timezone;
      // Given names use "_", which no region or set name has, so they never meet a generated one.
      if (d.named) g.names = Array.from({ length: d.count }, (_, i) => `vm_g${gi}_${i}`);
      return g;
    });
    return { image: IMAGE, ...(timezone === undefined ? {} : { timezone }), groups };
  });

interface Fleet {
  raw: RawSpec;
  spec: FleetSpec;
  vms: FleetVm[];
  phases: Phase[];
}

const fleetArb: fc.Arbitrary<Fleet> = rawSpecArb.map((raw) => {
  const spec = parseFleetSpec(structuredClone(raw));
  const vms = placeFleet(spec);
  return { raw, spec, vms, phases: planRollout(vms) };
});

function check(seed: number, predicate: (fleet: Fleet) => void, numRuns = NUM_RUNS): void {
  fc.assert(fc.property(fleetArb, predicate), { seed, numRuns });
}

// ---------------------------------------------------------------- helpers

/** The unit a VM is patched with, spelled as plan.ts labels its batches. */
function unitOf(vm: FleetVm): string {
  if (vm.zone !== null) return `zone ${vm.zone}`;
  if (vm.availabilitySet !== null) return `availability set ${vm.availabilitySet}, update domain ${vm.updateDomain}`;
  if (vm.scaleSet) return `scale set ${vm.scaleSet}, fault domain ${vm.faultDomain}`;
  return "standalone";
}

function rankOf(vm: FleetVm): number {
  return vm.zone !== null ? 0 : vm.availabilitySet !== null ? 1 : vm.scaleSet ? 2 : 3;
}

/** A VM of a regional scale set (a zonal one's VMs are batched with their zone). */
const inRegionalScaleSet = (vm: FleetVm) => vm.zone === null && Boolean(vm.scaleSet);

function byName(vms: readonly FleetVm[]): Map<string, FleetVm> {
  return new Map(vms.map((v) => [v.name, v]));
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Every region's batches, in plan order, with the VMs they name. */
function regionBatches(fleet: Fleet): { region: string; batches: { batch: Batch; vms: FleetVm[] }[] }[] {
  const vms = byName(fleet.vms);
  return fleet.phases.flatMap((p) => p.regions.map((region) => ({ region, batches: p.batches[region].map((batch) => ({ batch, vms: batch.vms.map((n) => vms.get(n)!) })) })));
}

const share = (n: number) => Math.max(1, Math.floor(0.2 * n));

/** Non-decreasing under `<` (all names here are lowercase ASCII, so any collation agrees). */
function expectAscending(values: readonly string[], what: string): void {
  for (let i = 1; i < values.length; i++) expect(values[i - 1] <= values[i], `${what}: ${values.join(", ")}`).toBe(true);
}

/** Each key's occurrences form one run: once the sequence leaves a key it never comes back to it. */
function expectContiguous(keys: readonly string[], what: string): void {
  const left = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    expect(left.has(keys[i]), `${what}: ${keys[i]} comes back after another unit (${keys.join(" | ")})`).toBe(false);
    if (i + 1 < keys.length && keys[i + 1] !== keys[i]) left.add(keys[i]);
  }
}

// ---------------------------------------------------------------- properties

describe("a fleet's rollout plan", () => {
  it("puts every placed VM in exactly one batch of one phase, of its own region", () => {
    check(101, (fleet) => {
      const seen = new Map<string, number>();
      const regions = new Set(fleet.vms.map((v) => v.region));
      const phaseRegions = fleet.phases.flatMap((p) => p.regions);
      expect([...phaseRegions].sort()).toEqual([...regions].sort()); // each region in one phase
      const vms = byName(fleet.vms);
      for (const phase of fleet.phases) {
        expect(Object.keys(phase.batches).sort()).toEqual([...phase.regions].sort());
        for (const [region, batches] of Object.entries(phase.batches)) {
          for (const batch of batches) {
            expect(batch.region).toBe(region);
            expect(batch.vms.length).toBeGreaterThan(0);
            for (const name of batch.vms) {
              seen.set(name, (seen.get(name) ?? 0) + 1);
              expect(vms.get(name)?.region, `${name} in a batch of ${region}`).toBe(region);
            }
          }
        }
      }
      for (const vm of fleet.vms) expect(seen.get(vm.name), vm.name).toBe(1);
      expect(seen.size).toBe(fleet.vms.length); // no name that was not placed
    });
  });

  it("never puts paired regions in one phase and starts with the smallest region alone", () => {
    check(202, (fleet) => {
      const totals = countBy(fleet.vms, (v) => v.region);
      const order = [...totals.keys()].sort((a, b) => totals.get(a)! - totals.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
      for (const phase of fleet.phases) {
        expect(phase.regions.length).toBeGreaterThan(0);
        for (const region of phase.regions) expect(phase.regions, `${region} with its pair`).not.toContain(pairOf(region));
      }
      expect(fleet.phases[0].regions).toEqual([order[0]]);
      // The rest: fewest VMs first (ties by name), each joining the current phase unless its pair is in it.
      expect(fleet.phases.flatMap((p) => p.regions)).toEqual(order);
      const starts = fleet.phases.map((p) => p.regions[0]);
      for (const [i, region] of order.entries()) {
        if (i === 0) continue;
        const previousPhase = fleet.phases.find((p) => p.regions.includes(order[i - 1]))!;
        const joins = i > 1 && !previousPhase.regions.includes(pairOf(region));
        expect(starts.includes(region), `${region} starts a phase (order ${order.join(", ")})`).toBe(!joins);
      }
    });
  });

  it("goes through a region's zones 1, 2, 3, then its sets, then its scale sets, then its standalone VMs, one unit per batch", () => {
    check(303, (fleet) => {
      for (const { region, batches } of regionBatches(fleet)) {
        const units: string[] = [];
        const ranks: number[] = [];
        for (const { batch, vms } of batches) {
          const unitsHere = new Set(vms.map(unitOf));
          expect([...unitsHere], `${region} batch ${batch.unit}: one unit`).toEqual([batch.unit]);
          units.push(batch.unit);
          ranks.push(rankOf(vms[0]));
        }
        for (let i = 1; i < ranks.length; i++) expect(ranks[i - 1] <= ranks[i], `${region}: ${units.join(" | ")}`).toBe(true);
        expectContiguous(units, region);
        const zoneBatches = batches.filter(({ vms }) => vms[0].zone !== null);
        expectAscending(
          zoneBatches.map(({ vms }) => vms[0].zone!),
          `${region} zones`,
        );
        const setBatches = batches.filter(({ vms }) => vms[0].availabilitySet !== null);
        const setNames = setBatches.map(({ vms }) => vms[0].availabilitySet!);
        expectAscending(setNames, `${region} sets`);
        expectContiguous(setNames, `${region} sets`);
        const scaleSetNames = batches.filter(({ vms }) => inRegionalScaleSet(vms[0])).map(({ vms }) => vms[0].scaleSet!);
        expectAscending(scaleSetNames, `${region} scale sets`);
        expectContiguous(scaleSetNames, `${region} scale sets`);
      }
    });
  });

  it("takes an availability set one update domain at a time, in batches of at most 20 % of the set", () => {
    check(404, (fleet) => {
      const setSizes = countBy(
        fleet.vms.filter((v) => v.availabilitySet !== null),
        (v) => `${v.region}/${v.availabilitySet}`,
      );
      for (const { region, batches } of regionBatches(fleet)) {
        const perSet = new Map<string, { domains: number[]; sizes: number[] }>();
        for (const { vms } of batches) {
          if (vms[0].availabilitySet === null) continue;
          const domains = new Set(vms.map((v) => v.updateDomain));
          const sets = new Set(vms.map((v) => v.availabilitySet));
          expect(domains.size, `${region} batch over update domains ${[...domains].join(", ")}`).toBe(1);
          expect(sets.size).toBe(1);
          const key = `${region}/${vms[0].availabilitySet}`;
          const entry = perSet.get(key) ?? { domains: [], sizes: [] };
          entry.domains.push(vms[0].updateDomain!);
          entry.sizes.push(vms.length);
          perSet.set(key, entry);
        }
        for (const [key, { domains, sizes }] of perSet) {
          const size = setSizes.get(key)!;
          for (let i = 1; i < domains.length; i++) expect(domains[i - 1] <= domains[i], `${key} update domains ${domains.join(", ")}`).toBe(true);
          for (const n of sizes) {
            expect(n, `${key} (${size} VMs): batch sizes ${sizes.join(", ")}`).toBeLessThanOrEqual(share(size));
            if (size < 10) expect(n, `${key} (${size} VMs) goes one VM at a time`).toBe(1);
          }
        }
      }
    });
  });

  it("takes a regional Flexible scale set one fault domain at a time, in batches of at most 20 % of the scale set", () => {
    check(808, (fleet) => {
      const sizes = countBy(fleet.vms.filter(inRegionalScaleSet), (v) => `${v.region}/${v.scaleSet}`);
      for (const { region, batches } of regionBatches(fleet)) {
        const domains = new Map<string, number[]>();
        for (const { vms } of batches) {
          if (!inRegionalScaleSet(vms[0])) continue;
          const key = `${region}/${vms[0].scaleSet}`;
          expect(new Set(vms.map((v) => `${v.scaleSet}/${v.faultDomain}`)).size, `${key}: one fault domain a batch`).toBe(1);
          expect(vms.length, `${key} (${sizes.get(key)} VMs)`).toBeLessThanOrEqual(share(sizes.get(key)!));
          domains.set(key, [...(domains.get(key) ?? []), vms[0].faultDomain!]);
        }
        for (const [key, list] of domains) expectAscending(list.map(String), `${key} fault domains`); // 0–2: one digit
      }
    });
  });

  it("takes zones and standalone VMs in batches of at most 20 % of them, never a whole unit of several VMs", () => {
    check(505, (fleet) => {
      const unitSizes = countBy(
        fleet.vms.filter((v) => v.availabilitySet === null && !inRegionalScaleSet(v)),
        (v) => `${v.region}/${unitOf(v)}`,
      );
      for (const { region, batches } of regionBatches(fleet)) {
        for (const { batch, vms } of batches) {
          if (vms[0].availabilitySet !== null || inRegionalScaleSet(vms[0])) continue;
          const size = unitSizes.get(`${region}/${batch.unit}`)!;
          expect(vms.length, `${region} ${batch.unit} (${size} VMs)`).toBeLessThanOrEqual(share(size));
          if (size > 1) expect(vms.length, `${region} ${batch.unit}: all ${size} VMs at once`).toBeLessThan(size);
        }
      }
    });
  });

  it("places VMs with unique names and round-robin domains in creation order, in a zone or a set, never both", () => {
    check(606, ({ raw, spec, vms }) => {
      expect(vms.length).toBe(spec.groups.reduce((n, g) => n + g.count, 0));
      expect(new Set(vms.map((v) => v.name)).size, "names unique").toBe(vms.length);
      const numbers = new Map<string, number>();
      let at = 0;
      for (const [gi, group] of spec.groups.entries()) {
        const given = raw.groups[gi];
        const inSet = given.availabilitySet !== undefined;
        const regionalScaleSet = given.scaleSet !== undefined && given.zone === undefined;
        const prefix = given.availabilitySet ?? given.scaleSet ?? given.region.toLowerCase();
        const updateDomains = given.updateDomains ?? 5;
        const faultDomains = given.faultDomains ?? 2;
        expect(group.region).toBe(given.region.toLowerCase());
        for (let i = 0; i < given.count; i++) {
          const vm = vms[at++];
          const n = (numbers.get(prefix) ?? 0) + 1;
          numbers.set(prefix, n);
          expect(vm.name).toBe(given.names?.[i] ?? `${prefix}-${n}`);
          expect(vm.region).toBe(given.region.toLowerCase());
          expect(vm.zone).toBe(given.zone ?? null);
          expect(vm.availabilitySet).toBe(given.availabilitySet ?? null);
          expect(vm.zone !== null && vm.availabilitySet !== null, `${vm.name} in a zone and a set`).toBe(false);
          expect(vm.updateDomain).toBe(inSet ? i % updateDomains : null);
          expect(vm.scaleSet).toBe(given.scaleSet ?? null);
          expect(vm.faultDomain).toBe(inSet ? i % faultDomains : regionalScaleSet ? i % (given.faultDomains ?? 1) : null);
          expect(vm.timezone).toBe(given.timezone ?? raw.timezone ?? "UTC");
        }
      }
    });
  });

  it("is the same plan for the same spec", () => {
    check(707, ({ raw, vms, phases }) => {
      const again = planRollout(placeFleet(parseFleetSpec(structuredClone(raw))));
      expect(again).toEqual(phases);
      expect(planRollout(structuredClone(vms))).toEqual(phases);
    });
  });

  it("plans the documented example as docs/fleets.md describes it", () => {
    const spec = parseFleetSpec({
      image: IMAGE,
      timezone: "America/New_York",
      groups: [
        { region: "eastus", availabilitySet: "web", updateDomains: 5, faultDomains: 2, count: 25 },
        { region: "eastus", zone: "1", count: 10 },
        { region: "eastus", zone: "2", count: 10 },
        { region: "westus", count: 12, timezone: "America/Los_Angeles" },
      ],
    });
    const phases = planRollout(placeFleet(spec));
    expect(phases.map((p) => p.regions)).toEqual([["westus"], ["eastus"]]);
    expect(phases[0].batches.westus.map((b) => b.vms.length)).toEqual([2, 2, 2, 2, 2, 2]);
    const eastus = phases[1].batches.eastus;
    expect(eastus.map((b) => b.unit)).toEqual([
      "zone 1",
      "zone 1",
      "zone 1",
      "zone 1",
      "zone 1",
      "zone 2",
      "zone 2",
      "zone 2",
      "zone 2",
      "zone 2",
      ...[0, 1, 2, 3, 4].flatMap((d) => [`availability set web, update domain ${d}`]),
    ]);
    expect(eastus.at(-5)!.vms).toEqual(["web-1", "web-6", "web-11", "web-16", "web-21"]);
  });
});

// ---------------------------------------------------------------- refusals

describe("parseFleetSpec refuses", () => {
  const specWith = (groups: unknown) => ({ image: IMAGE, groups });
  const refused = (groups: unknown) => refusal(() => parseFleetSpec(specWith(groups)), "E_USAGE").message;

  it("a group with both a zone and an availability set", () => {
    const message = refused([{ region: "eastus", count: 1 }, { region: "eastus", zone: "1", availabilitySet: "web", count: 2 }]);
    expect(message).toMatch(/^E_USAGE: fleet spec: groups\[1\] /);
    expect(message).toContain("never both");
  });

  it("a scale set in an availability set, with update domains, or zonal with fault domains", () => {
    expect(refused([{ region: "eastus", scaleSet: "app", availabilitySet: "web", count: 1 }])).toContain("cannot be in an availability set");
    expect(refused([{ region: "eastus", scaleSet: "app", updateDomains: 2, count: 1 }])).toContain("groups[0].updateDomains");
    expect(refused([{ region: "eastus", scaleSet: "app", zone: "1", faultDomains: 2, count: 1 }])).toContain("groups[0].faultDomains");
    expect(refused([{ region: "eastus", scaleSet: "9app", count: 1 }])).toContain("groups[0].scaleSet");
    expect(refused([{ region: "eastus", scaleSet: "app", count: 1 }, { region: "eastus", scaleSet: "app", count: 1 }])).toContain("groups[1].scaleSet");
  });

  it("an unknown region", () => {
    const message = refused([{ region: "marsnorth", count: 1 }]);
    expect(message).toContain("groups[0].region");
    expect(message).toContain('unknown region "marsnorth"');
  });

  it('zone "4"', () => {
    expect(refused([{ region: "eastus", zone: "4", count: 1 }])).toContain("groups[0].zone");
  });

  it("updateDomains 21", () => {
    expect(refused([{ region: "eastus", availabilitySet: "web", updateDomains: 21, count: 1 }])).toContain("groups[0].updateDomains");
  });

  it("faultDomains 0", () => {
    expect(refused([{ region: "eastus", availabilitySet: "web", faultDomains: 0, count: 1 }])).toContain("groups[0].faultDomains");
  });

  it("count 0", () => {
    expect(refused([{ region: "westus", count: 0 }])).toContain("groups[0].count");
  });

  it("a names list of the wrong length", () => {
    expect(refused([{ region: "westus", count: 3, names: ["a", "b"] }])).toContain("groups[0].names");
    expect(refused([{ region: "westus", count: 1, names: ["a", "b"] }])).toContain("groups[0].names");
  });

  it("a set named twice in one region, but not the same name in another region", () => {
    const message = refused([
      { region: "eastus", availabilitySet: "web", count: 2 },
      { region: "eastus", zone: "1", count: 2 },
      { region: "EastUS", availabilitySet: "web", count: 2 },
    ]);
    expect(message).toContain("groups[2].availabilitySet");
    expect(message).toContain('"web"');
    const accepted = parseFleetSpec(
      specWith([
        { region: "eastus", availabilitySet: "web", count: 2 },
        { region: "westus", availabilitySet: "web", count: 2 },
      ]),
    );
    expect(new Set(placeFleet(accepted).map((v) => v.name)).size).toBe(4);
  });

  it("empty groups", () => {
    expect(refused([])).toMatch(/^E_USAGE: fleet spec: groups /);
    expect(refusal(() => parseFleetSpec({ image: IMAGE }), "E_USAGE").message).toContain("groups");
  });
});

describe("placing a fleet", () => {
  it("refuses a VM name used twice, given or generated", () => {
    const spec = parseFleetSpec({
      image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core",
      groups: [
        { region: "eastus", count: 1 },
        { region: "eastus", zone: "1", count: 1, names: ["eastus-1"] },
      ],
    });
    expect(refusal(() => placeFleet(spec), "E_USAGE").message).toMatch(/the VM name "eastus-1" is used twice/);
  });
});
