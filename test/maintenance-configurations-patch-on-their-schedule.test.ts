/**
 * Customer-managed schedules on the management plane (engine/manage/
 * maintenance*.ts, interleaved by auto-patch.ts's advanceClock): the bypass
 * rules (bypassPlatformSafetyChecksOnUserSchedule × an assigned schedule), a
 * run's timeline (pre-event, run, post-event), cancellation and edits near a
 * run, dynamic scopes evaluated at run time, webhooks on a loopback server,
 * and the per-scope machine limit.
 *
 * Dates come from the synthetic 2027 calendar: Patch Tuesday 2027-02-09
 * releases the February hotpatch KB5270200 (Security, no reboot) and the .NET
 * update KB5270210 (UpdateRollup, reboot); 2027-04-13 the April baseline
 * KB5270400 (reboot). A VM created on 2027-02-10 runs the January baseline
 * and is offered KB5270200 and KB5270210. 2027-02-13 is a Saturday.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as faults from "../engine/faults/index.ts";
import type { AdvanceEvent, AdvanceReport } from "../engine/manage/auto-patch.ts";
import type { HistoryEntry } from "../engine/manage/history.ts";
import {
  advanceClock,
  assignConfiguration,
  cancelRun,
  configurationId,
  createVm,
  DEFAULT_PLACEMENT,
  defaultPlacement,
  getConfiguration,
  getVm,
  type InstallResult,
  listDynamicScopes,
  listVms,
  type MaintenanceConfigurationInput,
  type MaintenanceRun,
  machinesOf,
  putConfiguration,
  putDynamicScope,
  putWebhook,
  runsOf,
  SIMULATION_KEY_FILE,
  Session,
  setClock,
  setVm,
  Store,
  storedClock,
  useCatalogKeyFile,
  type VmPlacement,
  type VmRecord,
} from "../engine/manage/index.ts";
import { machinesInScope, parseScopeFilter } from "../engine/manage/maintenance-scope.ts";
import type { InstalledUpdate } from "../engine/manage/session.ts";
import { CORE, SHARED_ARTIFACTS } from "./manage-fixtures.ts";
import { refusal } from "./refusal.ts";

const SUB = DEFAULT_PLACEMENT.subscription;
const OTHER_SUB = "99999999-8888-7777-6666-555555555555";
const named = (name: string) => ({ subscription: SUB, resourceGroup: DEFAULT_PLACEMENT.resourceGroup, name });
const t = (text: string) => new Date(text);
const MINUTE = 60_000;

/** Wednesday, the day after February's Patch Tuesday. */
const CREATED = t("2027-02-10T00:00:00Z");
/** The first window of `weekly()`: Saturday 2027-02-13 22:00-01:00 UTC. */
const RUN1 = "20270213220000";
const START1 = t("2027-02-13T22:00:00Z");
const END1 = t("2027-02-14T01:00:00Z");
/** The second one, a week later. */
const RUN2 = "20270220220000";
const START2 = t("2027-02-20T22:00:00Z");

/** A session on a throw-away store; the catalog key comes from the shared cache so packages are built once for all tests. */
function newSession(placements?: Map<string, Partial<VmPlacement>>, at = CREATED): Session {
  const store = Store.open(":memory:");
  useCatalogKeyFile(store, join(SHARED_ARTIFACTS, SIMULATION_KEY_FILE));
  const placement = placements === undefined ? undefined : (vm: Parameters<typeof defaultPlacement>[0]) => ({ ...defaultPlacement(vm), ...placements.get(vm.name) });
  const session = new Session(store, { artifactsDir: SHARED_ARTIFACTS, seed: 7, placement });
  store.tx(() => setClock(store, at));
  return session;
}

function weekly(o: { start?: string; duration?: string; timeZone?: string; recur?: string; install?: MaintenanceConfigurationInput["installPatches"] } = {}): MaintenanceConfigurationInput {
  return {
    maintenanceWindow: { startDateTime: o.start ?? "2027-02-13 22:00", duration: o.duration ?? "03:00", timeZone: o.timeZone ?? "UTC", recurEvery: o.recur ?? "Week Saturday" },
    installPatches: o.install,
  };
}

/** Creates VM `name` at the state's clock. */
function vm(session: Session, name: string, o: { flag?: boolean; patchMode?: string } = {}): void {
  session.store.tx(() =>
    createVm(
      session.store,
      { name, image: CORE, processes: 1, patchMode: o.patchMode, bypassPlatformSafetyChecksOnUserSchedule: o.flag },
      storedClock(session.store) ?? CREATED,
      session.catalog,
    ),
  );
}

/** Creates configuration `name` now and assigns it to `vms`. */
function schedule(session: Session, name: string, input: MaintenanceConfigurationInput, vms: string[] = []): void {
  const now = storedClock(session.store) ?? CREATED;
  putConfiguration(session, named(name), input, now);
  for (const v of vms) assignConfiguration(session, { vm: v, name, configuration: named(name) }, now);
}

/** Advances the state's clock to `to`, collecting every event. */
async function advanceTo(session: Session, to: Date): Promise<AdvanceReport> {
  return advanceClock(session, storedClock(session.store) ?? CREATED, to);
}

