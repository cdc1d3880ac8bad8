/**
 * Renders a release schedule (from calendar.ts) for people: as a text
 * calendar and as a self-contained SVG.
 *
 * Contracts:
 * - Both renderers take any non-empty run of consecutive ReleaseMonths (a
 *   year from releaseSchedule, or a span from releasesBetween); an empty one
 *   is refused with E_USAGE. Output is deterministic.
 * - Text: an optional title line, one line per month, then one legend line.
 *   A history-mode schedule (releases with `source`) also prints a
 *   "Source:" line under the title (options.source), marks each synthetic
 *   month "(synthetic)", appends a recorded month's note, and adds a second
 *   legend line. A Windows Server 2025 schedule's default title names it.
 * - SVG: one box per month (`<rect class="month" data-month="YYYY-MM" ...>`)
 *   in a single row, colored by type, unplanned baselines with a dashed red
 *   border and a "!" marker; no external references (fonts are generic
 *   families); all text XML-escaped.
 */
import { DateTime } from "luxon";
import { HotpatchError } from "../errors.ts";
import type { ReleaseMonth } from "./calendar.ts";

export interface RenderOptions {
  /** Title line / SVG title; defaults to "Hotpatch release calendar <first>–<last year>". */
  title?: string;
  /** The record's source (history mode), printed under the title. */
  source?: { title: string; url: string; recorded: string };
}

/** The second legend line of a history-mode calendar. */
export const HISTORY_LEGEND =
  "History: months without a mark are Microsoft's record (date, kind, build, KB); (synthetic) = not in the record, from the emulator's calendar";

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The one-line legend printed under the text calendar. */
export const TEXT_LEGEND =
  "Legend: BASELINE = cumulative update; hotpatch = no reboot, built on the baseline named after 'on'; " +
  "[R] = reboot required; UNPLANNED = baseline replacing a hotpatch month; times are release instants in UTC";

/**
 * The text calendar, e.g.
 * `2027-05 May  BASELINE [R] UNPLANNED KB5270500  2027-05-11 18:00Z  20348.4300`
 * `2027-06 Jun  hotpatch     planned   KB5270600  2027-06-08 18:00Z  20348.4350  on 2027-05`
 */
export function renderScheduleText(schedule: readonly ReleaseMonth[], options: RenderOptions = {}): string {
  checkNonEmpty(schedule);
  const lines = [options.title ?? defaultTitle(schedule)];
  if (options.source !== undefined) lines.push(`Source: ${options.source.title} <${options.source.url}>`, options.source.recorded);
  for (const r of schedule) {
    const type = r.type === "baseline" ? "BASELINE" : "hotpatch";
    const reboot = r.reboot ? "[R]" : "   ";
    const planned = r.planned ? "planned  " : "UNPLANNED";
    const when = DateTime.fromISO(r.releaseDate, { zone: "utc" }).toFormat("yyyy-MM-dd HH:mm'Z'");
    const on = r.type === "hotpatch" ? `  on ${r.baselineMonth}` : "";
    const mark = `${r.source === "synthetic" ? "  (synthetic)" : ""}${r.note === undefined ? "" : `  (${r.note})`}`;
    lines.push(`${r.month} ${monthName(r)}  ${type} ${reboot} ${planned} ${r.kb}  ${when}  ${r.osBuild}${on}${mark}`);
  }
  lines.push(TEXT_LEGEND);
  if (schedule.some((r) => r.source !== undefined)) lines.push(HISTORY_LEGEND);
  return `${lines.join("\n")}\n`;
}

const BOX = { width: 96, height: 92, gap: 8, margin: 16, top: 44 };
const LEGEND_STEP = 230;
const COLORS = { baseline: "#1f4e79", unplanned: "#b03a2e", hotpatch: "#2e7d4f" };

