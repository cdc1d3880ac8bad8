/**
 * A fleet spec file: the image, defaults, and groups of VMs placed in a
 * region and either a zone or an availability set (never both, as Azure
 * refuses), or neither (standalone); a group may instead be a scale set in
 * Flexible orchestration (`scaleSet`), regional over `faultDomains` (1–3,
 * default 1) or in one `zone`, never in an availability set:
 *
 *   { "image": "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core",
 *     "timezone": "America/New_York", "processes": 1,
 *     "groups": [ { "region": "eastus", "availabilitySet": "web", "updateDomains": 5, "faultDomains": 2, "count": 25 },
 *                 { "region": "eastus", "zone": "1", "count": 10 }, { "region": "westus", "count": 12 } ] }
 *
 * Every field is checked; an error names the field (`groups[2].zone`).
 */
import { HotpatchError } from "../errors.ts";
import { pairOf } from "./regions.ts";

export interface FleetGroup {
  region: string;
  zone?: "1" | "2" | "3";
  availabilitySet?: string;
  /** A virtual machine scale set in Flexible orchestration (its name). */
  scaleSet?: string;
  /**
   * Availability sets: platformUpdateDomainCount 1–20 (default 5), platformFaultDomainCount 1–3
   * (default 2). A regional scale set: platformFaultDomainCount 1–3 (default 1), no update domains.
   */
  updateDomains: number;
  faultDomains: number;
  count: number;
  timezone: string;
  /** Given VM names (as many as `count`); default `<set or region>-<n>`. */
  names?: string[];
}

export interface FleetSpec {
  image: string;
  processes: number;
  /** The VMs' off-peak window ("HH:MM-HH:MM", local time; default 22:00-06:00). */
  window: string;
  groups: FleetGroup[];
}

/** The most VMs a spec may create. */
export const MAX_FLEET_VMS = 50_000;

type Json = Record<string, unknown>;

export function parseFleetSpec(input: unknown): FleetSpec {
  const root = object(input, "the fleet spec");
  const image = string(root.image, "image");
  const timezone = root.timezone === undefined ? "UTC" : string(root.timezone, "timezone");
  const processes = root.processes === undefined ? 1 : integer(root.processes, "processes", 1, 16);
  const window = root.window === undefined ? "22:00-06:00" : string(root.window, "window");
  if (!Array.isArray(root.groups) || root.groups.length === 0) throw usage("groups", "must be a non-empty list");
  const groups = root.groups.map((g, i) => parseGroup(g, `groups[${i}]`, timezone));
  const sets = new Set<string>();
  for (const [i, g] of groups.entries()) {
    const [field, name] = g.availabilitySet !== undefined ? ["availabilitySet", g.availabilitySet] : g.scaleSet !== undefined ? ["scaleSet", g.scaleSet] : [];
    if (name === undefined) continue;
    const key = `${g.region}/${field}/${name}`;
    if (sets.has(key)) throw usage(`groups[${i}].${field}`, `names the ${field === "scaleSet" ? "scale set" : "set"} "${name}" in ${g.region} a second time (one group per set)`);
    sets.add(key);
  }
  const total = groups.reduce((n, g) => n + g.count, 0);
  if (total > MAX_FLEET_VMS) throw usage("groups", `create ${total} VMs, more than ${MAX_FLEET_VMS}`);
  return { image, processes, window, groups };
}

function parseGroup(input: unknown, path: string, defaultTimezone: string): FleetGroup {
  const g = object(input, path);
  const region = string(g.region, `${path}.region`).toLowerCase();
  try {
    pairOf(region);
  } catch (error) {
    throw usage(`${path}.region`, (error as Error).message.replace(/^E_USAGE: /, ""));
  }
  const zone = g.zone === undefined ? undefined : string(g.zone, `${path}.zone`);
  if (zone !== undefined && !["1", "2", "3"].includes(zone)) throw usage(`${path}.zone`, `"${zone}" is not a zone ("1", "2" or "3")`);
  const availabilitySet = g.availabilitySet === undefined ? undefined : string(g.availabilitySet, `${path}.availabilitySet`);
  if (zone !== undefined && availabilitySet !== undefined) {
    throw usage(path, "names both a zone and an availability set; a VM is in an availability zone or in an availability set, never both");
  }
  if (availabilitySet !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,40}$/.test(availabilitySet)) throw usage(`${path}.availabilitySet`, `"${availabilitySet}" is not a set name`);
  const scaleSet = g.scaleSet === undefined ? undefined : string(g.scaleSet, `${path}.scaleSet`);
  if (scaleSet !== undefined) checkScaleSet(g, path, scaleSet, availabilitySet, zone);
  else if (availabilitySet === undefined && (g.updateDomains !== undefined || g.faultDomains !== undefined)) {
    throw usage(path, "sets update or fault domains without an availability set");
  }
  const count = integer(g.count, `${path}.count`, 1, MAX_FLEET_VMS);
  const names = g.names === undefined ? undefined : stringList(g.names, `${path}.names`);
  if (names !== undefined && names.length !== count) throw usage(`${path}.names`, `lists ${names.length} names for ${count} VMs`);
  return {
    region,
    ...(zone === undefined ? {} : { zone: zone as FleetGroup["zone"] }),
    ...(availabilitySet === undefined ? {} : { availabilitySet }),
    ...(scaleSet === undefined ? {} : { scaleSet }),
    updateDomains: g.updateDomains === undefined ? 5 : integer(g.updateDomains, `${path}.updateDomains`, 1, 20),
    faultDomains: g.faultDomains === undefined ? (scaleSet === undefined ? 2 : 1) : integer(g.faultDomains, `${path}.faultDomains`, 1, 3),
    count,
    timezone: g.timezone === undefined ? defaultTimezone : string(g.timezone, `${path}.timezone`),
    ...(names === undefined ? {} : { names }),
  };
}

/** A Flexible scale set group: no availability set (Azure refuses both), no update domains, fault domains only when regional. */
function checkScaleSet(g: Json, path: string, name: string, availabilitySet: string | undefined, zone: string | undefined): void {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,40}$/.test(name)) throw usage(`${path}.scaleSet`, `"${name}" is not a scale set name`);
  if (availabilitySet !== undefined) throw usage(path, "names both a scale set and an availability set; a VM in a scale set cannot be in an availability set");
  if (g.updateDomains !== undefined) throw usage(`${path}.updateDomains`, "is for availability sets; a Flexible scale set has fault domains only");
  if (zone !== undefined && g.faultDomains !== undefined) throw usage(`${path}.faultDomains`, "is for a regional scale set; a zonal one (with a zone) has a single fault domain per zone");
}

function usage(path: string, reason: string): HotpatchError {
  return new HotpatchError("E_USAGE", `fleet spec: ${path} ${reason}`);
}

function object(value: unknown, path: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw usage(path, "must be an object");
  return value as Json;
}

function string(value: unknown, path: string): string {
  if (typeof value !== "string" || value.trim() === "") throw usage(path, "must be a non-empty string");
  return value.trim();
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw usage(path, `must be a whole number from ${min} to ${max}`);
  return value;
}

function stringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw usage(path, "must be a list of names");
  return value.map((v, i) => string(v, `${path}[${i}]`));
}