const installations = (r: AdvanceReport, vmName: string): InstallResult[] => r.events.filter((e) => e.type === "Installation" && e.vm === vmName).map((e) => e.installation!);
const maintenanceEvents = (r: AdvanceReport, config?: string) =>
  r.events
    .filter((e): e is AdvanceEvent & { maintenance: MaintenanceRun } => e.maintenance !== undefined && (config === undefined || e.maintenance.configuration.name === config))
    .map((e) => [e.type, e.at, e.maintenance.name]);
const states = (r: InstallResult) => Object.fromEntries(r.patches.map((p) => [p.kb, p.state]));

/** The record of run `name` of configuration `config` (past or upcoming). */
function runRecord(session: Session, config: string, name: string): MaintenanceRun {
  const { past, upcoming } = runsOf(session, named(config), storedClock(session.store)!, 2);
  const run = [...past, ...upcoming].find((r) => r.name === name);
  if (run === undefined) throw new Error(`no run ${name} of ${config}`);
  return run;
}

const history = (session: Session, vmName: string) => session.store.history<HistoryEntry>(vmName).map((h) => h.doc);

describe("the bypass rules: bypassPlatformSafetyChecksOnUserSchedule × an assigned schedule", () => {
  it("flag and schedule: the schedule's run installs in its window, with the configuration's classifications and KB lists", async () => {
    const session = newSession();
    for (const name of ["dflt", "excl", "incl", "noboot"]) vm(session, name, { flag: true });
    schedule(session, "defaults", weekly(), ["dflt"]);
    // 20:00 Pacific Standard Time on Saturday is 04:00Z on Sunday.
    schedule(session, "exclude", weekly({ start: "2027-02-13 20:00", timeZone: "Pacific Standard Time", install: { windowsParameters: { classificationsToInclude: ["Security", "UpdateRollup"], kbNumbersToExclude: ["5270200"] } } }), ["excl"]);
    schedule(session, "include", weekly({ start: "2027-02-14 10:00", recur: "Week Sunday", install: { windowsParameters: { kbNumbersToInclude: ["kb5270210"] } } }), ["incl"]);
    schedule(
      session,
      "no-reboot-kbs",
      weekly({ start: "2027-02-14 14:00", recur: "Week Sunday", install: { windowsParameters: { classificationsToInclude: ["Security", "UpdateRollup"], excludeKbsRequiringReboot: true } } }),
      ["noboot"],
    );
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    const expected: [string, string, string, Record<string, string>][] = [
      ["dflt", "defaults", "2027-02-13T22:00:00Z", { KB5270200: "Installed", KB5270210: "NotSelected" }],
      ["excl", "exclude", "2027-02-14T04:00:00Z", { KB5270200: "Excluded", KB5270210: "Installed" }],
      ["incl", "include", "2027-02-14T10:00:00Z", { KB5270200: "Installed", KB5270210: "Installed" }],
      ["noboot", "no-reboot-kbs", "2027-02-14T14:00:00Z", { KB5270200: "Installed", KB5270210: "Excluded" }],
    ];
    for (const [name, config, start, patches] of expected) {
      const runs = installations(report, name);
      expect(runs, name).toHaveLength(1);
      const [run] = runs;
      expect(run, name).toMatchObject({ trigger: "MaintenanceConfiguration", maintenanceConfigurationId: configurationId(named(config)), startDateTime: start });
      expect(states(run), name).toEqual(patches);
      // Inside the window: it opened at `start` and lasts three hours.
      expect(Date.parse(run.endDateTime!) - Date.parse(start), name).toBeLessThanOrEqual(3 * 60 * MINUTE);
      const record = runRecord(session, config, start.replace(/[-T:Z]/g, ""));
      expect(record.machines.map((m) => [m.vm, m.via, m.outcome, m.activityId]), name).toEqual([[name, `assignment ${config}`, "Succeeded", run.activityId]]);
    }
    const entries = history(session, "dflt");
    expect(entries.map((h) => [h.kb, h.result, h.trigger, h.maintenanceConfigurationId])).toEqual([["KB5270200", "Succeeded", "MaintenanceConfiguration", configurationId(named("defaults"))]]);
  });

  it("flag and schedule with rebootSetting Never: the April baseline stays PendingReboot (IfRequired reboots into it)", async () => {
    const session = newSession(undefined, t("2027-04-01T00:00:00Z"));
    vm(session, "never", { flag: true });
    vm(session, "ifreq", { flag: true });
    schedule(session, "no-reboot", weekly({ start: "2027-04-17 22:00", install: { rebootSetting: "Never" } }), ["never"]);
    schedule(session, "reboot", weekly({ start: "2027-04-18 10:00", recur: "Week Sunday" }), ["ifreq"]);
    const report = await advanceTo(session, t("2027-04-19T00:00:00Z"));

    const [never] = installations(report, "never");
    expect(installations(report, "never")).toHaveLength(1);
    expect(never).toMatchObject({ trigger: "MaintenanceConfiguration", startDateTime: "2027-04-17T22:00:00Z", rebootSetting: "Never", rebootStatus: "Required" });
    expect(states(never)).toMatchObject({ KB5270400: "PendingReboot" });
    expect(session.installedUpdates("never").find((u: InstalledUpdate) => u.kb === "KB5270400")?.state).toBe("PendingReboot");
    expect(getVm(session.store, "never")).toMatchObject({ rebootPending: true, pendingImageMonth: "2027-04", imageMonth: "2027-01" });

    const [ifreq] = installations(report, "ifreq");
    expect(ifreq).toMatchObject({ rebootSetting: "IfRequired", rebootStatus: "Completed" });
    expect(getVm(session.store, "ifreq")).toMatchObject({ rebootPending: false, imageMonth: "2027-04" });
  });

  it("flag without a schedule: nothing installs over a month of releases, while automatic patching patches a VM without the flag", async () => {
    const session = newSession(undefined, t("2027-02-01T00:00:00Z"));
    vm(session, "flagged", { flag: true });
    vm(session, "control");
    // A configuration that is assigned to nobody patches nobody.
    schedule(session, "unassigned", weekly({ start: "2027-02-06 22:00" }));
    const report = await advanceTo(session, t("2027-03-20T00:00:00Z"));

    expect(installations(report, "flagged")).toEqual([]);
    expect(session.installedUpdates("flagged").map((u) => u.kb)).toEqual(["KB5270100"]);
    expect(history(session, "flagged")).toEqual([]);
    expect(report.events.filter((e) => e.type === "Assessment" && e.vm === "flagged").length).toBeGreaterThan(40);
    // Feb 9 and Mar 9 releases at 18:00Z; the default off-peak window opens at 22:00 UTC.
    expect(installations(report, "control").map((r) => [r.startDateTime, r.trigger, r.status])).toEqual([
      ["2027-02-09T22:00:00Z", "AutomaticByPlatform", "Succeeded"],
      ["2027-03-09T22:00:00Z", "AutomaticByPlatform", "Succeeded"],
    ]);
    expect(runRecord(session, "unassigned", "20270306220000").machines).toEqual([]);
  });

  it("schedule without the flag: the run records PrerequisitesNotMet naming the flag and a Failed history entry, and automatic patching still runs", async () => {
    const session = newSession(undefined, t("2027-02-10T12:00:00Z"));
    vm(session, "noflag");
    schedule(session, "sat", weekly(), ["noflag"]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    expect(installations(report, "noflag").map((r) => [r.startDateTime, r.trigger, r.status])).toEqual([["2027-02-10T22:00:00Z", "AutomaticByPlatform", "Succeeded"]]);
    const run = runRecord(session, "sat", RUN1);
    expect(run.status).toBe("Failed");
    expect(run.machines).toHaveLength(1);
    expect(run.machines[0]).toMatchObject({ vm: "noflag", via: "assignment sat", outcome: "PrerequisitesNotMet", installed: 0, activityId: null });
    expect(run.machines[0].error).toMatch(/bypassPlatformSafetyChecksOnUserSchedule/);
    const failed = history(session, "noflag").filter((h) => h.trigger === "MaintenanceConfiguration");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ result: "Failed", startedAt: "2027-02-13T22:00:00Z", maintenanceConfigurationId: configurationId(named("sat")) });
    expect(failed[0].errors.join(" ")).toMatch(/bypassPlatformSafetyChecksOnUserSchedule/);
    expect(maintenanceEvents(report)).toEqual([
      ["PreMaintenanceEvent", "2027-02-13T21:30:00Z", RUN1],
      ["MaintenanceRun", "2027-02-13T22:00:00Z", RUN1],
      ["PostMaintenanceEvent", "2027-02-13T22:00:00Z", RUN1],
    ]);
  });

  it("neither: automatic patching as before, untouched by a schedule of another VM", async () => {
    const session = newSession(undefined, t("2027-02-10T12:00:00Z"));
    vm(session, "plain");
    vm(session, "scheduled", { flag: true });
    schedule(session, "sat", weekly(), ["scheduled"]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    expect(installations(report, "plain").map((r) => [r.startDateTime, r.trigger, r.status])).toEqual([["2027-02-10T22:00:00Z", "AutomaticByPlatform", "Succeeded"]]);
    expect(installations(report, "scheduled").map((r) => [r.startDateTime, r.trigger])).toEqual([["2027-02-13T22:00:00Z", "MaintenanceConfiguration"]]);
    expect(runRecord(session, "sat", RUN1).machines.map((m) => m.vm)).toEqual(["scheduled"]);
    expect(history(session, "plain").every((h) => h.trigger === "AutomaticByPlatform")).toBe(true);
  });

  it("a VM with patch mode AutomaticByOS on a schedule fails the run with PrerequisitesNotMet; Windows Automatic Updates still patch it", async () => {
    const session = newSession();
    vm(session, "byos", { patchMode: "AutomaticByOS" });
    schedule(session, "sat", weekly(), ["byos"]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    const machine = runRecord(session, "sat", RUN1).machines[0];
    expect(machine).toMatchObject({ vm: "byos", outcome: "PrerequisitesNotMet" });
    expect(machine.error).toMatch(/AutomaticByOS/);
    const triggers = installations(report, "byos").map((r) => r.trigger);
    expect(triggers.length).toBeGreaterThan(0);
    expect(new Set(triggers)).toEqual(new Set(["AutomaticByOS"]));
  });

  it("the flag with patch mode Manual is refused with E_USAGE, on create and on set, and changes nothing", () => {
    const session = newSession();
    const onCreate = refusal(() => vm(session, "manual1", { patchMode: "Manual", flag: true }), "E_USAGE");
    expect(onCreate.message).toMatch(/bypassPlatformSafetyChecksOnUserSchedule/);
    expect(listVms(session.store)).toEqual([]);

    vm(session, "manual2", { patchMode: "Manual" });
    const before = getVm(session.store, "manual2");
    const onSet = refusal(() => setVm(session.store, "manual2", { bypassPlatformSafetyChecksOnUserSchedule: true }), "E_USAGE");
    expect(onSet.message).toMatch(/Manual/);
    expect(getVm(session.store, "manual2")).toEqual(before);
    // The same change on an AutomaticByPlatform VM is accepted.
    vm(session, "platform");
    expect(setVm(session.store, "platform", { bypassPlatformSafetyChecksOnUserSchedule: true }).bypassPlatformSafetyChecksOnUserSchedule).toBe(true);
  });
});

describe("a run's timeline", () => {
  it("sends the pre-event 30 minutes before the start, runs at the start and sends the post-event when the run ends, inside the window", async () => {
    const session = newSession();
    vm(session, "v1", { flag: true });
    schedule(session, "sat", weekly(), ["v1"]);
    const report = await advanceTo(session, t("2027-02-21T00:00:00Z"));

    const [first, second] = installations(report, "v1");
    expect(first).toMatchObject({ startDateTime: "2027-02-13T22:00:00Z", installedPatchCount: 1 });
    expect(Date.parse(first.endDateTime!)).toBeGreaterThan(START1.getTime());
    expect(Date.parse(first.endDateTime!)).toBeLessThanOrEqual(END1.getTime());
    expect(maintenanceEvents(report)).toEqual([
      ["PreMaintenanceEvent", "2027-02-13T21:30:00Z", RUN1],
      ["MaintenanceRun", "2027-02-13T22:00:00Z", RUN1],
      ["PostMaintenanceEvent", first.endDateTime, RUN1],
      ["PreMaintenanceEvent", "2027-02-20T21:30:00Z", RUN2],
      ["MaintenanceRun", "2027-02-20T22:00:00Z", RUN2],
      // Nothing left to install: the second run ends as it starts.
      ["PostMaintenanceEvent", "2027-02-20T22:00:00Z", RUN2],
    ]);
    expect(second).toMatchObject({ startDateTime: "2027-02-20T22:00:00Z", installedPatchCount: 0 });
    const run = runRecord(session, "sat", RUN1);
    expect(run).toMatchObject({
      status: "Succeeded",
      start: "2027-02-13T22:00:00Z",
      end: "2027-02-14T01:00:00Z",
      cancellationCutOff: "2027-02-13T21:50:00Z",
      startedAt: "2027-02-13T22:00:00Z",
      finishedAt: first.endDateTime,
      preEvent: { at: "2027-02-13T21:30:00Z", deliveries: [] },
      postEvent: { at: first.endDateTime, deliveries: [] },
    });
    // The pre-event is reported before the run's installation.
    const kinds = report.events.filter((e) => e.type !== "Assessment" && e.at <= "2027-02-14T00:00:00Z").map((e) => e.type);
    expect(kinds).toEqual(["PreMaintenanceEvent", "Installation", "MaintenanceRun", "PostMaintenanceEvent"]);
  });

  it("a run that cannot finish in a one-minute window leaves the update pending and ends by the window's end", async () => {
    const session = newSession();
    vm(session, "v1", { flag: true });
    schedule(session, "short", weekly({ duration: "00:01" }), ["v1"]);
    const report = await advanceTo(session, t("2027-02-14T00:00:00Z"));

    const [install] = installations(report, "v1");
    expect(install).toMatchObject({ trigger: "MaintenanceConfiguration", maintenanceWindowExceeded: true, pendingPatchCount: 1, installedPatchCount: 0 });
    const run = runRecord(session, "short", RUN1);
    expect(run.machines[0].outcome).toBe(install.status);
    expect(run.status).not.toBe("Succeeded");
    expect(Date.parse(run.postEvent!.at)).toBeLessThanOrEqual(Date.parse(run.end));
    expect(Date.parse(run.finishedAt!)).toBeLessThanOrEqual(Date.parse("2027-02-13T22:01:00Z"));
  });

  it("sends a pre-event late when the clock jumped past it, and none for a configuration made after it", async () => {
    const session = newSession(undefined, t("2027-02-13T21:00:00Z"));
    vm(session, "v1", { flag: true });
    vm(session, "v2", { flag: true });
    schedule(session, "early", weekly(), ["v1"]);
    // The clock moves past the pre-event's time (21:30) without an advance (a command run with a later --now).
    session.store.tx(() => setClock(session.store, t("2027-02-13T21:45:00Z")));
    const first = await advanceTo(session, t("2027-02-13T22:30:00Z"));
    expect(maintenanceEvents(first, "early").map(([type, at]) => [type, at])).toEqual([
      ["PreMaintenanceEvent", "2027-02-13T21:45:00Z"],
      ["MaintenanceRun", "2027-02-13T22:00:00Z"],
      ["PostMaintenanceEvent", installations(first, "v1")[0].endDateTime],
    ]);

    // "late" is made at 22:30 with a window that opened at 22:20: it runs at once, without a pre-event.
    schedule(session, "late", weekly({ start: "2027-02-13 22:20" }), ["v2"]);
    const second = await advanceTo(session, t("2027-02-14T03:00:00Z"));
    expect(maintenanceEvents(second, "late").map(([type, at]) => [type, at])).toEqual([
      ["MaintenanceRun", "2027-02-13T22:30:00Z"],
      ["PostMaintenanceEvent", installations(second, "v2")[0].endDateTime],
    ]);
    expect(runRecord(session, "late", "20270213222000").preEvent).toBeNull();
  });
});

describe("cancelling and editing near a run", () => {
  it("cancels a run 11 minutes before its start, refuses 9 minutes before naming the cut-off; a cancelled run installs nothing and sends no post-event", async () => {
    const session = newSession();
    vm(session, "v1", { flag: true });
    schedule(session, "sat", weekly(), ["v1"]);
    const c = getConfiguration(session.store, named("sat"));

    const before = await advanceTo(session, new Date(START1.getTime() - 11 * MINUTE));
    expect(maintenanceEvents(before)).toEqual([["PreMaintenanceEvent", "2027-02-13T21:30:00Z", RUN1]]);
    const cancelled = cancelRun(session, c, RUN1, new Date(START1.getTime() - 11 * MINUTE));
    expect(cancelled).toMatchObject({ status: "Cancelled", cancelled: { at: "2027-02-13T21:49:00Z" } });
    expect(refusal(() => cancelRun(session, c, "20270214220000", new Date(START1.getTime() - 11 * MINUTE)), "E_UNKNOWN_SCHEDULE").message).toMatch(/no run named 20270214220000/);

    const week = await advanceTo(session, new Date(START2.getTime() - 9 * MINUTE));
    expect(installations(week, "v1")).toEqual([]);
    expect(maintenanceEvents(week)).toEqual([["PreMaintenanceEvent", "2027-02-20T21:30:00Z", RUN2]]);
    expect(runRecord(session, "sat", RUN1)).toMatchObject({ status: "Cancelled", postEvent: null, startedAt: null, machines: [] });
    expect(session.installedUpdates("v1").map((u) => u.kb)).toEqual(["KB5270100"]);

    const late = refusal(() => cancelRun(session, c, RUN2, new Date(START2.getTime() - 9 * MINUTE)), "E_SCHEDULE");
    expect(late.message).toContain("cut-off");
    expect(late.message).toContain("2027-02-20T21:50:00Z");
    expect(runRecord(session, "sat", RUN2).status).toBe("Scheduled");

    const after = await advanceTo(session, t("2027-02-22T00:00:00Z"));
    expect(installations(after, "v1").map((r) => [r.startDateTime, r.installedPatchCount])).toEqual([["2027-02-20T22:00:00Z", 1]]);
    expect(runRecord(session, "sat", RUN2).status).toBe("Succeeded");
  });

  it("editing the configuration 39 minutes before a run cancels it; 41 minutes before does not", async () => {
    const session = newSession();
    vm(session, "v1", { flag: true });
    schedule(session, "sat", weekly(), ["v1"]);

    await advanceTo(session, new Date(START1.getTime() - 39 * MINUTE));
    const edit = putConfiguration(session, named("sat"), weekly({ install: { rebootSetting: "Never" } }), new Date(START1.getTime() - 39 * MINUTE));
    expect(edit.created).toBe(false);
    expect(edit.cancelledRuns.map((r) => [r.name, r.status])).toEqual([[RUN1, "Cancelled"]]);
    expect(edit.cancelledRuns[0].cancelled?.reason).toMatch(/40 minutes/);

    const week = await advanceTo(session, new Date(START2.getTime() - 41 * MINUTE));
    expect(installations(week, "v1")).toEqual([]);
    expect(maintenanceEvents(week).filter(([, , name]) => name === RUN1)).toEqual([]);
    expect(runRecord(session, "sat", RUN1)).toMatchObject({ status: "Cancelled", postEvent: null, machines: [] });

    const second = putConfiguration(session, named("sat"), weekly(), new Date(START2.getTime() - 41 * MINUTE));
    expect(second.cancelledRuns).toEqual([]);
    const after = await advanceTo(session, t("2027-02-22T00:00:00Z"));
    expect(installations(after, "v1").map((r) => [r.startDateTime, r.installedPatchCount])).toEqual([["2027-02-20T22:00:00Z", 1]]);
  });
});

describe("dynamic scopes", () => {
  it("are evaluated when the schedule runs: a VM created, or moved into the scope, after it was made is in the next run", async () => {
    const placements = new Map<string, Partial<VmPlacement>>([
      ["w1", { resourceGroup: "web" }],
      ["d1", { resourceGroup: "db" }],
      ["x1", { resourceGroup: "db" }],
    ]);
    const session = newSession(placements);
    for (const name of ["w1", "d1", "x1"]) vm(session, name, { flag: true });
    schedule(session, "dyn", weekly());
    putDynamicScope(session, { subscription: SUB, name: "web-servers", configuration: named("dyn"), filter: { resourceGroups: ["web"] } }, CREATED);
    expect(machinesOf(session, named("dyn")).machines.map((m) => m.vm)).toEqual(["w1"]);

    await advanceTo(session, t("2027-02-12T00:00:00Z"));
    placements.set("w2", { resourceGroup: "web" });
    vm(session, "w2", { flag: true });
    placements.set("x1", { resourceGroup: "web" });
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    const run = runRecord(session, "dyn", RUN1);
    expect(run.machines.map((m) => [m.vm, m.via, m.outcome])).toEqual([
      ["w1", "dynamic scope web-servers", "Succeeded"],
      ["w2", "dynamic scope web-servers", "Succeeded"],
      ["x1", "dynamic scope web-servers", "Succeeded"],
    ]);
    for (const name of ["w1", "w2", "x1"]) expect(installations(report, name).map((r) => r.startDateTime), name).toEqual(["2027-02-13T22:00:00Z"]);
    expect(installations(report, "d1")).toEqual([]);
  });

  it("filter by resource group, location, tags (Any, All), OS type, resource type and subscription; criteria combine with AND", () => {
    const placements = new Map<string, Partial<VmPlacement>>([
      ["a", { resourceGroup: "web", location: "eastus", tags: { ring: "canary", team: "blue" } }],
      ["b", { resourceGroup: "Web", location: "westeurope", tags: { ring: "prod" } }],
      ["c", { resourceGroup: "db", location: "eastus", tags: { Team: "blue" } }],
      ["d", { subscription: OTHER_SUB, resourceGroup: "web", location: "eastus", tags: { ring: "canary" } }],
      ["e", { resourceGroup: "db", location: "westus2", tags: { team: "red" } }],
    ]);
    const session = newSession(placements);
    for (const name of placements.keys()) vm(session, name, { flag: true });
    const cases: [string, Record<string, unknown>, string[], string?][] = [
      ["group", { resourceGroups: ["WEB"] }, ["a", "b"]],
      ["location", { locations: ["East US"] }, ["a", "c"]],
      ["tags-any", { tagSettings: { tags: { ring: ["canary"], team: ["blue"] }, filterOperator: "Any" } }, ["a", "c"]],
      ["tags-default", { tagSettings: { tags: { ring: ["canary"], team: ["blue"] } } }, ["a", "c"]],
      ["tags-all", { tagSettings: { tags: { ring: [], team: ["blue"] }, filterOperator: "All" } }, ["a"]],
      ["tag-value", { tagSettings: { tags: { team: ["red", "green"] } } }, ["e"]],
      ["and", { resourceGroups: ["web"], locations: ["West Europe"] }, ["b"]],
      ["linux", { osTypes: ["Linux"] }, []],
      ["windows", { osTypes: ["windows"] }, ["a", "b", "c", "e"]],
      ["arc", { resourceTypes: ["Microsoft.HybridCompute/machines"] }, []],
      ["other-sub", { resourceGroups: ["web"] }, ["d"], OTHER_SUB],
    ];
    for (const [name, filter, , subscription] of cases) {
      schedule(session, `f-${name}`, weekly());
      putDynamicScope(session, { subscription: subscription ?? SUB, name, configuration: named(`f-${name}`), filter }, CREATED);
    }
    for (const [name, , expected] of cases) {
      const { machines, leftOut } = machinesOf(session, named(`f-${name}`));
      expect(machines.map((m) => m.vm), name).toEqual(expected);
      expect(leftOut, name).toEqual([]);
    }
  });

  it("patch a VM both assigned and in a scope once, through its assignment", async () => {
    const placements = new Map<string, Partial<VmPlacement>>([
      ["a", { resourceGroup: "web" }],
      ["b", { resourceGroup: "web" }],
    ]);
    const session = newSession(placements);
    vm(session, "a", { flag: true });
    vm(session, "b", { flag: true });
    schedule(session, "both", weekly(), ["a"]);
    putDynamicScope(session, { subscription: SUB, name: "both-web", configuration: named("both"), filter: { resourceGroups: ["web"] } }, CREATED);
    expect(machinesOf(session, named("both")).machines).toEqual([
      { vm: "a", via: "assignment both" },
      { vm: "b", via: "dynamic scope both-web" },
    ]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));
    expect(installations(report, "a")).toHaveLength(1);
    expect(installations(report, "b")).toHaveLength(1);
    expect(runRecord(session, "both", RUN1).machines.map((m) => m.vm)).toEqual(["a", "b"]);
    expect(history(session, "a").map((h) => h.kb)).toEqual(["KB5270200"]);
  });

  it("refuse a filter with no criterion (E_USAGE) and write nothing", () => {
    const session = newSession();
    schedule(session, "sat", weekly());
    for (const filter of [{}, { resourceGroups: [], locations: [], osTypes: [], resourceTypes: [] }, { tagSettings: null }]) {
      const error = refusal(() => putDynamicScope(session, { subscription: SUB, name: "everything", configuration: named("sat"), filter }, CREATED), "E_USAGE");
      expect(error.message).toMatch(/no criterion/);
    }
    refusal(() => putDynamicScope(session, { subscription: SUB, name: "everything", configuration: named("sat"), filter: { tagSettings: { tags: {} } } }, CREATED), "E_USAGE");
    expect(listDynamicScopes(session.store)).toEqual([]);
  });
});

