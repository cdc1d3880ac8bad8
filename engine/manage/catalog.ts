/**
 * The update catalog: what is released when, and what applies to a VM.
 *
 * Contracts:
 * - Every month (calendar.ts) releases, on Patch Tuesday:
 *   - the OS security release `KB5YYMM00` (classification Security): a
 *     hotpatch or a baseline per the calendar; its artifacts are built from
 *     the release line (release-source.ts, artifacts.ts);
 *   - the .NET Framework cumulative update `KB5YYMM10` (classification
 *     UpdateRollup, kind non-hotpatch: reboot, no guest code change).
 * - Unplanned baselines are part of the state (meta `unplanned`), declared
 *   before their release (`declareUnplanned`).
 * - Updates are cumulative and supersede older ones of their line: a VM is
 *   offered only the newest of each line. A hotpatch-enabled VM whose
 *   baseline is older than the newest release's baseline is offered that
 *   baseline first and the newest hotpatch after it (`dependsOn`). A VM with
 *   hotpatch off gets the month's release as a cumulative update with a
 *   reboot (kind non-hotpatch, the month's full image).
 * - On an Arc-enabled server (host "arc") hotpatches are offered only while
 *   its hotpatch status is Enabled and it stands on a baseline (arc.ts
 *   `hotpatchOffered`); otherwise it is offered what a hotpatch-off VM is.
 * - Two OS lines (os-generation.ts): a VM is offered the releases of its
 *   image's generation (the calendar line the caller passes). Windows Server
 *   2025 releases are `KB5YYMM50` (OS) and `KB5YYMM60` (.NET), titled for
 *   "Windows Server 2025 Datacenter: Azure Edition"; 2022's are unchanged.
 * - History mode (meta `catalog_history`, "on" or absent; `hotpatch catalog
 *   history on|off`, chosen while the state has no VM): the lines replay
 *   Microsoft's record (release-history.ts, calendar.ts): a recorded month
 *   carries its real KB and build; the .NET update of every month, and every
 *   month not recorded, keep the synthetic KB rule. `findUpdate` resolves
 *   both lines, the .NET line and, in history mode, the recorded KBs.
 */
import { HotpatchError } from "../errors.ts";
import { type CalendarLine, formatMonth, latestReleaseAt, type LineSpec, type MonthId, parseMonth, type ReleaseMonth, releaseFor, releasesBetween } from "./calendar.ts";
import { type ArcFacts, hotpatchOffered } from "./arc.ts";
import { iso } from "./clock.ts";
import type { Classification, UpdateKind } from "./classification.ts";
import { OS_GENERATIONS, OS_LINES, type OsGeneration, osOfImage } from "./os-generation.ts";
import { calendarLine, releaseHistory } from "./release-history.ts";
import type { Store } from "./store.ts";

export type UpdateLine = "os" | "dotnet";

export interface CatalogUpdate {
  kb: string;
  month: MonthId;
  line: UpdateLine;
  title: string;
  classification: Classification;
  /** How a hotpatch-enabled VM installs it. */
  kind: UpdateKind;
  releaseDate: string;
  /** For the OS line: the baseline the release stands on. */
  baselineMonth: MonthId;
  planned: boolean;
  osBuild: string;
}

/** An update offered to one VM. */
export interface ApplicableUpdate extends CatalogUpdate {
  /** How this VM installs it (a VM with hotpatch off installs OS releases as cumulative updates). */
  installKind: UpdateKind;
  reboot: boolean;
  /** The image the VM boots after installing it (baselines and cumulative updates). */
  imageMonth: MonthId | null;
  /** KB that must be installed (and running) first. */
  dependsOn: string | null;
}

const UNPLANNED_KEY = "unplanned";
const HISTORY_KEY = "catalog_history";

/** What the catalog replays beside a VM's generation: the declared unplanned baselines and whether history mode is on. */
export interface CatalogMode {
  unplanned: readonly MonthId[];
  history: boolean;
}

