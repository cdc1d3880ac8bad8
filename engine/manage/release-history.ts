/**
 * Microsoft's real release history, as data: one JSON file per Windows Server
 * generation in engine/manage/release-history/ (windows-server-<os>.json).
 *
 * Contracts:
 * - A file is `{ os, source: { title, url, recorded }, releases: [...] }`:
 *   `source` names the Microsoft page the entries come from (title, an
 *   https URL) and says which months are recorded; each release is
 *   `{ month, releaseDate, kind, planned, build, kb, note? }`.
 * - The loader refuses a bad file with E_FORMAT naming the file and the
 *   entry (its index and month) and the reason: unknown or missing fields,
 *   months not strictly ascending, a releaseDate that is not that month's
 *   Patch Tuesday at the calendar's release hour (calendar.ts), a planned
 *   baseline month (January, April, July, October) that is not a planned
 *   baseline, an unplanned entry that is not a baseline, a baseline in
 *   another month that claims to be planned, a build outside the
 *   generation's line (20348.N / 26100.N) or not ascending, a malformed or
 *   repeated KB.
 * - Only months that are in the file are recorded; the catalog's history
 *   mode (calendar.ts) uses the synthetic calendar for every other month.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HotpatchError } from "../errors.ts";
import { type CalendarLine, type MonthId, PLANNED_BASELINE_MONTHS, parseMonth, patchTuesday, type ReleaseType } from "./calendar.ts";
import { OS_LINES, type OsGeneration } from "./os-generation.ts";

/** One recorded month. */
export interface RecordedRelease {
  month: MonthId;
  releaseDate: string;
  kind: ReleaseType;
  planned: boolean;
  build: string;
  kb: string;
  note?: string;
}

export interface ReleaseHistory {
  os: OsGeneration;
  source: { title: string; url: string; recorded: string };
  releases: RecordedRelease[];
  byMonth: ReadonlyMap<MonthId, RecordedRelease>;
}

const ENTRY_FIELDS = ["month", "releaseDate", "kind", "planned", "build", "kb", "note"];
const cache = new Map<OsGeneration, ReleaseHistory>();

/** The file of a generation's history. */
export function historyFile(os: OsGeneration): string {
  return fileURLToPath(new URL(`./release-history/windows-server-${os}.json`, import.meta.url));
}

/** The recorded history of a generation, read and validated once. */
export function releaseHistory(os: OsGeneration): ReleaseHistory {
  let history = cache.get(os);
  if (history === undefined) {
    const file = historyFile(os);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new HotpatchError("E_FORMAT", `release history ${file} cannot be read as JSON: ${(error as Error).message}`);
    }
    history = parseReleaseHistory(json, os, file);
    cache.set(os, history);
  }
  return history;
}

/** Validates a history document (see the contract); `name` names it in refusals. */
export function parseReleaseHistory(json: unknown, os: OsGeneration, name: string): ReleaseHistory {
  const bad = (why: string) => new HotpatchError("E_FORMAT", `release history ${name}: ${why}`);
  if (!isObject(json)) throw bad("the document is not a JSON object");
  if (json.os !== os) throw bad(`"os" is ${JSON.stringify(json.os)}, expected "${os}"`);
  const source = json.source;
  if (!isObject(source) || !text(source.title) || !text(source.recorded) || !text(source.url) || !/^https:\/\/\S+$/.test(source.url)) {
    throw bad(`"source" must be { title, url (https), recorded } with non-empty strings`);
  }
  if (!Array.isArray(json.releases) || json.releases.length === 0) throw bad(`"releases" must be a non-empty array`);
  const releases: RecordedRelease[] = [];
  json.releases.forEach((entry: unknown, index: number) => {
    const month = isObject(entry) && typeof entry.month === "string" ? entry.month : "?";
    const refuse = (why: string) => bad(`entry ${index} (${month}): ${why}`);
    releases.push(checkEntry(entry, os, releases.at(-1), refuse));
  });
  const kbs = new Set<string>();
  releases.forEach((r, index) => {
    if (kbs.has(r.kb)) throw bad(`entry ${index} (${r.month}): ${r.kb} is listed twice`);
    kbs.add(r.kb);
  });
  return {
    os,
    source: { title: source.title as string, url: source.url as string, recorded: source.recorded as string },
    releases,
    byMonth: new Map(releases.map((r) => [r.month, r])),
  };
}

function checkEntry(entry: unknown, os: OsGeneration, previous: RecordedRelease | undefined, refuse: (why: string) => Error): RecordedRelease {
  if (!isObject(entry)) throw refuse("the entry is not an object");
  const unknown = Object.keys(entry).filter((k) => !ENTRY_FIELDS.includes(k));
  if (unknown.length > 0) throw refuse(`unknown field(s) ${unknown.join(", ")}`);
  const { month, releaseDate, kind, planned, build, kb, note } = entry;
  if (typeof month !== "string" || !/^\d{4}-\d{2}$/.test(month)) throw refuse(`"month" must be "YYYY-MM"`);
  let parsed: { year: number; month: number };
  try {
    parsed = parseMonth(month);
  } catch (error) {
    throw refuse((error as Error).message);
  }
  if (previous !== undefined && month <= previous.month) throw refuse(`months must be ascending, but ${month} follows ${previous.month}`);
  const tuesday = patchTuesday(parsed.year, parsed.month).toISOString().replace(".000Z", "Z");
  if (releaseDate !== tuesday) throw refuse(`"releaseDate" must be the month's Patch Tuesday release instant ${tuesday}, not ${JSON.stringify(releaseDate)}`);
  if (kind !== "baseline" && kind !== "hotpatch") throw refuse(`"kind" must be "baseline" or "hotpatch"`);
  if (typeof planned !== "boolean") throw refuse(`"planned" must be true or false`);
  const plannedMonth = PLANNED_BASELINE_MONTHS.includes(parsed.month);
  if (plannedMonth && (kind !== "baseline" || !planned)) throw refuse(`${month} is a planned baseline month, so its release must be a planned baseline`);
  if (!plannedMonth && kind === "baseline" && planned) throw refuse(`a baseline in ${month} (not January, April, July or October) is unplanned: "planned" must be false`);
  if (kind === "hotpatch" && !planned) throw refuse(`a hotpatch is always planned; an unplanned month is an unplanned baseline`);
  const major = OS_LINES[os].buildMajor;
  const n = typeof build === "string" ? new RegExp(`^${major}\\.(\\d{1,5})$`).exec(build)?.[1] : undefined;
  if (n === undefined) throw refuse(`"build" must be "${major}.N", not ${JSON.stringify(build)}`);
  if (previous !== undefined && Number(n) <= Number(previous.build.split(".")[1])) throw refuse(`build ${build} is not after ${previous.build}`);
  if (typeof kb !== "string" || !/^KB\d{6,7}$/.test(kb)) throw refuse(`"kb" must be "KB" and 6 or 7 digits, not ${JSON.stringify(kb)}`);
  if (note !== undefined && !text(note)) throw refuse(`"note" must be a non-empty string when given`);
  return { month, releaseDate, kind, planned, build: build as string, kb, ...(note === undefined ? {} : { note: note as string }) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** The calendar line of a generation: its declared unplanned baselines and, in history mode, its record. */
export function calendarLine(os: OsGeneration, unplanned: readonly MonthId[] = [], history = false): CalendarLine {
  return { os, unplanned, history: history ? releaseHistory(os) : null };
}
