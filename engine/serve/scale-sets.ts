/**
 * Microsoft.Compute virtualMachineScaleSets in Flexible orchestration, in the
 * emulator's state: the document, its PUT body read and checked, its ARM
 * shape, and where a member VM goes.
 *
 * Contracts:
 * - Documents live in the store's `resources` table (kind "scaleSet"), keyed
 *   `subscription/group/name` lowercased; the management plane never reads
 *   them (a member VM's record says `scaleSet: "Flexible"`, which its
 *   eligibility rules read, S8).
 * - Only Flexible orchestration is emulated (the default here when the body
 *   names none): VMs are made one by one and join by naming the scale set
 *   (`properties.virtualMachineScaleSet.id`). Uniform is refused with 400
 *   InvalidParameter: its instances come from a profile the emulator does
 *   not run, and Azure Edition with Hotpatch cannot use it anyway (S8).
 * - A scale set is regional, over platformFaultDomainCount 1–3 (default 1),
 *   or zonal (`zones`, with a fault domain count of 1, as Azure requires).
 *   A member of a regional one gets the least-filled fault domain, lowest
 *   first (round-robin for VMs made one after another, as a fleet spec's
 *   scale set is placed); a member of a zonal one names one of its zones.
 *   The location, zones and fault domain count are fixed once it has members
 *   (409 PropertyChangeNotAllowed).
 * - Members are the VMs whose ARM document names the scale set
 *   (resources.ts); a deleted VM leaves by itself.
 */
import { createHash } from "node:crypto";
import type { Store } from "../manage/index.ts";
import { ArmError, invalidParameter } from "./arm-error.ts";
import { GroupResources, listVmArm, type VmArmDoc } from "./resources.ts";
import { type Json, optionalObject, optionalString, optionalStringArray, optionalTags, readObject, requiredString } from "./routes/validate.ts";

export const SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets";
export const MAX_SCALE_SET_FAULT_DOMAINS = 3;

export interface ScaleSetDoc {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  zones: string[];
  platformFaultDomainCount: number;
  timeCreated: string;
}

export interface ScaleSetPut {
  location: string;
  tags?: Record<string, string>;
  zones?: string[];
  platformFaultDomainCount?: number;
}

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)$/i;

export function scaleSetId(subscription: string, group: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${group}/providers/${SCALE_SET_TYPE}/${name}`;
}

const SCALE_SETS = new GroupResources<ScaleSetDoc>("scaleSet");
export const getScaleSet = (store: Store, subscription: string, group: string, name: string) => SCALE_SETS.get(store, subscription, group, name);
export const listScaleSets = (store: Store) => SCALE_SETS.list(store);
export const putScaleSet = (store: Store, doc: ScaleSetDoc) => SCALE_SETS.put(store, doc);
export const deleteScaleSet = (store: Store, doc: ScaleSetDoc) => SCALE_SETS.delete(store, doc);

export function scaleSetMembers(store: Store, set: ScaleSetDoc): VmArmDoc[] {
  const id = scaleSetId(set.subscription, set.resourceGroup, set.name).toLowerCase();
  return listVmArm(store).filter((doc) => doc.virtualMachineScaleSet?.toLowerCase() === id);
}

/** Reads and checks a PUT body (before anything is written). */
export function parseScaleSetPut(body: unknown): ScaleSetPut {
  const root = readObject(body, "parameters");
  const properties = optionalObject(root, "properties") ?? {};
  const mode = optionalString(properties, "orchestrationMode", "properties.orchestrationMode");
  if (mode !== undefined && mode !== "Flexible") {
    throw invalidParameter(
      `Orchestration mode '${mode.slice(0, 40)}' is not emulated: the emulator runs Flexible scale sets only (a Uniform scale set's instances come from a profile it does not run, and Azure Edition with Hotpatch cannot use Uniform).`,
      "properties.orchestrationMode",
    );
  }
  const zones = optionalStringArray(root, "zones", "zones", 3);
  zones?.forEach((z, i) => {
    if (!["1", "2", "3"].includes(z)) throw invalidParameter(`The zone '${z}' is not valid; zones are "1", "2" or "3".`, `zones[${i}]`);
    if (zones.indexOf(z) !== i) throw invalidParameter(`The zone '${z}' is listed twice.`, `zones[${i}]`);
  });
  const count = properties.platformFaultDomainCount;
  if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_SCALE_SET_FAULT_DOMAINS)) {
    throw invalidParameter(`The platform fault domain count ${JSON.stringify(count)?.slice(0, 40)} must fall in the range 1 to ${MAX_SCALE_SET_FAULT_DOMAINS}.`, "properties.platformFaultDomainCount");
  }
  if (zones !== undefined && zones.length > 0 && typeof count === "number" && count > 1) {
    throw invalidParameter("A zonal scale set (with zones) must have a platform fault domain count of 1.", "properties.platformFaultDomainCount");
  }
  return { location: requiredString(root, "location"), tags: optionalTags(root), zones, platformFaultDomainCount: count as number | undefined };
}

