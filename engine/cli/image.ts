/** `hotpatch image build <source.ts | module.wasm> -o <file>`: a hotpatch-enabled image. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { buildImageFromPath } from "../image/build.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerImage(program: Command, setExit: (code: number) => void): void {
  const image = program.command("image").description("build and inspect hotpatch-enabled images");
  image
    .command("build")
    .description("instrument an AssemblyScript source or a .wasm so every function is patchable")
    .argument("<input>", "an AssemblyScript source (.ts) or a WebAssembly module (.wasm)")
    .requiredOption("-o, --out <file>", "where to write the image (a .wasm with a link map section)")
    .option("--json", "print the link map summary as JSON")
    .action(
      guarded(setExit, async (input: string, options: { out: string; json?: boolean }) => {
        const started = performance.now();
        const built = await buildImageFromPath(input);
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
          functions: linkMap.functions.length,
          slots: linkMap.slots,
          globals: linkMap.globals.length,
          bytes: built.bytes.length,
          buildMillis: Math.round(performance.now() - started),
        };
        if (options.json) printJson(summary);
        else {
          say(options, `image ${options.out}: build ${linkMap.buildId}, ${summary.functions} functions in ${linkMap.slots.size} slots`);
          say(options, `  (${linkMap.slots.size - linkMap.slots.firstFree} spare), ${summary.globals} globals, ${summary.bytes} bytes`);
        }
        return 0;
      }),
    );
}
