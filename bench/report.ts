/**
 * Writes a run's results: `<timestamp>.json` (the results object),
 * `<timestamp>.md` (tables) and `<timestamp>.svg` (charts) in the results
 * folder (bench/results by default; git-ignored except .gitkeep).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Distribution, Target } from "./lib/stats.ts";
import type { SuiteResult } from "./lib/suite.ts";
import type { BenchResults } from "./run.ts";

export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

export function writeResults(results: BenchResults, dir = DEFAULT_RESULTS_DIR): { json: string; markdown: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  const paths = { json: join(dir, `${stamp}.json`), markdown: join(dir, `${stamp}.md`), svg: join(dir, `${stamp}.svg`) };
  writeFileSync(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(paths.markdown, toMarkdown(results, `${stamp}.svg`));
  writeFileSync(paths.svg, toSvg(results));
  return paths;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? "—" : String(v));

export function machineLine(results: BenchResults): string {
  const m = results.machine;
  const pkgs = Object.entries(m.packages)
    .map(([n, v]) => `${n} ${v}`)
    .join(", ");
  return (
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node} (V8 ${m.v8}); ${pkgs}; ` +
    `load average at start ${m.loadAverageAtStart.join(" / ")}; commit ${m.project.commit ?? "?"}${m.project.dirty ? " (uncommitted changes)" : ""}.`
  );
}

export function targetCell(t: Target): string {
  if (t.skipped) return `skipped: ${t.reason}`;
  return t.met ? "**met**" : "**missed**";
}

export function targetsTable(results: BenchResults): string {
  const rows = ["| suite | target | goal | value | met |", "|---|---|---|---|---|"];
  for (const s of results.suites) {
    for (const t of s.targets) {
      const goal = `${t.comparison === "<=" ? "≤" : "≥"} ${t.goal} ${t.unit}`;
      rows.push(`| ${s.name} | ${t.name} | ${goal} | ${t.value === null ? "—" : `${t.value} ${t.unit}`} | ${targetCell(t)} |`);
    }
  }
  return rows.join("\n");
}

export function distributionTable(distributions: readonly Distribution[]): string {
  const rows = ["| measurement | n | p50 | p90 | p99 | max | mean | unit |", "|---|--:|--:|--:|--:|--:|--:|---|"];
  for (const d of distributions) rows.push(`| ${d.label} | ${d.n} | ${fmt(d.p50)} | ${fmt(d.p90)} | ${fmt(d.p99)} | ${fmt(d.max)} | ${fmt(d.mean)} | ${d.unit} |`);
  return rows.join("\n");
}

function suiteMarkdown(s: SuiteResult): string {
  const parts = [`## ${s.name} — ${s.title} (${s.seconds} s)`];
  if (s.skipped) parts.push(`Skipped: ${s.reason}`);
  if (s.distributions.length > 0) parts.push(distributionTable(s.distributions));
  const figures = Object.entries(s.figures);
  if (figures.length > 0) parts.push(["| figure | value |", "|---|--:|", ...figures.map(([k, v]) => `| ${k} | ${v} |`)].join("\n"));
  if (s.notes.length > 0) parts.push(s.notes.map((n) => `- ${n}`).join("\n"));
  return parts.join("\n\n");
}

export function toMarkdown(results: BenchResults, svgName?: string): string {
  const parts = [
    `# hotpatch bench — ${results.startedAt} (${results.mode}, ${results.seconds} s)`,
    `Machine: ${machineLine(results)}`,
    "Latencies in µs unless a row says otherwise; p99 is only given from at least 1,000 samples. On a shared, noisy machine compare ratios measured in the same run, not absolute times across runs.",
    "## Targets",
    targetsTable(results),
    ...(svgName ? [`![charts](${svgName})`] : []),
    ...results.suites.map(suiteMarkdown),
  ];
  return `${parts.join("\n\n")}\n`;
}

// ---------------------------------------------------------------------------
// SVG: one horizontal bar chart per suite (p50 solid, p99 or max light), log scale.

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function toSvg(results: BenchResults): string {
  const width = 980;
  const labelWidth = 380;
  const rowHeight = 16;
  const charts = results.suites
    .map((s) => ({ suite: s, rows: s.distributions.filter((d) => d.n > 0 && !d.label.includes("phase:")) }))
    .filter((c) => c.rows.length > 0);
  let y = 30;
  const body: string[] = [`<text x="10" y="20" font-size="14" font-weight="bold">hotpatch bench ${xml(results.startedAt)} (${results.mode}) — p50 (dark), p99 or max (light), log scale</text>`];
  for (const { suite, rows } of charts) {
    const values = rows.flatMap((d) => [d.p50, d.p99 ?? d.max]).filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(Math.max(...values)));
    const span = Math.max(1, hi - lo);
    const x = (v: number) => labelWidth + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * (width - labelWidth - 20);
    y += 24;
    body.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${xml(suite.name)}</text>`);
    y += 6;
    for (let e = lo; e <= hi; e++) {
      body.push(`<line x1="${x(10 ** e)}" y1="${y}" x2="${x(10 ** e)}" y2="${y + rows.length * rowHeight}" stroke="#ddd"/>`);
      body.push(`<text x="${x(10 ** e)}" y="${y + rows.length * rowHeight + 12}" font-size="10" text-anchor="middle">${10 ** e}</text>`);
    }
    for (const d of rows) {
      const upper = d.p99 ?? d.max;
      body.push(`<text x="${labelWidth - 6}" y="${y + 12}" font-size="11" text-anchor="end">${xml(`${d.label} (${d.unit})`)}</text>`);
      body.push(`<rect x="${labelWidth}" y="${y + 2}" width="${Math.max(1, x(upper) - labelWidth)}" height="${rowHeight - 4}" fill="#9ecae1"/>`);
      body.push(`<rect x="${labelWidth}" y="${y + 2}" width="${Math.max(1, x(d.p50) - labelWidth)}" height="${rowHeight - 4}" fill="#3182bd"/>`);
      y += rowHeight;
    }
    y += 16;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body.join("\n")}\n</svg>\n`;
}
