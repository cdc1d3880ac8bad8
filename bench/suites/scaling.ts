/**
 * Suite 7 — scaling of apply latency on kvstore (one-function fix):
 * - against package size: the same patch padded with a custom section of
 *   0 B … 1 MiB (signature, decode and compile all read every byte);
 * - against the depth of the patch stack: d patches installed on the same
 *   slot before each timed apply;
 * - against history: the number of code pages instantiated against the slot
 *   table earlier in the process's life (all reverted). V8 keeps every
 *   instance that imported a table in that table's dispatch list, so each
 *   table write pays for all of them (measured here, not assumed).
 */
import { PatchLoader, stagePatch } from "../../engine/loader/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import { timedApplies } from "../lib/apply.ts";
import { freshPackages } from "../lib/fresh.ts";
import type { Distribution } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

export const scaling: Suite = {
  name: "scaling",
  title: "Apply latency against package size, patch stack depth and history",
  async run(context) {
    const image = await context.kvImage("v1");
    const template = await context.kvPatch();
    const distributions: Distribution[] = [];
    const figures: Record<string, number> = {};

    const paddings = context.quick ? [0, 65_536, 1_048_576] : [0, 16_384, 65_536, 262_144, 1_048_576];
    for (const padding of paddings) {
      const samples = padding > 65_536 ? (context.quick ? 100 : 1000) : 1000;
      const run = await timedApplies(context, GuestProcess.start(image), template, { mode: "sync", samples, padding, label: `size ${sizeLabel(padding)}` });
      distributions.push(run.endToEnd, run.enable);
      figures[`package bytes with ${sizeLabel(padding)} padding`] = run.packageBytes;
    }

    const depths = context.quick ? [0, 10, 100, 1000] : [0, 10, 100, 1000, 3000];
    for (const depth of depths) {
      const process = GuestProcess.start(image);
      const loader = new PatchLoader(process);
      for (let done = 0; done < depth; done += 100) {
        for (const p of freshPackages(template, context.keys.privateKey, Math.min(100, depth - done))) loader.enable(stagePatch(p.bytes, context.keys.trust));
      }
      const run = await timedApplies(context, process, template, { mode: "sync", samples: 1000, loader, label: `stack depth ${depth}` });
      distributions.push(run.enable);
    }

    const history = context.quick ? [0, 3000] : [0, 3000, 10_000];
    for (const count of history) {
      const process = GuestProcess.start(image);
      const loader = new PatchLoader(process);
      for (let done = 0; done < count; done += 100) {
        for (const p of freshPackages(template, context.keys.privateKey, Math.min(100, count - done))) {
          loader.enable(stagePatch(p.bytes, context.keys.trust));
          loader.revert(p.id);
        }
      }
      const run = await timedApplies(context, process, template, { mode: "sync", samples: 1000, loader, label: `after ${count} earlier applies` });
      distributions.push(run.enable, run.revert);
    }
    return {
      distributions,
      figures,
      targets: [],
      notes: [
        "Every timed apply stages a package never seen before, then enables it and reverts it; each row of `stack depth` and `history` starts from a new process.",
        "Stack depth d: d patches of the same slot stay installed under the timed one (their code pages count as history too: compare with the history rows).",
        "History n: n earlier packages were applied and reverted on the same process before the 1,000 timed samples (which add up to 1,000 more).",
      ],
    };
  },
};

function sizeLabel(bytes: number): string {
  return bytes >= 1_048_576 ? `${bytes / 1_048_576} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}
