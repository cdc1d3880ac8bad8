/**
 * The house rules of the source tree, read from the import statements of
 * every file in engine/, bench/ and bin/:
 * - folders form layers, and a folder imports only folders of lower layers
 *   (so there are no cycles between folders);
 * - another folder's code is reached only through its index.ts;
 * - binaryen is imported only by engine/wasm/binaryen.ts, the AssemblyScript
 *   compiler only by engine/image/compile-as.ts (bin/native-packages.mjs
 *   has Node load both natively, untransformed by tsx, for start-up time);
 * - nothing a worker thread loads reaches binaryen or the compiler;
 * - the management plane (engine/manage/) imports no wasm code;
 * - an index.ts exports only what some file outside its folder names.
 * Type-only imports (`import type`) count for the layers but not for what a
 * thread loads, since they are erased.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Lowest layer first; a folder may import folders of lower layers only. A new folder must be placed here. */
const LAYERS: readonly (readonly string[])[] = [
  ["engine/errors.ts"],
  ["engine/format", "engine/patch", "engine/guests", "engine/faults", "engine/build-cache"],
  ["engine/wasm", "engine/load"],
  ["engine/image"],
  ["engine/builder", "engine/process"],
  ["engine/loader"],
  ["engine/worker", "engine/scenario", "engine/demo"],
  ["engine/vms"],
  ["engine/manage", "engine/stress", "engine/fuzz"],
  ["engine/experiment", "engine/fleet"],
  ["engine/serve"],
  ["engine/cli"],
  ["bench/lib"],
  ["bench/suites"],
  ["bench"],
  ["bin"],
];

const COMPILER_OWNERS: Record<string, readonly string[]> = {
  binaryen: ["engine/wasm/binaryen.ts"],
  assemblyscript: ["engine/image/compile-as.ts"],
};

const WORKER_ENTRIES = ["engine/worker/worker-entry.mjs", "engine/fuzz/fuzz-worker-entry.mjs", "engine/vms/pool-entry.mjs"];

interface Import {
  from: string;
  specifier: string;
  /** The resolved file, for relative specifiers. */
  target?: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === "results" || entry.name === "node_modules" ? [] : sourceFiles(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const target = specifier.startsWith(".") ? normalize(join(dirname(file), specifier)) : undefined;
    found.push({ from: file, specifier, target, typeOnly });
  };
  for (const m of text.matchAll(STATIC)) add(m[3], m[2] !== undefined);
  for (const m of text.matchAll(DYNAMIC)) add(m[1], false);
  return found;
}

/** The node of the layer graph a file belongs to: its engine folder (subfolders included), bench/ folder, or the file itself at the top of engine/. */
function nodeOf(file: string): string {
  const dir = dirname(file);
  if (dir === "engine") return file;
  // A subfolder of an engine folder (engine/serve/routes) is part of that folder.
  return dir.startsWith("engine/") ? dir.split("/").slice(0, 2).join("/") : dir;
}

/** Every cycle's first repeated path in a directed graph, or [] when it has none. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] => {
    if (state.get(node) === "done") return [];
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle.length > 0) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return [];
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle.length > 0) return cycle;
  }
  return [];
}

const files = ["engine", "bench", "bin"].flatMap(sourceFiles);
const imports = files.flatMap(importsOf);
const crossFolder = imports.filter((i) => i.target !== undefined && nodeOf(i.target) !== nodeOf(i.from));
const layerOf = new Map(LAYERS.flatMap((nodes, level) => nodes.map((n) => [n, level] as const)));

/** The files a thread loads when it runs `entry`: runtime imports only, followed transitively. */
function runtimeClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of imports.filter((x) => x.from === file && !x.typeOnly)) {
      if (i.target) queue.push(i.target);
      else packages.add(i.specifier);
    }
  }
  return { files: seen, packages };
}

describe("the folders of engine/, bench/ and bin/", () => {
  it("finds the import statements it checks (the reader itself works)", () => {
    expect(files).toContain("engine/loader/swap.ts");
    expect(crossFolder.length).toBeGreaterThan(100);
    expect(imports.some((i) => i.specifier === "binaryen")).toBe(true);
    expect(findCycle(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]))).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(new Map([["a", new Set(["b"])], ["b", new Set<string>()]]))).toEqual([]);
  });

  it("are each placed in a layer", () => {
    const unplaced = [...new Set(files.map(nodeOf))].filter((node) => !layerOf.has(node));
    expect(unplaced).toEqual([]);
  });

  it("import only folders of lower layers", () => {
    const upward = crossFolder
      .filter((i) => layerOf.get(nodeOf(i.target!))! >= layerOf.get(nodeOf(i.from))!)
      .map((i) => `${i.from} imports ${i.target}`);
    expect(upward).toEqual([]);
  });

  it("form no cycle between folders", () => {
    const edges = new Map<string, Set<string>>();
    for (const i of crossFolder) {
      const from = nodeOf(i.from);
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(nodeOf(i.target!));
    }
    expect(findCycle(edges)).toEqual([]);
  });

  it("reach another engine folder only through its index.ts", () => {
    const internal = crossFolder
      .filter((i) => i.target!.startsWith("engine/") && dirname(i.target!) !== "engine" && !i.target!.endsWith("/index.ts"))
      .map((i) => `${i.from} imports ${i.target}`);
    expect(internal).toEqual([]);
  });

  it("leave binaryen to engine/wasm/binaryen.ts and the compiler to engine/image/compile-as.ts", () => {
    const strays = imports
      .filter((i) => {
        const pkg = i.specifier.split("/")[0];
        return pkg in COMPILER_OWNERS && !COMPILER_OWNERS[pkg].includes(i.from);
      })
      .map((i) => `${i.from} imports ${i.specifier}`);
    expect(strays).toEqual([]);
  });

  it.each(WORKER_ENTRIES)("keep binaryen and the compiler out of what %s loads", (entry) => {
    const { files: loaded, packages } = runtimeClosure(entry);
    expect(loaded.size).toBeGreaterThan(5);
    expect([...loaded].filter((f) => f.startsWith("engine/wasm/") || f.startsWith("engine/image/") || f.startsWith("engine/builder/"))).toEqual([]);
    expect([...packages].filter((p) => p.split("/")[0] in COMPILER_OWNERS)).toEqual([]);
  });

  it("export from an index.ts only names that a file outside the folder uses", () => {
    const outside = (dir: string) => [...files, ...sourceFiles("test")].filter((f) => !f.startsWith(`${dir}/`)).map((f) => readFileSync(join(ROOT, f), "utf8"));
    const unused = files
      .filter((f) => /^engine\/[^/]+\/index\.ts$/.test(f))
      .flatMap((index) => {
        const text = readFileSync(join(ROOT, index), "utf8");
        const names = [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1].split(",").map((n) => n.trim().replace(/^type /, "")));
        const others = outside(dirname(index));
        return names.filter((n) => n && !others.some((src) => new RegExp(`\\b${n}\\b`).test(src))).map((n) => `${index}: ${n}`);
      });
    expect(unused).toEqual([]);
  });

  it("keep wasm code out of the management plane's own imports", () => {
    const wasm = imports
      .filter((i) => i.from.startsWith("engine/manage/"))
      .filter((i) => i.specifier.split("/")[0] in COMPILER_OWNERS || (i.target !== undefined && /^engine\/(wasm|format)\//.test(i.target)))
      .map((i) => `${relative("engine/manage", i.from)} imports ${i.specifier}`);
    expect(wasm).toEqual([]);
  });
});
