/**
 * `hotpatch patch build`: diff two versions into a signed package, or exit 3
 * with the reasons when the change needs a baseline.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { buildPatchCached } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import { loadPrivateKey } from "../patch/index.ts";
import { BUILD_CACHE_HELP, buildCacheOf } from "./build-cache.ts";
import { EXIT_REQUIRES_BASELINE, guarded, printJson, say } from "./output.ts";

interface PatchBuildOptions {
  base: string;
  target: string;
  id: string;
  key: string;
  out: string;
  title?: string;
  classification: string;
  supersedes?: string;
  mode?: string;
  cache: boolean;
  json?: boolean;
}

/** `--supersedes KB1,KB2` names them; `--supersedes none` makes the patch stack instead. */
function parseSupersedes(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  if (text.trim() === "none") return [];
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = ids.find((id) => !/^KB\d+$/.test(id));
  if (bad !== undefined) throw new HotpatchError("E_USAGE", `--supersedes takes KB ids or "none", not ${bad}`);
  return ids;
}

export function registerPatch(program: Command, setExit: (code: number) => void): void {
  const patch = program.command("patch").description("build hotpatch packages");
  patch
    .command("build")
    .description("build a signed hotpatch package from two versions of a guest")
    .requiredOption("--base <path>", "the running version: source, .wasm or image")
    .requiredOption("--target <path>", "the new version: source or .wasm")
    .requiredOption("--id <KB>", "the update's KB id, e.g. KB5036001")
    .requiredOption("--key <private.pem>", "the signing key")
    .requiredOption("-o, --out <file>", "where to write the .hpk package")
    .option("--title <text>", "a title for the update")
    .option("--classification <name>", "the update's classification", "Security")
    .option("--supersedes <KB,...|none>", "installed hotpatches this one replaces (default: all of the same baseline with lower KB numbers)")
    .option("--mode <slots|inline>", "image mode of a --base given as a source or .wasm (default inline; an image keeps its own)")
    .option("--no-cache", BUILD_CACHE_HELP)
    .option("--json", "print the result as JSON")
    .action(
      guarded(setExit, async (options: PatchBuildOptions) => {
        if (!/^KB\d+$/.test(options.id)) throw new HotpatchError("E_USAGE", `--id must look like KB5036001, not ${options.id}`);
        // Loaded only for --mode: image.ts loads the image builder, which a build-cache hit does without.
        const mode = options.mode === undefined ? undefined : (await import("./image.ts")).parseImageMode(options.mode);
        const key = loadPrivateKey(options.key);
        const result = await buildPatchCached({
          base: options.base,
          target: options.target,
          id: options.id,
          key,
          title: options.title,
          classification: options.classification,
          supersedes: parseSupersedes(options.supersedes),
          mode,
          cache: buildCacheOf(options),
        });
        const functions = result.functions.map((f) => ({ key: f.key, slot: f.slot, change: f.change, signature: f.signature }));
        const summary = { id: result.id, kind: result.kind === "no-change" ? "hotpatch" : result.kind, functions, reasons: result.reasons };
        if (result.kind === "hotpatch") {
          try {
            await writeFile(options.out, result.package);
          } catch (error) {
            throw new HotpatchError("E_IO", `cannot write ${options.out}: ${(error as Error).message}`, { path: options.out });
          }
        }
        if (options.json) printJson(result.kind === "no-change" ? { ...summary, empty: true } : summary);
        else if (result.kind === "hotpatch") {
          say(options, `${result.id}: hotpatch of ${functions.length} function(s) → ${options.out} (${result.package.length} bytes)`);
          for (const f of functions) say(options, `  ${f.change.padEnd(7)} ${f.key} (slot ${f.slot})`);
          const state = result.manifest.state;
          if (state) {
            const cells = state.cells.map((c) => `${c.key} (${c.type})`).join(", ") || "none";
            say(options, `  state   migration at the switch; cells: ${cells}; new buffers: ${state.buffers.length}; reverse migration: ${state.unmigrate ? "yes" : "none (revert refused: E_IRREVERSIBLE)"}`);
          }
        } else if (result.kind === "no-change") {
          say(options, `${result.id}: the versions do not differ in code; no package written`);
        } else {
          say(options, `${result.id}: requires a baseline (a restart); no package written:`);
          for (const r of result.reasons) say(options, `  - ${r}`);
        }
        return result.kind === "requires-baseline" ? EXIT_REQUIRES_BASELINE : 0;
      }),
    );
}
