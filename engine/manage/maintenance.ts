/**
 * Customer-managed schedules, the operations the CLI (`hotpatch
 * schedule-config`) and the API (Microsoft.Maintenance) share: maintenance
 * configurations, their assignments and dynamic scopes, webhooks for their
 * events, and their runs (what ran, what comes next, cancelling one).
 *
 * Contracts:
 * - Every change is validated before anything is written and commits in one
 *   transaction; refusals are E_USAGE (bad input), E_UNKNOWN_VM, or
 *   E_UNKNOWN_SCHEDULE (no such configuration / assignment / scope / webhook /
 *   run), E_SCHEDULE (a run past its cancellation cut-off, or not Scheduled).
 * - Editing a configuration within 40 minutes of a run cancels that run
 *   (maintenance-runs.ts); the result lists the runs it cancelled.
 * - Deleting a configuration deletes its assignments, dynamic scopes, runs
 *   and the webhooks that name it (a configuration made again under its name
 *   starts with none). Deleting a VM deletes its assignments (store.ts).
 */
import { HotpatchError } from "../errors.ts";
import { iso } from "./clock.ts";
import { buildConfiguration, type ConfigurationName, type MaintenanceConfiguration, type MaintenanceConfigurationInput } from "./maintenance-config.ts";
import { cancelRunsForEdit, type MaintenanceRun, runOf } from "./maintenance-runs.ts";
import { type ConfigurationAssignment, type DynamicScope, machinesInScope, parseScopeFilter, type ScopeFilter } from "./maintenance-scope.ts";
import { configurationKey, maintenanceStore as ms } from "./maintenance-store.ts";
import { buildWebhook, type Webhook } from "./maintenance-webhooks.ts";
import { nextWindow as nextMaintenanceWindow, parseMaintenanceWindow } from "./maintenance-window.ts";
import type { Session } from "./session.ts";
import type { Store } from "./store.ts";
import { getVm, listVms } from "./vm.ts";

/** Creates or replaces a configuration at `now`. */
export function putConfiguration(session: Session, at: ConfigurationName, input: MaintenanceConfigurationInput, now: Date): { configuration: MaintenanceConfiguration; created: boolean; cancelledRuns: MaintenanceRun[] } {
  const { store } = session;
  const before = ms.configuration(store, at);
  const configuration = buildConfiguration(before === undefined ? at : { ...at, name: before.name }, input, iso(now), before?.createdAt);
  return store.tx(() => {
    ms.putConfiguration(store, configuration);
    const cancelledRuns = cancelRunsForEdit(session, before, configuration, now);
    return { configuration, created: before === undefined, cancelledRuns };
  });
}

export function getConfiguration(store: Store, at: ConfigurationName): MaintenanceConfiguration {
  const c = ms.configuration(store, at);
  if (c === undefined) throw new HotpatchError("E_UNKNOWN_SCHEDULE", `no maintenance configuration ${at.name} in resource group ${at.resourceGroup}`);
  return c;
}

export function listConfigurations(store: Store): MaintenanceConfiguration[] {
  return ms.configurations(store);
}

/** Deletes a configuration and what points at it (see the contract); E_UNKNOWN_SCHEDULE if there is none. */
export function deleteConfiguration(session: Session, at: ConfigurationName): void {
  const { store } = session;
  const c = getConfiguration(store, at);
  const key = configurationKey(c);
  store.tx(() => {
    for (const a of ms.assignments(store)) if (configurationKey(a.configuration) === key) ms.deleteAssignment(store, a);
    for (const s of ms.scopes(store)) if (configurationKey(s.configuration) === key) ms.deleteScope(store, s);
    for (const w of ms.webhooks(store)) if (w.configuration !== null && configurationKey(w.configuration) === key) ms.deleteWebhook(store, w.name);
    ms.deleteRuns(store, c);
    ms.deletePendingPosts(store, c);
    ms.deleteConfiguration(store, c);
  });
}

/** Assigns configuration `configuration` to VM `vm` under `name` (replacing an assignment of that name). */
export function assignConfiguration(session: Session, a: { vm: string; name: string; configuration: ConfigurationName }, now: Date): ConfigurationAssignment {
  const { store } = session;
  const vm = getVm(store, a.vm);
  const c = getConfiguration(store, a.configuration);
  checkName(a.name, "assignment");
  const assignment: ConfigurationAssignment = { name: a.name, vm: vm.name, configuration: { subscription: c.subscription, resourceGroup: c.resourceGroup, name: c.name }, createdAt: iso(now) };
  store.tx(() => ms.putAssignment(store, assignment));
  return assignment;
}

