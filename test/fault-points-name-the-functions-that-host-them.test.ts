/**
 * The catalogue of fault points (engine/faults/points.ts) stays true to the
 * code: every entry's `where` reads "engine/<path>.ts <function>: <place>"
 * (or "<Class>.<method>"), that function exists in that file, the file makes
 * exactly one `faults.hit("<point>"` call, and the call lies in that
 * function's body.
 *
 * The body of a declaration is found by the source's indentation: it ends at
 * the first later line that closes it at the declaration's own indentation.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FAULT_POINT_NAMES, FAULT_POINTS } from "../engine/faults/points.ts";

const ROOT = new URL("../", import.meta.url);
const WHERE = /^(engine\/[\w/.-]+\.ts) ([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?): \S/;

interface Body {
  /** Line indexes of the declaration and of the line that closes its body. */
  start: number;
  end: number;
}

const KEYWORDS = "(?:(?:export|default|async|private|protected|public|static|readonly|override|get|set|function\\*?|class|const|let)\\s+)*";
const code = (line: string) => line.replace(/\s*\/\/.*$/, "").trimEnd();
/** A line that opens a body or a parameter list; `=> {` opens one only for a constant (else it is a call passing a callback). */
const opens = (line: string) => {
  const text = code(line);
  return text.endsWith("(") || (text.endsWith("{") && (!text.endsWith("=> {") || /^\s*(?:export\s+)?(?:const|let)\s/.test(text)));
};

/** A function, method, class or constant named `name`, declared in lines [from, to); calls are not declarations. */
function findDeclaration(lines: readonly string[], name: string, from = 0, to = lines.length): Body | undefined {
  const declaration = new RegExp(`^(\\s*)${KEYWORDS}${name.replace(/\$/g, "\\$")}\\s*(?:[<(=]|(?:extends|implements)\\b|\\{)`);
  for (let i = from; i < to; i++) {
    const m = declaration.exec(lines[i]);
    if (m === null || !opens(lines[i])) continue;
    const indent = m[1];
    let open = i;
    if (code(lines[i]).endsWith("(")) {
      // A parameter list over several lines: a declaration if its closing line opens the body.
      open = lines.findIndex((line, j) => j > i && line.startsWith(`${indent})`));
      if (open < 0 || open >= to || !opens(lines[open]) || code(lines[open]).endsWith("(")) continue;
    }
    const end = lines.findIndex((line, j) => j > open && line.startsWith(`${indent}}`));
    if (end > open && end < to) return { start: i, end };
  }
  return undefined;
}

/** The body of `fn` or `Class.method` in `lines`. */
function findFunction(lines: readonly string[], qualified: string): Body | undefined {
  const [outer, inner] = qualified.split(".");
  const found = findDeclaration(lines, outer);
  if (found === undefined || inner === undefined) return found;
  return findDeclaration(lines, inner, found.start + 1, found.end);
}

describe("the fault-point catalogue", () => {
  for (const point of FAULT_POINT_NAMES) {
    const { where } = FAULT_POINTS[point];
    it(`${point}: ${where.split(":")[0]} exists and makes the point's one faults.hit call`, () => {
      const parsed = WHERE.exec(where);
      expect(parsed, `"${where}" does not read "engine/<file>.ts <function>: <place>"`).not.toBeNull();
      const [, file, fn] = parsed!;
      const text = readFileSync(new URL(file, ROOT), "utf8");
      const lines = text.split("\n");
      const calls = lines.flatMap((line, i) => (line.includes(`faults.hit(${JSON.stringify(point)}`) ? [i] : []));
      expect(calls, `faults.hit("${point}" calls in ${file}`).toHaveLength(1);
      const body = findFunction(lines, fn);
      expect(body, `${fn} is not declared in ${file}`).toBeDefined();
      expect(calls[0], `the faults.hit("${point}" call (line ${calls[0] + 1}) lies outside ${fn} (lines ${body!.start + 1}–${body!.end + 1})`).toBeGreaterThan(body!.start);
      expect(calls[0]).toBeLessThan(body!.end);
    });
  }

  it("finds declarations the way the catalogue's files write them", () => {
    const lines = [
      "function run(): void {",
      "  commit(session, () => {",
      "  });",
      "  link(",
      "    1,",
      "  );",
      "}",
      "export function commit(a: number, write: () => void): void {",
      "  commit(1); // again",
      "}",
      "class Linker {",
      "  private link(",
      "    staged: string,",
      "  ): void {",
      "    hit();",
      "  }",
      "}",
      "const exceed = (o: number) => {",
      "};",
    ];
    expect(findFunction(lines, "run")).toEqual({ start: 0, end: 6 });
    expect(findFunction(lines, "commit")).toEqual({ start: 7, end: 9 });
    expect(findFunction(lines, "link")).toEqual({ start: 11, end: 15 });
    expect(findFunction(lines, "Linker.link")).toEqual({ start: 11, end: 15 });
    expect(findFunction(lines, "Linker")).toEqual({ start: 10, end: 16 });
    expect(findFunction(lines, "exceed")).toEqual({ start: 17, end: 18 });
    expect(findFunction(lines, "Linker.run")).toBeUndefined();
    expect(findFunction(lines, "finish")).toBeUndefined();
  });
});
