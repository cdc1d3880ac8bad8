/**
 * `hotpatch schedule-config …`: customer-managed schedules (Azure Update
 * Manager's maintenance configurations) over the state file:
 * create (or replace) | list | show | delete | assign | unassign | scope |
 * unscope | webhook | unwebhook | cancel. The CLI's configurations, scopes
 * and webhooks live in the default subscription and resource group
 * ("hotpatch"), where the API shows them too (docs/maintenance.md).
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import {
  assignConfiguration,
  cancelRun,
  DEFAULT_PLACEMENT,
  deleteConfiguration,
  deleteDynamicScope,
  deleteWebhook,
  formatWindowSummary,
  getConfiguration,
  listAssignments,
  listConfigurations,
  listDynamicScopes,
  type MaintenanceConfiguration,
  type MaintenanceRun,
  machinesOf,
  parseMaintenanceWindow,
  putConfiguration,
  putDynamicScope,
  putWebhook,
  runsOf,
  setClock,
  unassignConfiguration,
} from "../manage/index.ts";
import { listOption, type ManageOptions, stateOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

interface CreateOptions extends ManageOptions {
  start: string;
  duration: string;
  timeZone: string;
  recur: string;
  expiration?: string;
  reboot?: string;
  classifications?: string[];
  include?: string[];
  exclude?: string[];
  excludeRebootRequiring?: boolean;
  location?: string;
}

type Exit = (code: number) => void;

const at = (name: string) => ({ subscription: DEFAULT_PLACEMENT.subscription, resourceGroup: DEFAULT_PLACEMENT.resourceGroup, name });

export function registerScheduleConfig(program: Command, setExit: Exit): void {
  const group = program.command("schedule-config").description("customer-managed schedules: maintenance configurations, assignments, dynamic scopes, pre/post-event webhooks");
  registerCreate(group, setExit);
  registerReadOnly(group, setExit);
  registerDelete(group, setExit);
  registerAssign(group, setExit);
  registerScope(group, setExit);
  registerWebhook(group, setExit);
  registerCancel(group, setExit);
}

function registerCreate(group: Command, setExit: Exit): void {
  const command = group
    .command("create")
    .description("create or replace a maintenance configuration (InGuestPatch, User mode)")
    .argument("<name>", "the configuration's name")
    .requiredOption("--start <yyyy-MM-dd HH:mm>", "first window's start, local time in --time-zone")
    .requiredOption("--duration <HH:mm>", "window length, at most 03:55")
    .requiredOption("--time-zone <Windows zone>", 'a Windows time-zone name, e.g. "Pacific Standard Time"')
    .requiredOption("--recur <recurEvery>", 'e.g. "Day", "3Days", "Week Saturday,Sunday", "Month day23,day24", "Month Last Sunday Offset-3"')
    .option("--expiration <yyyy-MM-dd HH:mm>", "no window starts at or after this local time")
    .option("--reboot <setting>", "IfRequired (default) | Never | Always")
    .option("--classifications <list>", "classifications to install (default Critical,Security)", listOption)
    .option("--include <KB>", "KBs to install whatever their classification (repeatable or comma-separated)", listOption)
    .option("--exclude <KB>", "KBs never to install (repeatable or comma-separated)", listOption)
    .option("--exclude-reboot-requiring", "leave out every update that needs a reboot")
    .option("--location <region>", "the configuration's location (default eastus)");
  timedStateOptions(command).action(
    guarded(setExit, (name: string, o: CreateOptions) =>
      withSession(o, (session, now) => {
        const result = session.store.tx(() => {
          const r = putConfiguration(
            session,
            at(name),
            {
              location: o.location,
              maintenanceWindow: { startDateTime: o.start, duration: o.duration, timeZone: o.timeZone, recurEvery: o.recur, expirationDateTime: o.expiration ?? null },
              installPatches: {
                rebootSetting: o.reboot,
                windowsParameters: { classificationsToInclude: o.classifications, kbNumbersToInclude: o.include, kbNumbersToExclude: o.exclude, excludeKbsRequiringReboot: o.excludeRebootRequiring === true },
              },
            },
            now,
          );
          setClock(session.store, now);
          return r;
        });
        if (o.json) printJson(result);
        else {
          say(o, `${result.created ? "created" : "updated"} ${describe(result.configuration)}`);
          for (const run of result.cancelledRuns) say(o, `  cancelled run ${run.name} (${run.start}): ${run.cancelled?.reason}`);
        }
        return 0;
      }),
    ),
  );
}

function registerReadOnly(group: Command, setExit: Exit): void {
  stateOptions(group.command("list").description("list the maintenance configurations")).action(
    guarded(setExit, (o: ManageOptions) =>
      withSession(o, (session) => {
        const all = listConfigurations(session.store);
        if (o.json) printJson({ configurations: all });
        else for (const c of all) say(o, describe(c));
        return 0;
      }),
    ),
  );
  timedStateOptions(group.command("show").description("a configuration: its machines now, its next windows and its runs").argument("<name>", "the configuration's name"))
    .option("--next <n>", "how many upcoming windows to show", "3")
    .action(
      guarded(setExit, (name: string, o: ManageOptions & { next: string }) =>
        withSession(o, (session, now) => {
          const c = getConfiguration(session.store, at(name));
          const view = {
            configuration: c,
            assignments: listAssignments(session.store, { configuration: c }),
            dynamicScopes: listDynamicScopes(session.store, c),
            machinesNow: machinesOf(session, c),
            runs: runsOf(session, c, now, Number(o.next)),
          };
          if (o.json) printJson(view);
          else printShow(o, view);
          return 0;
        }),
      ),
    );
}

function printShow(o: ManageOptions, view: { configuration: MaintenanceConfiguration; machinesNow: ReturnType<typeof machinesOf>; runs: ReturnType<typeof runsOf> }): void {
  say(o, describe(view.configuration));
  const p = view.configuration.installPatches;
  say(o, `  installs ${p.classificationsToInclude.join(", ")}; reboot ${p.rebootSetting}${p.kbNumbersToInclude.length > 0 ? `; include ${p.kbNumbersToInclude.join(", ")}` : ""}${p.kbNumbersToExclude.length > 0 ? `; exclude ${p.kbNumbersToExclude.join(", ")}` : ""}`);
  say(o, `  machines now: ${view.machinesNow.machines.map((m) => `${m.vm} (${m.via})`).join(", ") || "none"}`);
  for (const l of view.machinesNow.leftOut) say(o, `  left out: ${l.vm}: ${l.reason}`);
  for (const run of view.runs.past) say(o, `  run ${runLine(run)}`);
  for (const run of view.runs.upcoming) say(o, `  next ${runLine(run)}`);
}

function runLine(run: MaintenanceRun): string {
  const machines = run.machines.map((m) => `${m.vm} ${m.outcome}`).join(", ");
  const extra = run.cancelled !== null ? ` (${run.cancelled.reason})` : machines === "" ? "" : `: ${machines}`;
  return `${run.name} ${run.start} → ${run.end} ${run.status}${extra}`;
}

function describe(c: MaintenanceConfiguration): string {
  return `${c.name}: ${formatWindowSummary(parseMaintenanceWindow(c.maintenanceWindow))}`;
}

function registerDelete(group: Command, setExit: Exit): void {
  stateOptions(group.command("delete").description("delete a configuration with its assignments, scopes and webhooks").argument("<name>", "the configuration's name")).action(
    guarded(setExit, (name: string, o: ManageOptions) =>
      withSession(o, (session) => {
        deleteConfiguration(session, at(name));
        say(o, `deleted ${name}`);
        if (o.json) printJson({ deleted: name });
        return 0;
      }),
    ),
  );
}

function registerAssign(group: Command, setExit: Exit): void {
  /** What assign and unassign both take: the configuration, the VM and the assignment's name. */
  const assignment = (command: Command) =>
    command.argument("<name>", "the configuration's name").requiredOption("--vm <vm>", "the VM").option("--assignment <name>", "the assignment's name (default: the configuration's)");
  const assign = assignment(group.command("assign").description("assign the configuration to a VM"));
  timedStateOptions(assign).action(
    guarded(setExit, (name: string, o: ManageOptions & { vm: string; assignment?: string }) =>
      withSession(o, (session, now) => {
        const a = assignConfiguration(session, { vm: o.vm, name: o.assignment ?? name, configuration: at(name) }, now);
        if (o.json) printJson(a);
        else say(o, `assigned ${name} to ${a.vm} (assignment ${a.name})`);
        return 0;
      }),
    ),
  );
  const unassign = assignment(group.command("unassign").description("remove a VM's assignment"));
  stateOptions(unassign).action(
    guarded(setExit, (name: string, o: ManageOptions & { vm: string; assignment?: string }) =>
      withSession(o, (session) => {
        unassignConfiguration(session, o.vm, o.assignment ?? name);
        say(o, `removed assignment ${o.assignment ?? name} from ${o.vm}`);
        if (o.json) printJson({ removed: o.assignment ?? name, vm: o.vm });
        return 0;
      }),
    ),
  );
}

