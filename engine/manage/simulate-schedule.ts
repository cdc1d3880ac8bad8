/**
 * `hotpatch simulate --schedule`: a customer-managed schedule measured against
 * automatic patching. Two VMs of the same image run through the same period,
 * each through the real management plane (simulate.ts `runPeriod`: one
 * throw-away state, one clock, provisioning, daily advances and load).
 *
 * Contracts:
 * - The request is simulate's (planSimulation: the image must be able to run
 *   hotpatch, the same period, history, unplanned baselines, time zone,
 *   seed, processes) plus a schedule: recurEvery (maintenance-recurrence.ts
 *   grammar), start "HH:mm" on the period's first day or "yyyy-MM-dd HH:mm"
 *   (default 22:00), duration "HH:mm" (default 03:00, at most 03:55),
 *   a Windows time zone (default: the one of the simulation's IANA zone),
 *   reboot setting (default IfRequired). It is validated as a maintenance
 *   configuration before anything is built; a schedule with no window
 *   starting in the period is E_USAGE.
 * - `automatic-vm`: hotpatch on, AutomaticByPlatform in its own window (the
 *   default off-peak 22:00-06:00 local, vm.ts DEFAULT_WINDOW).
 * - `scheduled-vm`: hotpatch on, AutomaticByPlatform with
 *   bypassPlatformSafetyChecksOnUserSchedule true, and the maintenance
 *   configuration SCHEDULE_CONFIGURATION (Critical and Security, created in
 *   the state at the start, DEFAULT_PLACEMENT) assigned to it: only the
 *   schedule's runs patch it (maintenance-runs.ts).
 * - Counted as simulate counts (simulate-tally.ts); the report
 *   (simulate-schedule-report.ts) adds each VM's installs and windows
 *   exceeded, and the schedule's runs that started in the period.
 */
import { findWindows } from "windows-iana";
import { HotpatchError } from "../errors.ts";
import { iso } from "./clock.ts";
import { assignConfiguration, getConfiguration, putConfiguration } from "./maintenance.ts";
import { buildConfiguration, configurationId, DEFAULT_PLACEMENT, type MaintenanceConfigurationInput } from "./maintenance-config.ts";
import type { MaintenanceRun, RunStatus } from "./maintenance-runs.ts";
import { formatWindowSummary, parseMaintenanceWindow, windowsBetween } from "./maintenance-window.ts";
import { type InstallSummary, installSummary, runSummary, type ScheduledVmMetrics, type ScheduleSimulationReport } from "./simulate-schedule-report.ts";
import { type PeriodRun, periodOf, planSimulation, runPeriod, type SimulationPlan, type SimulationRequest } from "./simulate.ts";
import { createVm, DEFAULT_WINDOW } from "./vm.ts";

export const AUTOMATIC_VM = "automatic-vm";
export const SCHEDULED_VM = "scheduled-vm";
export const SCHEDULE_CONFIGURATION = "simulated-schedule";
export const DEFAULT_SCHEDULE_START = "22:00";
export const DEFAULT_SCHEDULE_DURATION = "03:00";

export interface ScheduleSpec {
  recurEvery: string;
  /** "HH:mm" (on the period's first local day) or "yyyy-MM-dd HH:mm", local in timeZone. */
  start?: string;
  duration?: string;
  /** A Windows time-zone name. */
  timeZone?: string;
  reboot?: string;
}

export interface ScheduleSimulationRequest extends Omit<SimulationRequest, "standardWindow"> {
  schedule: ScheduleSpec;
}

/** A validated request: the period and the configuration to create. */
export interface ScheduleSimulationPlan {
  plan: SimulationPlan;
  configuration: MaintenanceConfigurationInput;
}

const AT = { subscription: DEFAULT_PLACEMENT.subscription, resourceGroup: DEFAULT_PLACEMENT.resourceGroup, name: SCHEDULE_CONFIGURATION };