describe("webhooks", () => {
  let server: Server;
  let base = "";
  const received: { path: string; eventType: string | undefined; body: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", eventType: req.headers["aeg-event-type"] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        res.writeHead(req.url === "/fail" ? 500 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it("deliver the pre- and post-event once each in the Event Grid shape and record the answers; a 500 is recorded and changes nothing; another configuration's webhook gets nothing", async () => {
    const session = newSession();
    vm(session, "v1", { flag: true });
    schedule(session, "hooked", weekly(), ["v1"]);
    schedule(session, "elsewhere", weekly({ start: "2027-03-06 22:00" }));
    putWebhook(session, { name: "all", url: `${base}/ok` }, CREATED);
    putWebhook(session, { name: "broken", url: `${base}/fail`, configuration: named("hooked") }, CREATED);
    putWebhook(session, { name: "theirs", url: `${base}/other`, configuration: named("elsewhere") }, CREATED);
    putWebhook(session, { name: "pre-only", url: `${base}/pre`, eventTypes: ["Microsoft.Maintenance.PreMaintenanceEvent"], configuration: named("hooked") }, CREATED);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));

    const run = runRecord(session, "hooked", RUN1);
    const [install] = installations(report, "v1");
    expect(run.status).toBe("Succeeded");
    expect(install).toMatchObject({ status: "Succeeded", installedPatchCount: 1 });

    const at = (path: string) => received.filter((r) => r.path === path);
    expect(at("/other")).toEqual([]);
    expect(at("/pre").map((r) => (r.body as { eventType: string }[])[0].eventType)).toEqual(["Microsoft.Maintenance.PreMaintenanceEvent"]);
    expect(at("/fail")).toHaveLength(2);
    const ok = at("/ok");
    expect(ok.map((r) => r.eventType)).toEqual(["Notification", "Notification"]);
    const events = ok.map((r) => {
      expect(Array.isArray(r.body) && r.body.length === 1).toBe(true);
      return (r.body as Record<string, unknown>[])[0];
    });
    const id = configurationId(named("hooked"));
    const data = { maintenanceConfigurationId: id, startDateTime: "2027-02-13T22:00:00Z", endDateTime: "2027-02-14T01:00:00Z", cancellationCutOffDateTime: "2027-02-13T21:50:00Z" };
    expect(events[0]).toMatchObject({ eventType: "Microsoft.Maintenance.PreMaintenanceEvent", subject: RUN1, topic: id, eventTime: "2027-02-13T21:30:00Z", data, dataVersion: "1.0", metadataVersion: "1" });
    expect(events[1]).toMatchObject({ eventType: "Microsoft.Maintenance.PostMaintenanceEvent", subject: RUN1, topic: id, eventTime: install.endDateTime, data });
    expect(events[0].id).not.toBe(events[1].id);

    for (const sent of [run.preEvent!, run.postEvent!]) {
      const byName = Object.fromEntries(sent.deliveries.map((d) => [d.webhook, d]));
      expect(byName.all).toEqual({ webhook: "all", url: `${base}/ok`, status: 200, error: null });
      expect(byName.broken).toMatchObject({ webhook: "broken", status: 500 });
      expect(byName.broken.error).toMatch(/500/);
      expect(byName.theirs).toBeUndefined();
    }
    expect(run.preEvent!.deliveries.map((d) => d.webhook).sort()).toEqual(["all", "broken", "pre-only"]);
    expect(run.postEvent!.deliveries.map((d) => d.webhook).sort()).toEqual(["all", "broken"]);
    expect(run.postEvent!.at).toBe(install.endDateTime);
  });
});

