/**
 * `Get-HotFix` (S14): the installed updates of a VM with the cmdlet's
 * columns. Source is the computer name; Description is "Security Update"
 * for Critical and Security updates and "Update" otherwise; InstalledOn is
 * the local date on the VM's clock (M/d/yyyy, as PowerShell prints it).
 * Superseded updates stay listed, as Windows keeps them in the list.
 */
import { DateTime } from "luxon";
import { isAutoInstallable, parseClassification } from "./classification.ts";
import type { Session } from "./session.ts";
import { getVm } from "./vm.ts";

export interface HotFixRow {
  Source: string;
  Description: string;
  HotFixID: string;
  InstalledBy: string;
  InstalledOn: string;
}

export function getHotFix(session: Session, vmName: string): HotFixRow[] {
  const vm = getVm(session.store, vmName);
  return session
    .installedUpdates(vmName)
    .filter((u) => u.state === "Installed")
    .map((u) => ({
      Source: vm.name.toUpperCase(),
      Description: isAutoInstallable(parseClassification(u.classification)) ? "Security Update" : "Update",
      HotFixID: u.kb,
      InstalledBy: u.installedBy,
      InstalledOn: DateTime.fromISO(u.installedAt, { zone: vm.timeZone }).toFormat("M/d/yyyy"),
    }));
}

/** The table as PowerShell prints it. */
export function renderHotFix(rows: readonly HotFixRow[]): string {
  const columns = ["Source", "Description", "HotFixID", "InstalledBy", "InstalledOn"] as const;
  const width = (c: (typeof columns)[number]) => Math.max(c.length, ...rows.map((r) => r[c].length));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(width(columns[i]))).join(" ").trimEnd();
  return [
    line([...columns]),
    line(columns.map((c) => "-".repeat(width(c)))),
    ...rows.map((r) => line(columns.map((c) => r[c]))),
  ].join("\n");
}
