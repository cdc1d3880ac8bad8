/** `hotpatch image build <source.ts | module.wasm> -o <file>`: a hotpatch-enabled image. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { buildImageFromPath, DEFAULT_IMAGE_MODE, IMAGE_MODES, type ImageMode } from "../image/index.ts";
import { BUILD_CACHE_HELP, buildCacheOf } from "./build-cache.ts";
import { guarded, printJson, say } from "./output.ts";

/** `--mode slots|inline` (engine/image/build.ts); undefined stays undefined (the builder then uses DEFAULT_IMAGE_MODE). */
export function parseImageMode(text: string | undefined): ImageMode | undefined {
  if (text === undefined) return undefined;
  if (!(IMAGE_MODES as readonly string[]).includes(text)) throw new HotpatchError("E_USAGE", `--mode must be one of ${IMAGE_MODES.join(", ")}, not ${text}`);
  return text as ImageMode;
}

/** What `--mode` means, naming the default. */
const IMAGE_MODE_HELP = `image mode, default ${DEFAULT_IMAGE_MODE} (slots for a .wasm without a name section). inline: optimise with inlining first (within a few % of a plain build), a patch replaces every changed caller; slots: no function is inlined into another, a patch replaces exactly the changed functions, every call goes through the slot table`;

export function registerImage(program: Command, setExit: (code: number) => void): void {
  const image = program.command("image").description("build and inspect hotpatch-enabled images");
  image
    .command("build")
    .description("instrument an AssemblyScript source or a .wasm so every function is patchable")
    .argument("<input>", "an AssemblyScript source (.ts) or a WebAssembly module (.wasm)")
    .requiredOption("-o, --out <file>", "where to write the image (a .wasm with a link map section)")
    .option("--mode <slots|inline>", IMAGE_MODE_HELP)
    .option("--no-cache", BUILD_CACHE_HELP)
    .option("--json", "print the link map summary as JSON")
    .action(
      guarded(setExit, async (input: string, options: { out: string; mode?: string; cache: boolean; json?: boolean }) => {
        const started = performance.now();
        const built = await buildImageFromPath(input, { mode: parseImageMode(options.mode), cache: buildCacheOf(options) });
        try {
          await writeFile(options.out, built.bytes);
        } catch (error) {
          throw new HotpatchError("E_IO", `cannot write ${options.out}: ${(error as Error).message}`, { path: options.out });
        }
        const { linkMap } = built;
        const summary = {
          out: options.out,
          buildId: linkMap.buildId,
          source: linkMap.source,
          mode: linkMap.mode ?? "slots", // absent: an image built before modes existed
          functions: linkMap.functions.length,
          slots: linkMap.slots,
          globals: linkMap.globals.length,
          bytes: built.bytes.length,
          buildMillis: Math.round(performance.now() - started),
        };
        if (options.json) printJson(summary);
        else {
          say(options, `image ${options.out}: build ${linkMap.buildId} (${summary.mode} mode), ${summary.functions} functions in ${linkMap.slots.size} slots`);
          say(options, `  (${linkMap.slots.size - linkMap.slots.firstFree} spare), ${summary.globals} globals, ${summary.bytes} bytes`);
        }
        return 0;
      }),
    );
}
