/**
 * The ARM side of the state: subscriptions' resource groups, and where each
 * VM of the management plane sits in ARM (subscription, group, location,
 * zones, tags and the settings ARM has but the management plane does not).
 *
 * Contracts:
 * - Documents live in the store's `resources` table (kinds "resourceGroup"
 *   and "vmArm"); the management plane never reads them.
 * - Resource group names are case-insensitive (keyed lowercased, shown as
 *   created). A subscription is any id a client names; nothing creates one.
 * - VM names are unique in a state file, across groups: the management plane
 *   knows a VM by its name (a PUT of a name that another group holds is a
 *   409 Conflict naming that group).
 * - A VM created by the CLI has no ARM document: it is shown in the default
 *   subscription's group DEFAULT_GROUP (created when first needed), so a
 *   state made with the CLI is visible through the API.
 */
import { createHash } from "node:crypto";
import { DEFAULT_PLACEMENT, defaultPlacement, type Store, type VmPlacement, type VmRecord } from "../manage/index.ts";

export const DEFAULT_SUBSCRIPTION = DEFAULT_PLACEMENT.subscription;
export const DEFAULT_GROUP = DEFAULT_PLACEMENT.resourceGroup;
export const DEFAULT_LOCATION = DEFAULT_PLACEMENT.location;

export interface ResourceGroupDoc {
  subscription: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  createdAt: string;
}

/** A VM's ARM placement and the ARM settings the management plane does not keep. */
export interface VmArmDoc {
  vm: string;
  subscription: string;
  resourceGroup: string;
  location: string;
  zones: string[];
  tags: Record<string, string>;
  vmId: string;
  timeCreated: string;
  computerName: string;
  adminUsername?: string;
  provisionVMAgent: boolean;
  enableAutomaticUpdates: boolean;
  assessmentMode: "ImageDefault" | "AutomaticByPlatform";
  rebootSetting: "Unknown" | "IfRequired" | "Never" | "Always";
  bypassPlatformSafetyChecksOnUserSchedule: boolean;
  vmSize: string;
  availabilitySet: string | null;
  /** In an availability set: the VM's update and fault domain (availability-sets.ts); absent or null otherwise. */
  updateDomain?: number | null;
  faultDomain?: number | null;
  /** In a Flexible scale set (scale-sets.ts): its id; absent or null otherwise. Its fault domain is `faultDomain`. */
  virtualMachineScaleSet?: string | null;
}

/** A resource that lives in a resource group (availability sets, scale sets). */
export interface GroupResource {
  subscription: string;
  resourceGroup: string;
  name: string;
}

/** Documents of one resource type in the store's `resources` table, keyed `subscription/group/name` lowercased (ARM names are case-insensitive). */
export class GroupResources<T extends GroupResource> {
  constructor(private readonly kind: string) {}

  private key(subscription: string, group: string, name: string): string {
    return `${subscription}/${group}/${name}`.toLowerCase();
  }

  get(store: Store, subscription: string, group: string, name: string): T | undefined {
    return store.resource<T>(this.kind, this.key(subscription, group, name));
  }

  list(store: Store): T[] {
    return store.resources<T>(this.kind);
  }

  put(store: Store, doc: T): void {
    store.putResource(this.kind, this.key(doc.subscription, doc.resourceGroup, doc.name), doc);
  }

  delete(store: Store, doc: T): void {
    store.deleteResource(this.kind, this.key(doc.subscription, doc.resourceGroup, doc.name));
  }
}

const GROUP = "resourceGroup";
const VM = "vmArm";

const groupKey = (subscription: string, name: string) => `${subscription.toLowerCase()}/${name.toLowerCase()}`;

export function getGroup(store: Store, subscription: string, name: string): ResourceGroupDoc | undefined {
  return store.resource<ResourceGroupDoc>(GROUP, groupKey(subscription, name));
}

export function listGroups(store: Store, subscription: string): ResourceGroupDoc[] {
  return store.resources<ResourceGroupDoc>(GROUP).filter((g) => g.subscription.toLowerCase() === subscription.toLowerCase());
}

export function putGroup(store: Store, group: ResourceGroupDoc): void {
  store.putResource(GROUP, groupKey(group.subscription, group.name), group);
}

export function deleteGroupDoc(store: Store, subscription: string, name: string): void {
  store.deleteResource(GROUP, groupKey(subscription, name));
}

export function getVmArm(store: Store, vm: string): VmArmDoc | undefined {
  return store.resource<VmArmDoc>(VM, vm.toLowerCase());
}

/** Every VM's ARM document, by name. */
export function listVmArm(store: Store): VmArmDoc[] {
  return store.resources<VmArmDoc>(VM);
}

export function putVmArm(store: Store, doc: VmArmDoc): void {
  store.putResource(VM, doc.vm.toLowerCase(), doc);
}

export function deleteVmArm(store: Store, vm: string): void {
  store.deleteResource(VM, vm.toLowerCase());
}

/** True when the VM's ARM document places it in this subscription and group. */
export function inGroup(doc: VmArmDoc, subscription: string, group: string): boolean {
  return doc.subscription.toLowerCase() === subscription.toLowerCase() && doc.resourceGroup.toLowerCase() === group.toLowerCase();
}

/** A VM's ARM document with the defaults ARM would have given it. */
export function defaultVmArm(vm: VmRecord, placement: { subscription: string; resourceGroup: string; location: string }): VmArmDoc {
  return {
    vm: vm.name,
    ...placement,
    zones: [],
    tags: {},
    vmId: vmIdOf(placement.subscription, vm.name),
    timeCreated: vm.createdAt,
    computerName: vm.name.slice(0, 15),
    provisionVMAgent: true,
    enableAutomaticUpdates: true,
    assessmentMode: "ImageDefault",
    rebootSetting: "IfRequired",
    bypassPlatformSafetyChecksOnUserSchedule: false,
    vmSize: "Standard_D2s_v5",
    availabilitySet: null,
    updateDomain: null,
    faultDomain: null,
    virtualMachineScaleSet: null,
  };
}

/** Gives every VM without an ARM document (made with the CLI) one in DEFAULT_GROUP; returns how many. */
export function adoptCliVms(store: Store, vms: readonly VmRecord[], now: Date): number {
  const orphans = vms.filter((vm) => getVmArm(store, vm.name) === undefined);
  if (orphans.length === 0) return 0;
  store.tx(() => {
    if (getGroup(store, DEFAULT_SUBSCRIPTION, DEFAULT_GROUP) === undefined) {
      putGroup(store, { subscription: DEFAULT_SUBSCRIPTION, name: DEFAULT_GROUP, location: DEFAULT_LOCATION, tags: {}, createdAt: now.toISOString() });
    }
    for (const vm of orphans) putVmArm(store, defaultVmArm(vm, { subscription: DEFAULT_SUBSCRIPTION, resourceGroup: DEFAULT_GROUP, location: DEFAULT_LOCATION }));
  });
  return orphans.length;
}

/** A stable vmId (a UUID's shape) for a VM of a subscription. */
export function vmIdOf(subscription: string, vm: string): string {
  const h = createHash("sha256").update(`${subscription.toLowerCase()}/${vm.toLowerCase()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Where each VM sits, read from its ARM document when it has one (for the dynamic scopes of maintenance configurations). */
export function armPlacement(store: Store): (vm: VmRecord) => VmPlacement {
  return (vm) => {
    const doc = getVmArm(store, vm.name);
    const fallback = defaultPlacement(vm);
    return doc === undefined ? fallback : { ...fallback, subscription: doc.subscription, resourceGroup: doc.resourceGroup, location: doc.location, tags: doc.tags };
  };
}