/** The SVG calendar: a row of month boxes with a title and a legend. */
export function renderScheduleSvg(schedule: readonly ReleaseMonth[], options: RenderOptions = {}): string {
  checkNonEmpty(schedule);
  const title = options.title ?? defaultTitle(schedule);
  const boxes = BOX.margin * 2 + schedule.length * BOX.width + (schedule.length - 1) * BOX.gap;
  const width = Math.max(boxes, BOX.margin * 2 + LEGEND_STEP * 3);
  const legendY = BOX.top + BOX.height + 28;
  const height = legendY + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${BOX.margin}" y="26" font-size="16" font-weight="bold" fill="#222222">${escapeXml(title)}</text>`,
  ];
  schedule.forEach((r, i) => {
    const x = BOX.margin + i * (BOX.width + BOX.gap);
    const cx = x + BOX.width / 2;
    const unplanned = r.type === "baseline" && !r.planned;
    const fill = unplanned ? COLORS.unplanned : COLORS[r.type];
    const stroke = unplanned ? ` stroke="#000000" stroke-width="2" stroke-dasharray="5 3"` : "";
    const label = [r.type, r.planned ? "planned" : "unplanned", r.reboot ? "reboot" : "no reboot", r.kb].join(", ");
    out.push(
      `<g>`,
      `<title>${escapeXml(`${r.month}: ${label}, released ${r.releaseDate}, build ${r.osBuild}, on ${r.baselineMonth}`)}</title>`,
      `<rect class="month" data-month="${escapeXml(r.month)}" data-type="${r.type}" x="${x}" y="${BOX.top}" width="${BOX.width}" height="${BOX.height}" rx="6" fill="${fill}"${stroke}/>`,
      text(cx, BOX.top + 20, 14, "bold", `${monthName(r)}${multiYear(schedule) ? ` ${r.month.slice(0, 4)}` : ""}`),
      text(cx, BOX.top + 40, 12, "normal", r.type === "baseline" ? "Baseline" : "Hotpatch"),
      text(cx, BOX.top + 57, 11, "normal", r.kb),
      text(cx, BOX.top + 74, 11, "normal", r.releaseDate.slice(0, 10)),
    );
    if (r.reboot) out.push(text(x + BOX.width - 12, BOX.top + 20, 12, "bold", "R"));
    if (unplanned) out.push(text(x + 12, BOX.top + 20, 14, "bold", "!"));
    out.push(`</g>`);
  });
  const legend: [string, string][] = [
    [COLORS.baseline, "Planned baseline (reboot)"],
    [COLORS.unplanned, "! Unplanned baseline (reboot)"],
    [COLORS.hotpatch, "Hotpatch (no reboot)"],
  ];
  legend.forEach(([color, words], i) => {
    const x = BOX.margin + i * LEGEND_STEP;
    out.push(
      `<rect x="${x}" y="${legendY - 11}" width="14" height="14" fill="${color}"/>`,
      `<text x="${x + 20}" y="${legendY}" font-size="12" fill="#222222">${escapeXml(words)}</text>`,
    );
  });
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}

/** Escapes the five XML special characters. */
export function escapeXml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

function text(x: number, y: number, size: number, weight: string, words: string): string {
  return `<text x="${x}" y="${y}" font-size="${size}" font-weight="${weight}" text-anchor="middle" fill="#ffffff">${escapeXml(words)}</text>`;
}

function monthName(r: ReleaseMonth): string {
  return MONTH_NAMES[Number(r.month.slice(5, 7)) - 1];
}

function multiYear(schedule: readonly ReleaseMonth[]): boolean {
  return schedule[0].month.slice(0, 4) !== schedule[schedule.length - 1].month.slice(0, 4);
}

function defaultTitle(schedule: readonly ReleaseMonth[]): string {
  const first = schedule[0].month.slice(0, 4);
  const last = schedule[schedule.length - 1].month.slice(0, 4);
  const os = schedule[0].os === "2025" ? " (Windows Server 2025)" : "";
  return `Hotpatch release calendar ${first === last ? first : `${first}–${last}`}${os}`;
}

function checkNonEmpty(schedule: readonly ReleaseMonth[]): void {
  if (schedule.length === 0) throw new HotpatchError("E_USAGE", "the release schedule to render is empty");
}