/** The scale set after a PUT: a new one from defaults, or `existing` with what the body names (placement fixed once it has members). */
export function applyScaleSetPut(existing: ScaleSetDoc | undefined, put: ScaleSetPut, at: { subscription: string; group: string; name: string; now: string }, members: number): ScaleSetDoc {
  if (existing !== undefined && put.location.toLowerCase() !== existing.location) throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'location' is not allowed.", "location");
  if (existing !== undefined && members > 0) {
    if (put.zones !== undefined && [...put.zones].sort().join() !== existing.zones.join()) {
      throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'zones' is not allowed while the scale set has virtual machines.", "zones");
    }
    if (put.platformFaultDomainCount !== undefined && put.platformFaultDomainCount !== existing.platformFaultDomainCount) {
      throw new ArmError(409, "PropertyChangeNotAllowed", "Changing property 'platformFaultDomainCount' is not allowed while the scale set has virtual machines.", "properties.platformFaultDomainCount");
    }
  }
  const set: ScaleSetDoc = {
    subscription: existing?.subscription ?? at.subscription,
    resourceGroup: existing?.resourceGroup ?? at.group,
    name: existing?.name ?? at.name,
    location: existing?.location ?? put.location.toLowerCase(),
    tags: put.tags ?? existing?.tags ?? {},
    zones: put.zones === undefined ? (existing?.zones ?? []) : [...put.zones].sort(),
    platformFaultDomainCount: put.platformFaultDomainCount ?? existing?.platformFaultDomainCount ?? 1,
    timeCreated: existing?.timeCreated ?? at.now,
  };
  // Checked on the result too: an update may name only one of the two.
  if (set.zones.length > 0 && set.platformFaultDomainCount > 1) {
    throw invalidParameter("A zonal scale set (with zones) must have a platform fault domain count of 1.", "properties.platformFaultDomainCount");
  }
  return set;
}

/** The scale set as GET/PUT answer it. */
export function scaleSetResource(set: ScaleSetDoc): Json {
  const id = scaleSetId(set.subscription, set.resourceGroup, set.name);
  return {
    id,
    name: set.name,
    type: SCALE_SET_TYPE,
    location: set.location,
    tags: set.tags,
    ...(set.zones.length > 0 ? { zones: set.zones } : {}),
    properties: {
      orchestrationMode: "Flexible",
      platformFaultDomainCount: set.platformFaultDomainCount,
      provisioningState: "Succeeded",
      timeCreated: set.timeCreated,
      uniqueId: createHash("sha256").update(id.toLowerCase()).digest("hex").slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"),
    },
  };
}

/**
 * `properties.virtualMachineScaleSet: { id }` of a VM PUT, and `properties.platformFaultDomain`
 * (the fault domain a member of a regional scale set asks for): their shapes (that the scale set
 * exists and has that domain: placeInScaleSet).
 */