describe("limits", () => {
  let big: Session | undefined;
  /** 1,001 VMs in the default placement, created in reverse name order, and a configuration whose scope matches them all. */
  function bigSession(): Session {
    if (big !== undefined) return big;
    const session = newSession();
    session.store.tx(() => {
      for (let i = 1000; i >= 0; i--) createVm(session.store, { name: `vm${String(i).padStart(4, "0")}`, image: CORE, processes: 1 }, CREATED, session.catalog);
    });
    schedule(session, "big", weekly());
    putDynamicScope(session, { subscription: SUB, name: "everyone", configuration: named("big"), filter: { resourceGroups: [DEFAULT_PLACEMENT.resourceGroup] } }, CREATED);
    big = session;
    return session;
  }

  it("leaves the machines of a scope beyond 1,000 out, in name order, with the reason", () => {
    const { machines, leftOut } = machinesOf(bigSession(), named("big"));
    expect(machines).toHaveLength(1000);
    expect(machines[0].vm).toBe("vm0000");
    expect(machines[999].vm).toBe("vm0999");
    expect(leftOut).toHaveLength(1);
    expect(leftOut[0].vm).toBe("vm1000");
    expect(leftOut[0].reason).toMatch(/dynamic scope everyone matches more than 1000 machines/);
  });

  // Found by this test: the scope's limit once counted a VM its assignment had already chosen, and listed it as left out too.
  it("does not report a VM as left out when its assignment patches it", () => {
    const session = bigSession();
    assignConfiguration(session, { vm: "vm1000", name: "big", configuration: named("big") }, CREATED);
    const { machines, leftOut } = machinesOf(session, named("big"));
    expect(machines.find((m) => m.vm === "vm1000")?.via).toBe("assignment big");
    const patched = new Set(machines.map((m) => m.vm));
    expect(leftOut.filter((l) => patched.has(l.vm))).toEqual([]);
  });

  // Found in review: a machine one scope's limit left out, which a later scope then chose, was listed both ways.
  it("lists a machine once: patched through a later scope, it is not also left out by the first one's limit", () => {
    const vms = listVms(bigSession().store);
    const c = named("big");
    const scope = (name: string, filter: Parameters<typeof parseScopeFilter>[0]) => ({ name, subscription: SUB, configuration: c, filter: parseScopeFilter(filter), createdAt: "2027-01-01T00:00:00Z" });
    const placement = (vm: VmRecord): VmPlacement => ({ ...defaultPlacement(vm), tags: vm.name === "vm1000" ? { ring: "canary" } : {} });
    const scopes = [scope("everyone", { resourceGroups: [DEFAULT_PLACEMENT.resourceGroup] }), scope("canary", { tagSettings: { tags: { ring: ["canary"] } } }), scope("everyone-again", { locations: ["eastus"] })];
    const { machines, leftOut } = machinesInScope(c, vms, [], scopes, placement);
    expect(machines).toHaveLength(1001);
    expect(machines.find((m) => m.vm === "vm1000")?.via).toBe("dynamic scope canary");
    expect(leftOut).toEqual([]);
    const again = machinesInScope(c, vms, [], [scopes[0], scopes[2]], placement);
    expect(again.machines.find((m) => m.vm === "vm1000")?.via).toBe("dynamic scope everyone-again");
    expect(again.leftOut).toEqual([]);
  });
});