export function getAssignment(store: Store, vm: string, name: string): ConfigurationAssignment {
  const a = ms.assignment(store, vm, name);
  if (a === undefined) throw new HotpatchError("E_UNKNOWN_SCHEDULE", `VM ${vm} has no configuration assignment ${name}`);
  return a;
}

export function unassignConfiguration(session: Session, vm: string, name: string): void {
  const a = getAssignment(session.store, vm, name);
  session.store.tx(() => ms.deleteAssignment(session.store, a));
}

/** Assignments, optionally of one VM or of one configuration. */
export function listAssignments(store: Store, of: { vm?: string; configuration?: ConfigurationName } = {}): ConfigurationAssignment[] {
  const key = of.configuration === undefined ? undefined : configurationKey(of.configuration);
  return ms.assignments(store).filter((a) => (of.vm === undefined || a.vm.toLowerCase() === of.vm.toLowerCase()) && (key === undefined || configurationKey(a.configuration) === key));
}

/** Creates or replaces a dynamic scope of a subscription. */
export function putDynamicScope(
  session: Session,
  s: { subscription: string; name: string; configuration: ConfigurationName; filter: Partial<Record<keyof ScopeFilter, unknown>> },
  now: Date,
): DynamicScope {
  const { store } = session;
  const c = getConfiguration(store, s.configuration);
  checkName(s.name, "dynamic scope");
  const scope: DynamicScope = {
    name: s.name,
    subscription: s.subscription,
    configuration: { subscription: c.subscription, resourceGroup: c.resourceGroup, name: c.name },
    filter: parseScopeFilter(s.filter),
    createdAt: ms.scope(store, s.subscription, s.name)?.createdAt ?? iso(now),
  };
  store.tx(() => ms.putScope(store, scope));
  return scope;
}

export function getDynamicScope(store: Store, subscription: string, name: string): DynamicScope {
  const s = ms.scope(store, subscription, name);
  if (s === undefined) throw new HotpatchError("E_UNKNOWN_SCHEDULE", `no dynamic scope ${name} in subscription ${subscription}`);
  return s;
}

export function deleteDynamicScope(session: Session, subscription: string, name: string): void {
  const s = getDynamicScope(session.store, subscription, name);
  session.store.tx(() => ms.deleteScope(session.store, s));
}

export function listDynamicScopes(store: Store, configuration?: ConfigurationName): DynamicScope[] {
  const key = configuration === undefined ? undefined : configurationKey(configuration);
  return ms.scopes(store).filter((s) => key === undefined || configurationKey(s.configuration) === key);
}

/** The machines the configuration would patch if it ran now (dynamic scopes evaluated now). */
export function machinesOf(session: Session, at: ConfigurationName): ReturnType<typeof machinesInScope> {
  const c = getConfiguration(session.store, at);
  return machinesInScope(c, listVms(session.store), ms.assignments(session.store), ms.scopes(session.store), (vm) => session.placementOf(vm));
}

/** The configuration's runs so far (oldest first) and its next `count` windows from `now` with their state. */
export function runsOf(session: Session, at: ConfigurationName, now: Date, count = 3): { past: MaintenanceRun[]; upcoming: MaintenanceRun[] } {
  const c = getConfiguration(session.store, at);
  const parsed = parseMaintenanceWindow(c.maintenanceWindow);
  const upcoming: MaintenanceRun[] = [];
  let after = now;
  while (upcoming.length < count) {
    const w = nextMaintenanceWindow(parsed, after);
    if (w === undefined) break;
    upcoming.push(runOf(session, c, w));
    after = new Date(w.start.getTime() + 1);
  }
  const past = ms.runs(session.store, c).filter((r) => !upcoming.some((u) => u.name === r.name));
  return { past, upcoming };
}

export function putWebhook(session: Session, input: { name: string; url: string; eventTypes?: readonly string[]; configuration?: ConfigurationName | null }, now: Date): Webhook {
  const configuration = input.configuration == null ? null : getConfiguration(session.store, input.configuration);
  const webhook = buildWebhook(
    { ...input, configuration: configuration === null ? null : { subscription: configuration.subscription, resourceGroup: configuration.resourceGroup, name: configuration.name } },
    iso(now),
  );
  session.store.tx(() => ms.putWebhook(session.store, webhook));
  return webhook;
}

export function listWebhooks(store: Store): Webhook[] {
  return ms.webhooks(store);
}

export function deleteWebhook(session: Session, name: string): void {
  if (ms.webhook(session.store, name) === undefined) throw new HotpatchError("E_UNKNOWN_SCHEDULE", `no webhook named ${name}`);
  session.store.tx(() => ms.deleteWebhook(session.store, name));
}

function checkName(name: string, what: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new HotpatchError("E_USAGE", `"${name}" is not a ${what} name (a letter or digit, then letters, digits, '_', '.', '-'; at most 128)`);
}
