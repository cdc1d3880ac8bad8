/**
 * The fleet's VMs, placed: each in a region and a zone, or an availability
 * set with an update and a fault domain, or standalone; a member of a
 * Flexible scale set is in a zone or (regional) in one of its fault domains.
 * Names are given, or `<set, scale set or region>-<n>` numbered from 1 per
 * prefix in spec order. As Azure does, a set's VMs are spread over its
 * domains round-robin in creation order: VM i gets update domain
 * i mod updateDomains and fault domain i mod faultDomains (a regional scale
 * set: fault domain i mod faultDomains). A name used twice is refused (E_USAGE).
 */
import { HotpatchError } from "../errors.ts";
import type { FleetSpec } from "./spec.ts";

export interface FleetVm {
  name: string;
  region: string;
  zone: string | null;
  availabilitySet: string | null;
  /** The Flexible scale set the VM is in (absent in states stored before scale sets: read as null). */
  scaleSet?: string | null;
  updateDomain: number | null;
  faultDomain: number | null;
  timezone: string;
}

export function placeFleet(spec: FleetSpec): FleetVm[] {
  const numbers = new Map<string, number>();
  const vms: FleetVm[] = [];
  for (const group of spec.groups) {
    const prefix = group.availabilitySet ?? group.scaleSet ?? group.region;
    for (let i = 0; i < group.count; i++) {
      const n = (numbers.get(prefix) ?? 0) + 1;
      numbers.set(prefix, n);
      const inSet = group.availabilitySet !== undefined;
      const inRegionalScaleSet = group.scaleSet !== undefined && group.zone === undefined;
      vms.push({
        name: group.names?.[i] ?? `${prefix}-${n}`,
        region: group.region,
        zone: group.zone ?? null,
        availabilitySet: group.availabilitySet ?? null,
        scaleSet: group.scaleSet ?? null,
        updateDomain: inSet ? i % group.updateDomains : null,
        faultDomain: inSet || inRegionalScaleSet ? i % group.faultDomains : null,
        timezone: group.timezone,
      });
    }
  }
  const seen = new Set<string>();
  for (const vm of vms) {
    if (seen.has(vm.name)) throw new HotpatchError("E_USAGE", `fleet spec: the VM name "${vm.name}" is used twice (given names must differ from each other and from the generated <set or region>-<n>)`);
    seen.add(vm.name);
  }
  return vms;
}