interface ScopeOptions extends ManageOptions {
  scope?: string;
  resourceGroups?: string[];
  locations?: string[];
  osTypes?: string[];
  resourceTypes?: string[];
  tag?: string[];
  tagOperator?: string;
}

function registerScope(group: Command, setExit: Exit): void {
  const scope = group
    .command("scope")
    .description("create or replace a dynamic scope: a filter evaluated each time the schedule runs")
    .argument("<name>", "the configuration's name")
    .option("--scope <name>", "the scope's name (default: the configuration's)")
    .option("--resource-groups <list>", "resource groups (comma-separated)", listOption)
    .option("--locations <list>", "locations", listOption)
    .option("--os-types <list>", "Windows | Linux", listOption)
    .option("--resource-types <list>", "Microsoft.Compute/virtualMachines | Microsoft.HybridCompute/machines", listOption)
    .option("--tag <name=v1|v2>", "a tag and its accepted values (repeatable; no value: any)", (v: string, p: string[] = []) => [...p, v])
    .option("--tag-operator <op>", "Any (default) | All");
  timedStateOptions(scope).action(
    guarded(setExit, (name: string, o: ScopeOptions) =>
      withSession(o, (session, now) => {
        const tags = o.tag === undefined ? undefined : { tags: Object.fromEntries(o.tag.map(parseTag)), filterOperator: o.tagOperator ?? "Any" };
        const s = putDynamicScope(
          session,
          { subscription: DEFAULT_PLACEMENT.subscription, name: o.scope ?? name, configuration: at(name), filter: { resourceGroups: o.resourceGroups, locations: o.locations, osTypes: o.osTypes, resourceTypes: o.resourceTypes, tagSettings: tags } },
          now,
        );
        if (o.json) printJson(s);
        else say(o, `dynamic scope ${s.name} of ${name}: ${JSON.stringify(s.filter)}`);
        return 0;
      }),
    ),
  );
  stateOptions(group.command("unscope").description("delete a dynamic scope").argument("<scope>", "the scope's name")).action(
    guarded(setExit, (name: string, o: ManageOptions) =>
      withSession(o, (session) => {
        deleteDynamicScope(session, DEFAULT_PLACEMENT.subscription, name);
        say(o, `deleted dynamic scope ${name}`);
        if (o.json) printJson({ deleted: name });
        return 0;
      }),
    ),
  );
}

