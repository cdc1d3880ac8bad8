/**
 * Update history (S13): one entry per update an install, uninstall or
 * rollback touched, written InProgress before the work and completed after.
 *
 * Contracts: the view covers the last `days` days (default 30) before `now`
 * by start time; each entry carries its times in UTC and on the VM's local
 * clock (its IANA zone), its reboot, emulated duration, errors and health.
 */
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import { iso } from "./clock.ts";
import type { Store } from "./store.ts";
import { getVm } from "./vm.ts";

export const DEFAULT_HISTORY_DAYS = 30;

export interface HistoryEntry {
  activityId: string;
  operation: "Install" | "Uninstall" | "Rollback";
  trigger: string;
  /** The maintenance configuration whose run made the entry (trigger MaintenanceConfiguration). */
  maintenanceConfigurationId?: string;
  kb: string;
  title: string;
  kind: string;
  classification: string;
  /** InProgress until the run completes; Failed if it was interrupted. */
  result: string;
  startedAt: string;
  finishedAt: string | null;
  reboot: boolean;
  durationSeconds: number;
  errors: string[];
  applyMicros: number | null;
  health: string | null;
}

export interface HistoryView {
  vm: string;
  timeZone: string;
  days: number;
  from: string;
  entries: (HistoryEntry & { startedAtLocal: string; finishedAtLocal: string | null })[];
}

export function recordHistory(store: Store, vm: string, entry: HistoryEntry): number {
  return store.addHistory(vm, entry.startedAt, entry);
}

export function historyView(store: Store, vmName: string, now: Date, days = DEFAULT_HISTORY_DAYS): HistoryView {
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new HotpatchError("E_USAGE", `--days must be a whole number from 1 to 3650, not ${days}`);
  const vm = getVm(store, vmName);
  const from = iso(new Date(now.getTime() - days * 86_400_000));
  const local = (t: string | null) => (t === null ? null : DateTime.fromISO(t, { zone: vm.timeZone }).toFormat("yyyy-MM-dd HH:mm:ss ZZZZ"));
  const entries = store
    .history<HistoryEntry>(vmName, from)
    .filter((e) => e.doc.startedAt <= iso(now))
    .map(({ doc }) => ({ ...doc, startedAtLocal: local(doc.startedAt)!, finishedAtLocal: local(doc.finishedAt) }));
  return { vm: vmName, timeZone: vm.timeZone, days, from, entries };
}