describe("a post-event owed when the clock moved far on", () => {
  // Found in review: the search for due events looked back 4 hours only, so a post-event still owed by a run the clock had
  // since passed by more (a command at a later --now) was never sent.
  it("is sent by the next advance, however far the clock went meanwhile", async () => {
    const session = newSession();
    vm(session, "a", { flag: true });
    schedule(session, "weekly", weekly(), ["a"]);
    await advanceTo(session, t("2027-02-13T22:01:00Z")); // the run starts at 22:00; its install ends after this advance
    const started = runRecord(session, "weekly", "20270213220000");
    expect(started.postEvent).toBeNull();
    expect(Date.parse(started.finishedAt!)).toBeGreaterThan(Date.parse("2027-02-13T22:01:00Z"));
    session.store.tx(() => setClock(session.store, t("2027-02-16T12:00:00Z"))); // another command at a later time
    const report = await advanceTo(session, t("2027-02-16T12:05:00Z"));
    expect(maintenanceEvents(report, "weekly")).toContainEqual(["PostMaintenanceEvent", "2027-02-16T12:00:00Z", "20270213220000"]);
    expect(runRecord(session, "weekly", "20270213220000").postEvent?.at).toBe("2027-02-16T12:00:00Z");
    const again = await advanceTo(session, t("2027-02-16T12:10:00Z"));
    expect(maintenanceEvents(again, "weekly")).toEqual([]);
  });
});