/** Validates a request without building or running anything (E_USAGE, E_NOT_ELIGIBLE). */
export function planScheduleSimulation(request: ScheduleSimulationRequest): ScheduleSimulationPlan {
  const plan = planSimulation(request);
  const s = request.schedule;
  const timeZone = s.timeZone ?? findWindows(plan.timeZone)[0];
  if (timeZone === undefined) {
    throw new HotpatchError("E_USAGE", `the time zone ${plan.timeZone} has no Windows time-zone name: give the schedule's (--schedule-time-zone)`);
  }
  const start = s.start ?? DEFAULT_SCHEDULE_START;
  const startDateTime = /^\d{2}:\d{2}$/.test(start) ? `${request.from} ${start}` : start;
  const configuration: MaintenanceConfigurationInput = {
    maintenanceWindow: { startDateTime, duration: s.duration ?? DEFAULT_SCHEDULE_DURATION, timeZone, recurEvery: s.recurEvery, expirationDateTime: null },
    installPatches: { rebootSetting: s.reboot, windowsParameters: { classificationsToInclude: ["Critical", "Security"] } },
  };
  const built = buildConfiguration(AT, configuration, iso(plan.start)); // E_USAGE naming the field
  if (windowsBetween(parseMaintenanceWindow(built.maintenanceWindow), plan.start, plan.end).length === 0) {
    throw new HotpatchError("E_USAGE", `the schedule (${formatWindowSummary(parseMaintenanceWindow(built.maintenanceWindow))}) has no window in the period ${iso(plan.start)} to ${iso(plan.end)}`);
  }
  return { plan, configuration };
}

/** Runs the comparison; `onProgress` gets one line per installation. */
export async function simulateSchedule(request: ScheduleSimulationRequest, onProgress: (line: string) => void = () => {}): Promise<ScheduleSimulationReport> {
  const { plan, configuration } = planScheduleSimulation(request);
  const vms = [AUTOMATIC_VM, SCHEDULED_VM];
  const installs = new Map<string, InstallSummary[]>(vms.map((v) => [v, []]));
  const exceeded = new Map<string, number>(vms.map((v) => [v, 0]));
  const runs: MaintenanceRun[] = [];
  const setUp = ({ store, session, catalog }: PeriodRun) => {
    const common = { image: plan.image, timeZone: plan.timeZone, processes: plan.processes, hotpatch: true, patchMode: "AutomaticByPlatform" };
    createVm(store, { ...common, name: AUTOMATIC_VM }, plan.start, catalog);
    createVm(store, { ...common, name: SCHEDULED_VM, bypassPlatformSafetyChecksOnUserSchedule: true }, plan.start, catalog);
    putConfiguration(session, AT, configuration, plan.start);
    assignConfiguration(session, { vm: SCHEDULED_VM, name: SCHEDULE_CONFIGURATION, configuration: AT }, plan.start);
  };
  const onEvent: Parameters<typeof runPeriod>[1]["onEvent"] = (e) => {
    if (e.type === "MaintenanceRun" && e.maintenance !== undefined) runs.push(e.maintenance);
    if (e.type !== "Installation" || !installs.has(e.vm)) return;
    const summary = installSummary(e.installation!);
    if (summary !== null) installs.get(e.vm)!.push(summary);
    if (e.installation!.maintenanceWindowExceeded) exceeded.set(e.vm, exceeded.get(e.vm)! + 1);
  };
  return runPeriod(plan, { artifactsDir: request.artifactsDir, vms, setUp, onProgress, onEvent }, async (run) => {
    const vm = async (name: string, patchedBy: string): Promise<ScheduledVmMetrics> => ({
      ...(await run.metrics(name)),
      patchedBy,
      windowsExceeded: exceeded.get(name)!,
      installs: installs.get(name)!,
    });
    return {
      period: periodOf(plan),
      schedule: scheduleOf(run, plan, runs),
      automaticVm: await vm(AUTOMATIC_VM, `automatic, ${DEFAULT_WINDOW} local`),
      scheduledVm: await vm(SCHEDULED_VM, `schedule ${SCHEDULE_CONFIGURATION}`),
    };
  });
}

/** The configuration as created and its runs that started in the period. */
function scheduleOf(run: PeriodRun, plan: SimulationPlan, runs: readonly MaintenanceRun[]): ScheduleSimulationReport["schedule"] {
  const c = getConfiguration(run.store, AT);
  const window = parseMaintenanceWindow(c.maintenanceWindow);
  const list = runs.filter((r) => Date.parse(r.start) < plan.end.getTime()).map(runSummary);
  const byStatus: Partial<Record<RunStatus, number>> = {};
  for (const r of list) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    configurationId: configurationId(c),
    summary: formatWindowSummary(window),
    maintenanceWindow: c.maintenanceWindow,
    installPatches: c.installPatches,
    windows: windowsBetween(window, plan.start, plan.end).length,
    runs: { total: list.length, byStatus, withInstalls: list.filter((r) => r.installed > 0).length, list },
  };
}
