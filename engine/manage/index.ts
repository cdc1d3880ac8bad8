/**
 * The management plane over SQLite: VMs, the release calendar and catalog,
 * assessment, installs, automatic patching, history, Get-HotFix, rollback,
 * simulate. It never imports wasm code.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { type AssessmentResult, assessVm } from "./assess.ts";
export { advanceClock } from "./auto-patch.ts";
export { formatMonth, type ReleaseMonth, releaseFor, releaseSchedule, releasesBetween } from "./calendar.ts";
export { OS_LINES, osOfImage, parseOsGeneration } from "./os-generation.ts";
export { calendarLine, releaseHistory } from "./release-history.ts";
export { catalogBetween, declareUnplanned, findUpdate, historyMode, setHistoryMode } from "./catalog.ts";
export { parseClassificationList } from "./classification.ts";
export { commandTime, iso, setClock, storedClock } from "./clock.ts";
export { DEFAULT_HISTORY_DAYS, historyView } from "./history.ts";
export { getHotFix, renderHotFix } from "./hotfix.ts";
export { closeInterrupted, type InstallRequest, type InstallResult, installUpdates, type PatchOutcome, parseRebootSetting } from "./install.ts";
export { type RemovalResult, rollbackVm, uninstallUpdate } from "./rollback.ts";
export { renderScheduleSvg, renderScheduleText } from "./schedule-render.ts";
export { type Faults, Session } from "./session.ts";
export { renderSimulationText } from "./simulate-report.ts";
export { renderScheduleSimulationText, type ScheduleSimulationReport } from "./simulate-schedule-report.ts";
export { DEFAULT_SCHEDULE_DURATION, DEFAULT_SCHEDULE_START, planScheduleSimulation, simulateSchedule } from "./simulate-schedule.ts";
export { DEFAULT_SIMULATION_ARTIFACTS, DEFAULT_SIMULATION_SEED, MAX_SIMULATION_MONTHS, SIMULATION_KEY_FILE, simulate, STANDARD_WINDOW } from "./simulate.ts";
export { useCatalogKeyFile } from "./artifacts.ts";
export { vmStatus } from "./status.ts";
export { acquireState, refuseWhileServed, releaseState } from "./state-lock.ts";
export { DEFAULT_STATE_FILE, Store } from "./store.ts";
export { parseDuration } from "./time-input.ts";
export { createVm, deleteVm, getVm, listVms, osBuildOf, setVm, type VmRecord } from "./vm.ts";
export { ALL_HOTPATCH_SKUS, checkHotpatchEligibility } from "./eligibility.ts";
export { arcEdition } from "./arc.ts";
export { nextWindow, parseWindowSpec } from "./window-spec.ts";
export type { ReleaseDefect } from "./release-source.ts";
export { recordDefect, recordedDefects } from "./release-defects.ts";
export { CONFIGURATION_TYPE, DEFAULT_PLACEMENT, type MaintenanceConfiguration, type MaintenanceConfigurationInput, configurationId, parseConfigurationId } from "./maintenance-config.ts";
export { defaultPlacement, type ConfigurationAssignment, type DynamicScope, type VmPlacement } from "./maintenance-scope.ts";
export { cancelRun, type MaintenanceRun } from "./maintenance-runs.ts";
export {
  assignConfiguration,
  deleteConfiguration,
  deleteDynamicScope,
  deleteWebhook,
  getAssignment,
  getConfiguration,
  getDynamicScope,
  listAssignments,
  listConfigurations,
  listDynamicScopes,
  listWebhooks,
  machinesOf,
  putConfiguration,
  putDynamicScope,
  putWebhook,
  runsOf,
  unassignConfiguration,
} from "./maintenance.ts";
export { formatWindowSummary, parseMaintenanceWindow } from "./maintenance-window.ts";