describe("a machine whose install fails", () => {
  it("is that machine's Failed outcome with the error; the run patches the others and completes with its post-event", async () => {
    const session = newSession();
    vm(session, "a", { flag: true });
    vm(session, "b", { flag: true });
    schedule(session, "weekly", weekly(), ["a", "b"]);
    faults.arm({ seed: 1, rules: [{ point: "install.apply", mode: "throw", times: 1 }] });
    let report: AdvanceReport;
    try {
      report = await advanceTo(session, t("2027-02-15T00:00:00Z"));
    } finally {
      faults.disarm();
    }
    const run = runRecord(session, "weekly", "20270213220000");
    expect(run.machines.map((m) => [m.vm, m.outcome])).toEqual([
      ["a", "Failed"],
      ["b", "Succeeded"],
    ]);
    expect(run.machines[0].error).toMatch(/^E_FAULT_INJECTED/);
    expect(run.status).toBe("CompletedWithWarnings");
    expect(run.postEvent).not.toBeNull();
    expect(installations(report, "b")[0].installedPatchCount).toBeGreaterThan(0);
  });
});

describe("runs of different configurations", () => {
  // Found by this test: advanceClock once held maintenance events until the previous run's installs ended, so a
  // second configuration's run that opened meanwhile started late, or, if its window closed first, never ran.
  it("start each run at its own window's start, even while another configuration's run is installing", async () => {
    const session = newSession();
    vm(session, "a", { flag: true });
    vm(session, "b", { flag: true });
    // a's run installs the hotpatch and the .NET update with a reboot: over 20 minutes from 22:00.
    schedule(session, "long", weekly({ install: { windowsParameters: { kbNumbersToInclude: ["KB5270210"] } } }), ["a"]);
    schedule(session, "short", weekly({ start: "2027-02-13 22:05", duration: "00:10" }), ["b"]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));
    expect(Date.parse(installations(report, "a")[0].endDateTime!)).toBeGreaterThan(Date.parse("2027-02-13T22:15:00Z"));

    const run = runRecord(session, "short", "20270213220500");
    expect(run).toMatchObject({ status: "Succeeded", startedAt: "2027-02-13T22:05:00Z" });
    expect(installations(report, "b").map((r) => [r.startDateTime, r.installedPatchCount])).toEqual([["2027-02-13T22:05:00Z", 1]]);
  });

  it("start a machine that another run is still patching when that install ends, or fail it if the window closed by then", async () => {
    const session = newSession();
    vm(session, "a", { flag: true });
    schedule(session, "long", weekly({ install: { windowsParameters: { kbNumbersToInclude: ["KB5270210"] } } }), ["a"]);
    schedule(session, "short", weekly({ start: "2027-02-13 22:05", duration: "00:10" }), ["a"]);
    schedule(session, "later", weekly({ start: "2027-02-13 22:10", duration: "01:00" }), ["a"]);
    const report = await advanceTo(session, t("2027-02-15T00:00:00Z"));
    const end = installations(report, "a")[0].endDateTime!;
    expect(Date.parse(end)).toBeGreaterThan(Date.parse("2027-02-13T22:15:00Z"));
    const short = runRecord(session, "short", "20270213220500");
    expect(short.machines).toMatchObject([{ vm: "a", outcome: "Failed", activityId: null }]);
    expect(short.machines[0].error).toBe(`the window closed while another run was installing on the VM (until ${end})`);
    const later = runRecord(session, "later", "20270213221000");
    expect(installations(report, "a").map((r) => r.startDateTime)).toEqual(["2027-02-13T22:00:00Z", end]);
    expect(later.machines).toMatchObject([{ vm: "a", outcome: "Succeeded" }]);
  });
});
