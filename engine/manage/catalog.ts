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
 */
import { HotpatchError } from "../errors.ts";
import { formatMonth, latestReleaseAt, type MonthId, parseMonth, type ReleaseMonth, releaseFor, releasesBetween } from "./calendar.ts";
import { iso } from "./clock.ts";
import type { Classification, UpdateKind } from "./classification.ts";
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
  const title =
    release.type === "hotpatch"
      ? `${release.month} Hotpatch Security Update for Windows Server 2022 Datacenter: Azure Edition (${release.kb})`
      : `${release.month} ${release.planned ? "" : "Unplanned "}Baseline Cumulative Update for Windows Server 2022 (${release.kb})`;
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
  const kb = `${release.kb.slice(0, -2)}10`;
  return {
    kb,
    month: release.month,
    line: "dotnet",
    title: `${release.month} Cumulative Update for .NET Framework 3.5 and 4.8.1 for Windows Server 2022 (${kb})`,
    classification: "UpdateRollup",
    kind: "non-hotpatch",
    releaseDate: release.releaseDate,
    baselineMonth: release.baselineMonth,
    planned: true,
    osBuild: release.osBuild,
  };
}

/** Every update released from `from` to `to` (months, inclusive). */
export function catalogBetween(from: MonthId, to: MonthId, unplanned: readonly MonthId[]): CatalogUpdate[] {
  return releasesBetween(from, to, unplanned).flatMap((r) => [osUpdate(r), dotnetUpdate(r)]);
}

/** The update of a KB, if it is released at `now`; E_UNKNOWN_KB otherwise. */
export function findUpdate(kb: string, now: Date, unplanned: readonly MonthId[]): CatalogUpdate {
  const match = /^KB5(\d{2})(\d{2})(00|10)$/i.exec(kb.trim());
  const unknown = () => new HotpatchError("E_UNKNOWN_KB", `${kb} is not in the catalog at ${iso(now)}`);
  if (match === null) throw unknown();
  const month = `20${match[1]}-${match[2]}`;
  if (!/^20\d{2}-(0[1-9]|1[0-2])$/.test(month)) throw unknown();
  let release: ReleaseMonth;
  try {
    release = releaseFor(month, unplanned);
  } catch {
    throw unknown();
  }
  if (new Date(release.releaseDate).getTime() > now.getTime()) throw unknown();
  return match[3] === "00" ? osUpdate(release) : dotnetUpdate(release);
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
  imageMonth: MonthId;
  osMonth: MonthId;
  pendingImageMonth: MonthId | null;
}

/** The updates offered to `vm` at `now`, in install order (reboot-requiring first). */
export function applicableUpdates(vm: VmLevel, installed: readonly InstalledFacts[], now: Date, unplanned: readonly MonthId[]): ApplicableUpdate[] {
  const latest = latestReleaseAt(now, unplanned);
  if (latest === undefined) return [];
  const out: ApplicableUpdate[] = [];
  const offer = (u: CatalogUpdate, installKind: UpdateKind, imageMonth: MonthId | null, dependsOn: string | null = null) =>
    out.push({ ...u, installKind, reboot: installKind !== "hotpatch", imageMonth, dependsOn });
  const base = vm.pendingImageMonth ?? vm.imageMonth;
  if (vm.hotpatch) {
    const baseline = osUpdate(releaseFor(latest.baselineMonth, unplanned));
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