export function parseScaleSetRef(properties: Json, availabilitySet: string | undefined): { virtualMachineScaleSet?: string; platformFaultDomain?: number } {
  const ref = optionalObject(properties, "virtualMachineScaleSet", "properties.virtualMachineScaleSet");
  const domain = properties.platformFaultDomain;
  if (domain !== undefined && domain !== null && (typeof domain !== "number" || !Number.isInteger(domain) || domain < 0)) {
    throw invalidParameter(`'properties.platformFaultDomain' must be a whole number from 0, not ${JSON.stringify(domain)?.slice(0, 40)}.`, "properties.platformFaultDomain");
  }
  if (ref === undefined) {
    if (typeof domain === "number") throw invalidParameter("'properties.platformFaultDomain' is for a virtual machine in a scale set (properties.virtualMachineScaleSet).", "properties.platformFaultDomain");
    return {};
  }
  const id = requiredString(ref, "id", "properties.virtualMachineScaleSet.id");
  if (!ID.test(id)) {
    throw invalidParameter(`'${id.slice(0, 200)}' is not a scale set id: /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}.`, "properties.virtualMachineScaleSet.id");
  }
  if (availabilitySet !== undefined) {
    throw invalidParameter("A virtual machine in a scale set cannot be in an availability set; name one of them.", "properties.virtualMachineScaleSet");
  }
  return { virtualMachineScaleSet: id, ...(typeof domain === "number" ? { platformFaultDomain: domain } : {}) };
}

/**
 * Where a VM created with `properties.virtualMachineScaleSet` goes: the scale set must exist (404),
 * be in the VM's location (400), and a zonal one must get one of its zones (400); a member of a
 * regional one gets the fault domain it asks for (`requested`, below the count: 400 otherwise)
 * or the least-filled one. Null for a VM outside scale sets.
 */
export function placeInScaleSet(
  store: Store,
  id: string | undefined,
  location: string,
  zones: readonly string[] | undefined,
  requested?: number,
): { faultDomain: number | null } | null {
  if (id === undefined) return null;
  const m = ID.exec(id)!;
  const set = getScaleSet(store, m[1], m[2], m[3]);
  if (set === undefined) throw new ArmError(404, "NotFound", `The virtual machine scale set '${id}' cannot be found (resource group '${m[2]}', name '${m[3]}').`, "properties.virtualMachineScaleSet.id");
  if (set.location !== location.toLowerCase()) {
    throw invalidParameter(`The scale set '${set.name}' is in location '${set.location}'; a virtual machine in it must be in that location, not '${location.toLowerCase()}'.`, "location");
  }
  const given = zones ?? [];
  if (set.zones.length > 0) {
    if (given.length !== 1 || !set.zones.includes(given[0])) throw invalidParameter(`The scale set '${set.name}' is zonal (zones ${set.zones.join(", ")}): a virtual machine in it names one of them in 'zones'.`, "zones");
    if (requested !== undefined) throw invalidParameter(`The scale set '${set.name}' is zonal: it has no fault domains to choose from.`, "properties.platformFaultDomain");
    return { faultDomain: null };
  }
  if (given.length > 0) throw invalidParameter(`The scale set '${set.name}' is regional: a virtual machine in it has no zone.`, "zones");
  if (requested !== undefined) {
    if (requested >= set.platformFaultDomainCount) {
      throw invalidParameter(`The scale set '${set.name}' has ${set.platformFaultDomainCount} fault domain(s): 'properties.platformFaultDomain' ${requested} is not one of them.`, "properties.platformFaultDomain");
    }
    return { faultDomain: requested };
  }
  const members = scaleSetMembers(store, set);
  const filled = Array.from({ length: set.platformFaultDomainCount }, (_, d) => members.filter((v) => v.faultDomain === d).length);
  return { faultDomain: filled.indexOf(Math.min(...filled)) };
}
