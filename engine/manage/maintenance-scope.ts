/**
 * Which machines a maintenance configuration patches: its assignments (one
 * VM each) and its dynamic scopes (a subscription's filter, evaluated when
 * the schedule runs, so a VM created or re-tagged after the scope was made
 * is in the next run).
 *
 * Contracts:
 * - A VM's ARM placement (subscription, group, location, tags, resource
 *   type) comes from the session's `placement` (the API layer keeps it;
 *   without one every VM sits in DEFAULT_PLACEMENT with no tags).
 * - A dynamic scope filter: every criterion given must match (AND); within
 *   one criterion any listed value matches (OR). resourceGroups, locations
 *   (spaces and case ignored: "East US" = "eastus"), osTypes ("Windows" |
 *   "Linux"; every emulated machine runs Windows) and resourceTypes
 *   ("Microsoft.Compute/virtualMachines" | "Microsoft.HybridCompute/machines")
 *   compare case-insensitively. tagSettings.tags maps a tag name to accepted
 *   values (an empty list accepts any value); filterOperator Any (default)
 *   needs one tag to match, All needs every tag. A filter with no criterion
 *   is refused (it would patch a whole subscription by accident).
 * - Limits, as Azure's: at most MAX_SCOPE_MACHINES machines per dynamic
 *   scope and MAX_SCHEDULE_MACHINES per schedule run; machines beyond them
 *   (in name order) are not patched and the run says so.
 * - A VM both assigned and in a scope is patched once (its assignment wins,
 *   and it does not count against the scope's limit).
 */
import { HotpatchError } from "../errors.ts";
import { type ConfigurationName, DEFAULT_PLACEMENT } from "./maintenance-config.ts";
import { configurationKey } from "./maintenance-store.ts";
import type { VmRecord } from "./vm.ts";

export const MAX_SCOPE_MACHINES = 1000;
export const MAX_SCHEDULE_MACHINES = 3000;

export const RESOURCE_TYPES = ["Microsoft.Compute/virtualMachines", "Microsoft.HybridCompute/machines"] as const;
export const OS_TYPES = ["Windows", "Linux"] as const;

export interface VmPlacement {
  subscription: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  resourceType: (typeof RESOURCE_TYPES)[number];
}

/** The placement of a VM that has no ARM document (or of every VM, without an API layer). */
export function defaultPlacement(vm: VmRecord): VmPlacement {
  const resourceType = (vm.host as string) === "arc" ? "Microsoft.HybridCompute/machines" : "Microsoft.Compute/virtualMachines";
  return { ...DEFAULT_PLACEMENT, tags: {}, resourceType };
}

export interface ConfigurationAssignment {
  name: string;
  vm: string;
  configuration: ConfigurationName;
  createdAt: string;
}

export interface ScopeFilter {
  resourceTypes: string[];
  resourceGroups: string[];
  locations: string[];
  osTypes: string[];
  tagSettings: { tags: Record<string, string[]>; filterOperator: "Any" | "All" } | null;
}

export interface DynamicScope {
  name: string;
  subscription: string;
  configuration: ConfigurationName;
  filter: ScopeFilter;
  createdAt: string;
}

/** Validates a filter as given (the ARM body's `properties.filter`); E_USAGE naming the field. */
export function parseScopeFilter(input: Partial<Record<keyof ScopeFilter, unknown>>): ScopeFilter {
  const list = (key: "resourceTypes" | "resourceGroups" | "locations" | "osTypes", allowed?: readonly string[]) => {
    const value = input[key] ?? [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v.trim() === "")) {
      throw new HotpatchError("E_USAGE", `filter.${key} must be a list of non-empty strings`);
    }
    return (value as string[]).map((v) => {
      if (allowed === undefined) return v;
      const found = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
      if (found === undefined) throw new HotpatchError("E_USAGE", `filter.${key}: "${v}" is not one of ${allowed.join(", ")}`);
      return found;
    });
  };
  const filter: ScopeFilter = {
    resourceTypes: list("resourceTypes", RESOURCE_TYPES),
    resourceGroups: list("resourceGroups"),
    locations: list("locations"),
    osTypes: list("osTypes", OS_TYPES),
    tagSettings: parseTagSettings(input.tagSettings),
  };
  const given = filter.resourceTypes.length + filter.resourceGroups.length + filter.locations.length + filter.osTypes.length + (filter.tagSettings === null ? 0 : 1);
  if (given === 0) throw new HotpatchError("E_USAGE", "the dynamic scope's filter names no criterion (resourceGroups, locations, osTypes, resourceTypes or tagSettings)");
  return filter;
}

