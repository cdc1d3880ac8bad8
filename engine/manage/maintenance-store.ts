/**
 * Where customer-managed schedules live: the store's `maintenance` table,
 * one kind per concept, keyed lowercased (ARM names are case-insensitive):
 * - "configuration": `subscription/group/name` → MaintenanceConfiguration;
 * - "assignment": `vm/name` → ConfigurationAssignment (one VM);
 * - "scope": `subscription/name` → DynamicScope (a subscription's filter);
 * - "run": `subscription/group/name/yyyyMMddHHmmss` (the window's start,
 *   UTC) → MaintenanceRun;
 * - "webhook": `name` → Webhook;
 * - "pendingPost": the run's key → its configuration and start, for every
 *   run that completed and has not sent its post-event yet (so one is never
 *   lost however far the clock moved meanwhile).
 * Writers call these inside their transaction; nothing else touches the table
 * (except Store.deleteVm, which drops a deleted VM's assignments with it).
 */
import type { ConfigurationName, MaintenanceConfiguration } from "./maintenance-config.ts";
import type { ConfigurationAssignment, DynamicScope } from "./maintenance-scope.ts";
import type { MaintenanceRun } from "./maintenance-runs.ts";
import type { Webhook } from "./maintenance-webhooks.ts";
import type { Store } from "./store.ts";

const CONFIGURATION = "configuration";
const ASSIGNMENT = "assignment";
const SCOPE = "scope";
const RUN = "run";
const WEBHOOK = "webhook";
const PENDING_POST = "pendingPost";

export const configurationKey = (c: ConfigurationName) => `${c.subscription}/${c.resourceGroup}/${c.name}`.toLowerCase();

/** A run's name: its window's start in UTC as yyyyMMddHHmmss (the name Azure's applyUpdates use for a schedule's run). */
export function runName(start: Date): string {
  return start.toISOString().slice(0, 19).replace(/[-T:]/g, "");
}

export const maintenanceStore = {
  configuration: (store: Store, c: ConfigurationName) => store.maintenanceDoc<MaintenanceConfiguration>(CONFIGURATION, configurationKey(c)),
  configurations: (store: Store) => store.maintenanceDocs<MaintenanceConfiguration>(CONFIGURATION),
  putConfiguration: (store: Store, c: MaintenanceConfiguration) => store.putMaintenanceDoc(CONFIGURATION, configurationKey(c), c),
  deleteConfiguration: (store: Store, c: ConfigurationName) => store.deleteMaintenanceDoc(CONFIGURATION, configurationKey(c)),

  assignment: (store: Store, vm: string, name: string) => store.maintenanceDoc<ConfigurationAssignment>(ASSIGNMENT, `${vm}/${name}`.toLowerCase()),
  assignments: (store: Store) => store.maintenanceDocs<ConfigurationAssignment>(ASSIGNMENT),
  putAssignment: (store: Store, a: ConfigurationAssignment) => store.putMaintenanceDoc(ASSIGNMENT, `${a.vm}/${a.name}`.toLowerCase(), a),
  deleteAssignment: (store: Store, a: { vm: string; name: string }) => store.deleteMaintenanceDoc(ASSIGNMENT, `${a.vm}/${a.name}`.toLowerCase()),

  scope: (store: Store, subscription: string, name: string) => store.maintenanceDoc<DynamicScope>(SCOPE, `${subscription}/${name}`.toLowerCase()),
  scopes: (store: Store) => store.maintenanceDocs<DynamicScope>(SCOPE),
  putScope: (store: Store, s: DynamicScope) => store.putMaintenanceDoc(SCOPE, `${s.subscription}/${s.name}`.toLowerCase(), s),
  deleteScope: (store: Store, s: { subscription: string; name: string }) => store.deleteMaintenanceDoc(SCOPE, `${s.subscription}/${s.name}`.toLowerCase()),

  run: (store: Store, c: ConfigurationName, start: Date) => store.maintenanceDoc<MaintenanceRun>(RUN, `${configurationKey(c)}/${runName(start)}`),
  /** A configuration's runs, oldest first. */
  runs: (store: Store, c: ConfigurationName) => store.maintenanceDocs<MaintenanceRun>(RUN, `${configurationKey(c)}/`),
  putRun: (store: Store, c: ConfigurationName, run: MaintenanceRun) => store.putMaintenanceDoc(RUN, `${configurationKey(c)}/${runName(new Date(run.start))}`, run),
  deleteRuns: (store: Store, c: ConfigurationName) => store.deleteMaintenanceDocs(RUN, `${configurationKey(c)}/`),

  /** The runs whose post-event is still to be sent, of one configuration. */
  pendingPosts: (store: Store, c: ConfigurationName) => store.maintenanceDocs<{ start: string }>(PENDING_POST, `${configurationKey(c)}/`),
  putPendingPost: (store: Store, c: ConfigurationName, start: Date) => store.putMaintenanceDoc(PENDING_POST, `${configurationKey(c)}/${runName(start)}`, { start: start.toISOString() }),
  deletePendingPost: (store: Store, c: ConfigurationName, start: Date) => store.deleteMaintenanceDoc(PENDING_POST, `${configurationKey(c)}/${runName(start)}`),
  deletePendingPosts: (store: Store, c: ConfigurationName) => store.deleteMaintenanceDocs(PENDING_POST, `${configurationKey(c)}/`),

  webhook: (store: Store, name: string) => store.maintenanceDoc<Webhook>(WEBHOOK, name.toLowerCase()),
  webhooks: (store: Store) => store.maintenanceDocs<Webhook>(WEBHOOK),
  putWebhook: (store: Store, w: Webhook) => store.putMaintenanceDoc(WEBHOOK, w.name.toLowerCase(), w),
  deleteWebhook: (store: Store, name: string) => store.deleteMaintenanceDoc(WEBHOOK, name.toLowerCase()),
};
