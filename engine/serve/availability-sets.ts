/**
 * Microsoft.Compute availabilitySets in the emulator's state: the document,
 * its PUT body read and checked, its ARM shape, and where a new member VM
 * goes (its update and fault domain).
 *
 * Contracts:
 * - Documents live in the store's `resources` table (kind "availabilitySet"),
 *   keyed `subscription/group/name` lowercased (ARM names are
 *   case-insensitive); the management plane never reads them.
 * - platformUpdateDomainCount is 1–20 (default 5), platformFaultDomainCount
 *   1–3 (default 2), ARM's ranges; sku "Aligned" (managed disks) by default.
 *   Once the set has members both counts are fixed (409
 *   PropertyChangeNotAllowed), as ARM fixes them.
 * - A member VM gets the least-filled update domain and the least-filled
 *   fault domain, lowest index first: VMs made one after another go
 *   round-robin (VM i: update domain i mod UD, fault domain i mod FD), the
 *   rule `hotpatch fleet` uses for a spec's sets (engine/fleet/topology.ts).
 * - Members are the VMs whose ARM document names the set (resources.ts):
 *   nothing else keeps a list, so a deleted VM leaves its set by itself.
 */
import { ArmError, invalidParameter } from "./arm-error.ts";
import type { Store } from "../manage/index.ts";
import { GroupResources, listVmArm, type VmArmDoc } from "./resources.ts";
import { type Json, optionalObject, optionalString, optionalTags, readObject, requiredString } from "./routes/validate.ts";

export const TYPE = "Microsoft.Compute/availabilitySets";
export const DEFAULT_UPDATE_DOMAINS = 5;
export const DEFAULT_FAULT_DOMAINS = 2;
export const MAX_UPDATE_DOMAINS = 20;
export const MAX_FAULT_DOMAINS = 3;

export interface AvailabilitySetDoc {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  sku: "Aligned" | "Classic";
  platformUpdateDomainCount: number;
  platformFaultDomainCount: number;
}

/** A validated PUT body; undefined means "not given". */
export interface AvailabilitySetPut {
  location: string;
  tags?: Record<string, string>;
  sku?: "Aligned" | "Classic";
  platformUpdateDomainCount?: number;
  platformFaultDomainCount?: number;
}