function parseTag(text: string): [string, string[]] {
  const [key, values = ""] = text.split("=", 2);
  if (key.trim() === "") throw new HotpatchError("E_USAGE", `--tag takes name=value1|value2, not "${text}"`);
  return [key.trim(), values === "" ? [] : values.split("|")];
}

function registerWebhook(group: Command, setExit: Exit): void {
  const webhook = group
    .command("webhook")
    .description("send pre/post-maintenance events to a URL (Event Grid's event schema)")
    .argument("<webhook>", "the webhook's name")
    .requiredOption("--url <url>", "http(s) URL to POST events to")
    .option("--config <name>", "only this configuration's events (default: every configuration's)")
    .option("--events <list>", "PreMaintenanceEvent, PostMaintenanceEvent (default both)", listOption);
  timedStateOptions(webhook).action(
    guarded(setExit, (name: string, o: ManageOptions & { url: string; config?: string; events?: string[] }) =>
      withSession(o, (session, now) => {
        const w = putWebhook(session, { name, url: o.url, eventTypes: o.events, configuration: o.config === undefined ? null : at(o.config) }, now);
        if (o.json) printJson(w);
        else say(o, `webhook ${w.name}: ${w.eventTypes.join(", ")} of ${w.configuration?.name ?? "every configuration"} → ${w.url}`);
        return 0;
      }),
    ),
  );
  stateOptions(group.command("unwebhook").description("delete a webhook").argument("<webhook>", "the webhook's name")).action(
    guarded(setExit, (name: string, o: ManageOptions) =>
      withSession(o, (session) => {
        deleteWebhook(session, name);
        say(o, `deleted webhook ${name}`);
        if (o.json) printJson({ deleted: name });
        return 0;
      }),
    ),
  );
}

function registerCancel(group: Command, setExit: Exit): void {
  const cancel = group.command("cancel").description("cancel a scheduled run (until 10 minutes before its start)").argument("<name>", "the configuration's name").requiredOption("--run <yyyyMMddHHmmss>", "the run: its window's start in UTC");
  timedStateOptions(cancel).action(
    guarded(setExit, (name: string, o: ManageOptions & { run: string }) =>
      withSession(o, (session, now) => {
        const run = session.store.tx(() => {
          const r = cancelRun(session, getConfiguration(session.store, at(name)), o.run, now);
          setClock(session.store, now);
          return r;
        });
        if (o.json) printJson(run);
        else say(o, `run ${run.name} of ${name} (${run.start}) is ${run.status}${run.cancelled === null ? "" : ` since ${run.cancelled.at}`}`);
        return 0;
      }),
    ),
  );
}