/** Whether the state's catalog replays the recorded history. */
/** The calendar line of an image's generation (os-generation.ts) in the catalog's mode. */
export function catalogLine(image: string, catalog: readonly MonthId[] | CatalogMode): CalendarLine {
  const mode: CatalogMode = Array.isArray(catalog) ? { unplanned: catalog, history: false } : (catalog as CatalogMode);
  return calendarLine(osOfImage(image), mode.unplanned, mode.history);
}

export function historyMode(store: Store): boolean {
  return store.meta(HISTORY_KEY) === "on";
}

/** Turns history mode on or off; refused (E_USAGE) once the state has VMs, whose builds it would change. */
export function setHistoryMode(store: Store, on: boolean): boolean {
  if (on === historyMode(store)) return on;
  const vms = store.vms<{ name: string }>();
  if (vms.length > 0) {
    throw new HotpatchError("E_USAGE", `the catalog's history mode is chosen before the first VM is created; this state has ${vms.length} VM(s) (${vms[0].name}, …)`);
  }
  store.setMeta(HISTORY_KEY, on ? "on" : "off");
  return on;
}

export function unplannedMonths(store: Store): MonthId[] {
  return JSON.parse(store.meta(UNPLANNED_KEY) ?? "[]") as MonthId[];
}

/** Declares an unplanned baseline for a month not yet released at `now`. */
export function declareUnplanned(store: Store, month: MonthId, now: Date): MonthId[] {
  const { year, month: m } = parseMonth(month);
  const current = unplannedMonths(store);
  const release = releaseFor(formatMonth(year, m), [...current, month]); // validates (planned month, duplicates)
  if (new Date(release.releaseDate).getTime() <= now.getTime()) {
    throw new HotpatchError("E_USAGE", `${month} was released on ${release.releaseDate}; an unplanned baseline must be declared before its release`);
  }
  const next = [...current, month].sort();
  store.setMeta(UNPLANNED_KEY, JSON.stringify(next));
  return next;
}

export function osUpdate(release: ReleaseMonth): CatalogUpdate {
  const { edition } = OS_LINES[release.os ?? "2022"];
  // 2022's baseline title names the product only, as it always has.
  const product = release.os === "2025" ? edition : "Windows Server 2022";
  const title =
    release.type === "hotpatch"
      ? `${release.month} Hotpatch Security Update for ${edition} (${release.kb})`
      : `${release.month} ${release.planned ? "" : "Unplanned "}Baseline Cumulative Update for ${product} (${release.kb})`;
  return {
    kb: release.kb,
    month: release.month,
    line: "os",
    title,
    classification: "Security",
    kind: release.type,
    releaseDate: release.releaseDate,
    baselineMonth: release.baselineMonth,
    planned: release.planned,
    osBuild: release.osBuild,
  };
}

export function dotnetUpdate(release: ReleaseMonth): CatalogUpdate {
  const os = release.os ?? "2022";
  const kb = `KB5${release.month.slice(2, 4)}${release.month.slice(5, 7)}${OS_LINES[os].kbSuffix.dotnet}`;
  const product = os === "2025" ? OS_LINES[os].edition : "Windows Server 2022";
  return {
    kb,
    month: release.month,
    line: "dotnet",
    title: `${release.month} Cumulative Update for .NET Framework 3.5 and 4.8.1 for ${product} (${kb})`,
    classification: "UpdateRollup",
    kind: "non-hotpatch",
    releaseDate: release.releaseDate,
    baselineMonth: release.baselineMonth,
    planned: true,
    osBuild: release.osBuild,
  };
}

/** Every update released from `from` to `to` (months, inclusive). */
export function catalogBetween(from: MonthId, to: MonthId, spec: LineSpec): CatalogUpdate[] {
  return releasesBetween(from, to, spec).flatMap((r) => [osUpdate(r), dotnetUpdate(r)]);
}

/**
 * The update of a KB on either OS line, if it is released at `now`; E_UNKNOWN_KB
 * otherwise. `catalog` is the unplanned list (no history) or the catalog's mode.
 */