export function availabilitySetId(subscription: string, group: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${group}/providers/${TYPE}/${name}`;
}

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/availabilitySets\/([^/]+)$/i;

/** The set an id names, if it exists. */
export function setOfId(store: Store, id: string): AvailabilitySetDoc | undefined {
  const m = ID.exec(id);
  return m === null ? undefined : getAvailabilitySet(store, m[1], m[2], m[3]);
}

const SETS = new GroupResources<AvailabilitySetDoc>("availabilitySet");
export const getAvailabilitySet = (store: Store, subscription: string, group: string, name: string) => SETS.get(store, subscription, group, name);
export const listAvailabilitySets = (store: Store) => SETS.list(store);
export const putAvailabilitySet = (store: Store, doc: AvailabilitySetDoc) => SETS.put(store, doc);
export const deleteAvailabilitySet = (store: Store, doc: AvailabilitySetDoc) => SETS.delete(store, doc);

/** The VMs whose ARM document places them in the set. */
export function membersOf(store: Store, set: AvailabilitySetDoc): VmArmDoc[] {
  const id = availabilitySetId(set.subscription, set.resourceGroup, set.name).toLowerCase();
  return listVmArm(store).filter((doc) => doc.availabilitySet?.toLowerCase() === id);
}

/** Reads and checks a PUT body (before anything is written). */
export function parseAvailabilitySetPut(body: unknown): AvailabilitySetPut {
  const root = readObject(body, "parameters");
  const properties = optionalObject(root, "properties") ?? {};
  const sku = optionalObject(root, "sku");
  const skuName = sku === undefined ? undefined : optionalString(sku, "name", "sku.name");
  if (skuName !== undefined && skuName !== "Aligned" && skuName !== "Classic") {
    throw invalidParameter(`The sku '${skuName.slice(0, 40)}' is not valid for an availability set; use 'Aligned' or 'Classic'.`, "sku.name");
  }
  return {
    location: requiredString(root, "location"),
    tags: optionalTags(root),
    sku: skuName,
    platformUpdateDomainCount: domainCount(properties, "platformUpdateDomainCount", "update", MAX_UPDATE_DOMAINS),
    platformFaultDomainCount: domainCount(properties, "platformFaultDomainCount", "fault", MAX_FAULT_DOMAINS),
  };
}

function domainCount(properties: Json, field: string, what: string, max: number): number | undefined {
  const value = properties[field];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidParameter(`The specified ${what} domain count ${JSON.stringify(value)?.slice(0, 40)} must fall in the range 1 to ${max}.`, `properties.${field}`);
  }
  return value;
}

/** The set after a PUT: a new one from defaults, or `existing` with what the body names (counts fixed once it has members). */
export function applyAvailabilitySetPut(existing: AvailabilitySetDoc | undefined, put: AvailabilitySetPut, at: { subscription: string; group: string; name: string }, members: number): AvailabilitySetDoc {
  if (existing !== undefined && put.location.toLowerCase() !== existing.location) {
    throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'location' is not allowed.", "location");
  }
  if (existing !== undefined && members > 0) {
    for (const field of ["platformUpdateDomainCount", "platformFaultDomainCount"] as const) {
      if (put[field] !== undefined && put[field] !== existing[field]) {
        throw new ArmError(409, "PropertyChangeNotAllowed", `Changing property '${field}' is not allowed while the availability set has virtual machines.`, `properties.${field}`);
      }
    }
  }
  return {
    subscription: existing?.subscription ?? at.subscription,
    resourceGroup: existing?.resourceGroup ?? at.group,
    name: existing?.name ?? at.name,
    location: existing?.location ?? put.location.toLowerCase(),
    tags: put.tags ?? existing?.tags ?? {},
    sku: put.sku ?? existing?.sku ?? "Aligned",
    platformUpdateDomainCount: put.platformUpdateDomainCount ?? existing?.platformUpdateDomainCount ?? DEFAULT_UPDATE_DOMAINS,
    platformFaultDomainCount: put.platformFaultDomainCount ?? existing?.platformFaultDomainCount ?? DEFAULT_FAULT_DOMAINS,
  };
}

/** The update and fault domain of a VM joining the set (see the contract above). */
export function domainsForNewMember(set: AvailabilitySetDoc, members: readonly VmArmDoc[]): { updateDomain: number; faultDomain: number } {
  const leastFilled = (count: number, of: (m: VmArmDoc) => number | null | undefined) => {
    const filled = Array.from({ length: count }, (_, d) => members.filter((m) => of(m) === d).length);
    return filled.indexOf(Math.min(...filled));
  };
  return { updateDomain: leastFilled(set.platformUpdateDomainCount, (m) => m.updateDomain), faultDomain: leastFilled(set.platformFaultDomainCount, (m) => m.faultDomain) };
}

/** The set as GET/PUT answer it. */
export function availabilitySetResource(set: AvailabilitySetDoc, members: readonly VmArmDoc[]): Json {
  return {
    id: availabilitySetId(set.subscription, set.resourceGroup, set.name),
    name: set.name,
    type: TYPE,
    location: set.location,
    tags: set.tags,
    sku: { name: set.sku },
    properties: {
      platformUpdateDomainCount: set.platformUpdateDomainCount,
      platformFaultDomainCount: set.platformFaultDomainCount,
      virtualMachines: members.map((m) => ({ id: `/subscriptions/${m.subscription}/resourceGroups/${m.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${m.vm}` })),
    },
  };
}

/**
 * Where a VM created with `properties.availabilitySet` goes: the set must exist (404) and be in
 * the VM's location (400); the VM gets its domains. Null for a VM outside sets.
 */
export function placeInSet(store: Store, setId: string | undefined, location: string): { updateDomain: number; faultDomain: number } | null {
  if (setId === undefined) return null;
  const set = setOfId(store, setId);
  if (set === undefined) {
    const [group = "", name = ""] = (ID.exec(setId) ?? []).slice(2);
    throw new ArmError(404, "NotFound", `The Availability Set '${setId}' cannot be found (resource group '${group}', name '${name}').`, "properties.availabilitySet.id");
  }
  if (set.location !== location.toLowerCase()) {
    throw invalidParameter(`The availability set '${set.name}' is in location '${set.location}'; a virtual machine in it must be in that location, not '${location.toLowerCase()}'.`, "location");
  }
  return domainsForNewMember(set, membersOf(store, set));
}