function parseTagSettings(input: unknown): ScopeFilter["tagSettings"] {
  if (input === undefined || input === null) return null;
  const settings = input as { tags?: unknown; filterOperator?: unknown };
  if (typeof settings !== "object" || typeof settings.tags !== "object" || settings.tags === null || Array.isArray(settings.tags)) {
    throw new HotpatchError("E_USAGE", "filter.tagSettings.tags must be an object of tag names to lists of values");
  }
  const tags: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(settings.tags as Record<string, unknown>)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) throw new HotpatchError("E_USAGE", `filter.tagSettings.tags.${key} must be a list of strings`);
    tags[key] = values as string[];
  }
  if (Object.keys(tags).length === 0) throw new HotpatchError("E_USAGE", "filter.tagSettings.tags names no tag");
  const operator = settings.filterOperator ?? "Any";
  if (operator !== "Any" && operator !== "All") throw new HotpatchError("E_USAGE", `filter.tagSettings.filterOperator "${String(operator)}" is not Any or All`);
  return { tags, filterOperator: operator };
}

/** Whether a VM placed at `p` matches the filter (see the contract above). */
export function matchesFilter(filter: ScopeFilter, p: VmPlacement): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const place = (s: string) => s.replace(/\s+/g, "").toLowerCase();
  if (filter.resourceTypes.length > 0 && !filter.resourceTypes.some((t) => same(t, p.resourceType))) return false;
  if (filter.resourceGroups.length > 0 && !filter.resourceGroups.some((g) => same(g, p.resourceGroup))) return false;
  if (filter.locations.length > 0 && !filter.locations.some((l) => place(l) === place(p.location))) return false;
  if (filter.osTypes.length > 0 && !filter.osTypes.includes("Windows")) return false;
  if (filter.tagSettings !== null) {
    const matches = Object.entries(filter.tagSettings.tags).map(([key, values]) => {
      const actual = Object.entries(p.tags).find(([k]) => same(k, key))?.[1];
      return actual !== undefined && (values.length === 0 || values.includes(actual));
    });
    if (filter.tagSettings.filterOperator === "All" ? !matches.every(Boolean) : !matches.some(Boolean)) return false;
  }
  return true;
}

export interface ScopedMachine {
  vm: string;
  /** "assignment NAME" or "dynamic scope NAME". */
  via: string;
}

/** The machines a configuration patches now, and those its limits leave out. */
export function machinesInScope(
  c: ConfigurationName,
  vms: readonly VmRecord[],
  assignments: readonly ConfigurationAssignment[],
  scopes: readonly DynamicScope[],
  placementOf: (vm: VmRecord) => VmPlacement,
): { machines: ScopedMachine[]; leftOut: { vm: string; reason: string }[] } {
  const key = configurationKey(c);
  const byName = new Map(vms.map((vm) => [vm.name, vm]));
  const chosen = new Map<string, string>();
  const leftOut: { vm: string; reason: string }[] = [];
  for (const a of assignments) if (configurationKey(a.configuration) === key && byName.has(a.vm) && !chosen.has(a.vm)) chosen.set(a.vm, `assignment ${a.name}`);
  for (const s of scopes.filter((s) => configurationKey(s.configuration) === key)) {
    // The scope's own machines: those it matches that no assignment or earlier scope chose.
    const matching = vms.filter((vm) => {
      const p = placementOf(vm);
      return !chosen.has(vm.name) && p.subscription.toLowerCase() === s.subscription.toLowerCase() && matchesFilter(s.filter, p);
    });
    matching.forEach((vm, i) => {
      if (i >= MAX_SCOPE_MACHINES) leftOut.push({ vm: vm.name, reason: `dynamic scope ${s.name} matches more than ${MAX_SCOPE_MACHINES} machines` });
      else chosen.set(vm.name, `dynamic scope ${s.name}`);
    });
  }
  const machines = [...chosen].map(([vm, via]) => ({ vm, via })).sort((a, b) => (a.vm < b.vm ? -1 : 1));
  const kept = machines.slice(0, MAX_SCHEDULE_MACHINES);
  for (const m of machines.slice(MAX_SCHEDULE_MACHINES)) leftOut.push({ vm: m.vm, reason: `the schedule has more than ${MAX_SCHEDULE_MACHINES} machines` });
  // A machine one scope's limit left out may still come in through a later scope; each is listed once.
  const patched = new Set(kept.map((m) => m.vm));
  const listed = new Set<string>();
  const out = leftOut.filter((l) => !patched.has(l.vm) && !listed.has(l.vm) && listed.add(l.vm));
  return { machines: kept, leftOut: out };
}