export function findUpdate(kb: string, now: Date, catalog: readonly MonthId[] | CatalogMode): CatalogUpdate {
  const mode: CatalogMode = Array.isArray(catalog) ? { unplanned: catalog, history: false } : (catalog as CatalogMode);
  const unknown = () => new HotpatchError("E_UNKNOWN_KB", `${kb} is not in the catalog at ${iso(now)}`);
  const found = lookUp(kb.trim().toUpperCase(), mode);
  if (found === undefined || new Date(found.releaseDate).getTime() > now.getTime()) throw unknown();
  return found;
}

function lookUp(kb: string, mode: CatalogMode): CatalogUpdate | undefined {
  const line = (os: OsGeneration) => calendarLine(os, mode.unplanned, mode.history);
  const match = /^KB5(\d{2})(\d{2})(\d{2})$/.exec(kb);
  const os = OS_GENERATIONS.find((g) => match !== null && Object.values(OS_LINES[g].kbSuffix).includes(match[3]));
  if (match !== null && os !== undefined && /^(0[1-9]|1[0-2])$/.test(match[2])) {
    let release: ReleaseMonth | undefined;
    try {
      release = releaseFor(`20${match[1]}-${match[2]}`, line(os));
    } catch {
      release = undefined; // outside the calendar's years: perhaps a recorded KB (KB5041160)
    }
    const update = release === undefined ? undefined : match[3] === OS_LINES[os].kbSuffix.os ? osUpdate(release) : dotnetUpdate(release);
    if (update?.kb === kb) return update; // a recorded month's OS release has its real KB instead
  }
  if (!mode.history) return undefined;
  for (const g of OS_GENERATIONS) {
    const recorded = releaseHistory(g).releases.find((r) => r.kb === kb);
    if (recorded !== undefined) return osUpdate(releaseFor(recorded.month, line(g)));
  }
  return undefined;
}

/** Installed-update facts the applicability rules need (see install.ts for the full record). */
export interface InstalledFacts {
  kb: string;
  line: UpdateLine;
  month: MonthId;
  active: boolean;
}

/** The OS level of a VM that decides what it is offered (vm.ts's VmRecord has these fields). */
export interface VmLevel {
  hotpatch: boolean;
  /** "arc": hotpatches only while its hotpatch status is Enabled (arc.ts); absent: another host. */
  host?: string;
  imageMonth: MonthId;
  osMonth: MonthId;
  pendingImageMonth: MonthId | null;
}

/** The updates offered to `vm` at `now`, in install order (reboot-requiring first). */
export function applicableUpdates(vm: VmLevel, installed: readonly InstalledFacts[], now: Date, spec: LineSpec): ApplicableUpdate[] {
  const latest = latestReleaseAt(now, spec);
  if (latest === undefined) return [];
  const out: ApplicableUpdate[] = [];
  const offer = (u: CatalogUpdate, installKind: UpdateKind, imageMonth: MonthId | null, dependsOn: string | null = null) =>
    out.push({ ...u, installKind, reboot: installKind !== "hotpatch", imageMonth, dependsOn });
  const base = vm.pendingImageMonth ?? vm.imageMonth;
  if (vm.host === "arc" ? hotpatchOffered(vm as VmLevel & ArcFacts, now, spec) : vm.hotpatch) {
    const baseline = osUpdate(releaseFor(latest.baselineMonth, spec));
    if (latest.baselineMonth > base) offer(baseline, "baseline", baseline.month);
    const level = latest.baselineMonth > base ? baseline.month : vm.osMonth;
    const hotpatchInstalled = installed.some((i) => i.active && i.kb === latest.kb);
    if (latest.type === "hotpatch" && latest.month > level && !hotpatchInstalled) {
      offer(osUpdate(latest), "hotpatch", null, latest.baselineMonth > base ? baseline.kb : null);
    }
  } else if (latest.month > (vm.pendingImageMonth ?? vm.osMonth)) {
    offer(osUpdate(latest), "non-hotpatch", latest.month);
  }
  const dotnet = dotnetUpdate(latest);
  const dotnetLevel = installed.filter((i) => i.line === "dotnet").map((i) => i.month).sort().at(-1) ?? "";
  if (dotnet.month > dotnetLevel) offer(dotnet, "non-hotpatch", null);
  return out.sort((a, b) => Number(a.installKind === "hotpatch") - Number(b.installKind === "hotpatch"));
}
