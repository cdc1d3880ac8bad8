import { describe, expect, it } from "vitest";
import { releasesBetween } from "../engine/manage/calendar.ts";
import { releaseSchedule, renderScheduleSvg, renderScheduleText } from "../engine/manage/index.ts";
import { refusal } from "./refusal.ts";

/** A small well-formedness check: every tag closes in order, attributes are quoted, entities are known. */
function checkXml(xml: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(xml); m !== null; m = tag.exec(xml)) {
    const between = xml.slice(last, m.index);
    expect(between, "text between tags").not.toMatch(/[<>]/);
    expect(between.replace(/&(amp|lt|gt|quot|apos);/g, ""), "bare ampersand").not.toContain("&");
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else {
      seen.push(name);
      if (!selfClosing) stack.push(name);
    }
  }
  expect(xml.slice(last).trim()).toBe("");
  expect(stack).toEqual([]);
  return seen;
}

describe("renderScheduleText", () => {
  const text = renderScheduleText(releaseSchedule({ year: 2027, unplanned: ["2027-05"] }));
  const lines = text.trimEnd().split("\n");

  it("prints a title, one line per month and a one-line legend", () => {
    expect(lines).toHaveLength(14);
    expect(lines[0]).toBe("Hotpatch release calendar 2027");
    expect(lines[13]).toMatch(/^Legend: /);
    expect(lines.slice(1, 13).map((l) => l.slice(0, 7))).toEqual([
      "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06",
      "2027-07", "2027-08", "2027-09", "2027-10", "2027-11", "2027-12",
    ]);
  });

  it("marks the unplanned baseline, its reboot, KB and release date", () => {
    const may = lines[5];
    for (const part of ["BASELINE", "[R]", "UNPLANNED", "KB5270500", "2027-05-11 18:00Z"]) expect(may).toContain(part);
  });

  it("shows hotpatches without a reboot marker and with their baseline", () => {
    const june = lines[6];
    expect(june).toContain("hotpatch");
    expect(june).toContain("on 2027-05");
    expect(june).toContain("2027-06-08");
    expect(june).not.toContain("[R]");
    expect(lines[1]).toContain("[R]");
    expect(lines[1]).toContain("planned");
    expect(lines[1]).not.toContain("UNPLANNED");
  });

  it("counts reboots: four planned baselines plus one unplanned", () => {
    expect(lines.slice(1, 13).filter((l) => l.includes("[R]"))).toHaveLength(5);
  });
});

describe("renderScheduleSvg", () => {
  const svg = renderScheduleSvg(releaseSchedule({ year: 2027, unplanned: ["2027-05"] }));
  const boxes = [...svg.matchAll(/<rect class="month"[^>]*>/g)].map((m) => m[0]);

  it("is balanced XML rooted in a namespaced svg element", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const tags = checkXml(svg);
    expect(tags[0]).toBe("svg");
    expect(tags.filter((t) => t === "svg")).toHaveLength(1);
    expect(svg).not.toMatch(/href=|url\(|@import|<script/);
  });

  it("draws twelve month boxes in one row, in month order", () => {
    expect(boxes).toHaveLength(12);
    expect(boxes.map((b) => /data-month="([^"]+)"/.exec(b)?.[1])).toEqual([
      "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06",
      "2027-07", "2027-08", "2027-09", "2027-10", "2027-11", "2027-12",
    ]);
    expect(new Set(boxes.map((b) => /\by="([^"]+)"/.exec(b)?.[1])).size).toBe(1);
    const xs = boxes.map((b) => Number(/\bx="([^"]+)"/.exec(b)?.[1]));
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
  });

  it("colors boxes by type and marks the unplanned baseline alone with a dashed border", () => {
    const fill = (b: string) => /fill="([^"]+)"/.exec(b)?.[1];
    const fills = boxes.map(fill);
    const planned = fills[0];
    const hotpatch = fills[1];
    const unplanned = fills[4];
    expect(new Set([planned, hotpatch, unplanned]).size).toBe(3);
    expect(fills).toEqual([
      planned, hotpatch, hotpatch, planned, unplanned, hotpatch,
      planned, hotpatch, hotpatch, planned, hotpatch, hotpatch,
    ]);
    expect(boxes.filter((b) => b.includes("stroke-dasharray"))).toHaveLength(1);
    expect(boxes[4]).toContain("stroke-dasharray");
  });

  it("labels the boxes with month names and KBs and has a legend", () => {
    for (const label of [">Jan<", ">May<", ">Dec<", ">KB5270500<", ">2027-05-11<", "Unplanned baseline", "Hotpatch (no reboot)"]) {
      expect(svg).toContain(label);
    }
  });

  it("escapes the title and stays well-formed", () => {
    const escaped = renderScheduleSvg(releaseSchedule({ year: 2027 }), { title: `R&D <"plan">` });
    expect(escaped).toContain("R&amp;D &lt;&quot;plan&quot;&gt;");
    checkXml(escaped);
  });

  it("draws one box per month across a year end, naming the years", () => {
    const span = renderScheduleSvg(releasesBetween("2027-11", "2028-02"));
    checkXml(span);
    expect([...span.matchAll(/<rect class="month"/g)]).toHaveLength(4);
    expect(span).toContain(">Nov 2027<");
    expect(span).toContain(">Jan 2028<");
  });
});

describe("rendering an empty schedule", () => {
  it("is refused by both renderers", () => {
    refusal(() => renderScheduleText([]), "E_USAGE");
    refusal(() => renderScheduleSvg([]), "E_USAGE");
  });
});
