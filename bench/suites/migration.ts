/**
 * Suite — the cost of a state migration (docs/loader-and-consistency.md#state-migrations):
 * the pause of a switch that migrates (one global widened; a 32 KiB buffer
 * copied into a 48 KiB one) next to a plain switch, and what the scratch run
 * adds to `prepare`.
 *
 * Each sample is a fresh process with state (calc: 400 requests; the state
 * buffer: filled once round), prepared and committed in this thread: commit is
 * the pause (the migration, then the swap), prepare the link plus, for a
 * migration, the scratch run (copy of memory and globals, a second instance,
 * the run, the write check). Images are inline mode, the default.
 */
import { buildPatch } from "../../engine/builder/index.ts";
import { calcVersion, randomCalcRequests } from "../../engine/guests/index.ts";
import { buildImageFromPath } from "../../engine/image/index.ts";
import { PatchLoader, stagePatch } from "../../engine/loader/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { type Distribution, Recorder, target } from "../lib/stats.ts";
import type { Suite, SuiteOutcome } from "../lib/suite.ts";

const corpus = (path: string) => new URL(`../../assembly/corpus/${path}`, import.meta.url).pathname;

interface Case {
  label: string;
  base: string;
  target: string;
  state: (process: GuestProcess) => void;
}

const calcState = (process: GuestProcess) => {
  for (const request of randomCalcRequests(5, 400, { setup: true })) process.request(request);
};

const bufferState = (process: GuestProcess) => {
  for (let i = 0; i < 8192; i++) process.request(Uint8Array.of(1));
};

/** In pairs: a plain switch, then one with a migration, of the same guest. */
const CASES: Case[] = [
  { label: "plain switch (calc v1 → v2)", base: calcVersion("v1"), target: calcVersion("v2"), state: calcState },
  { label: "one global widened (calc v1 → wide-steps-migrated)", base: calcVersion("v1"), target: corpus("calc/wide-steps-migrated.ts"), state: calcState },
  { label: "plain switch (state-buffer base → fix)", base: corpus("state-buffer/base.ts"), target: corpus("state-buffer/fix.ts"), state: bufferState },
  { label: "32 KiB buffer copied (state-buffer base → grown)", base: corpus("state-buffer/base.ts"), target: corpus("state-buffer/grown.ts"), state: bufferState },
];

async function measure(context: BenchContext, c: Case, samples: number): Promise<{ prepare: Distribution; commit: Distribution }> {
  const base = await buildImageFromPath(c.base);
  const built = await buildPatch({ base, target: c.target, id: "KB5038901", key: context.keys.privateKey });
  if (built.kind !== "hotpatch") throw new Error(`${c.label}: ${built.kind}: ${built.reasons.join("; ")}`);
  const staged = stagePatch(built.package, context.keys.trust);
  const prepare = new Recorder(`prepare: ${c.label}`);
  const commit = new Recorder(`pause (commit): ${c.label}`);
  for (let i = 0; i < samples; i++) {
    const process = GuestProcess.start(base);
    c.state(process);
    const loader = new PatchLoader(process);
    let t = performance.now();
    const prepared = loader.prepare(staged);
    prepare.addMillis(performance.now() - t);
    t = performance.now();
    loader.commit(prepared);
    commit.addMillis(performance.now() - t);
  }
  return { prepare: prepare.summary(), commit: commit.summary() };
}

export const migration: Suite = {
  name: "migration",
  title: "State migrations: the pause of a migrating switch beside a plain one, and the scratch run at prepare",
  async run(context): Promise<SuiteOutcome> {
    const samples = context.quick ? 100 : 1000;
    const results: { prepare: Distribution; commit: Distribution }[] = [];
    for (const c of CASES) {
      context.log(`  ${c.label}`);
      results.push(await measure(context, c, samples));
    }
    const [plain, global, plainBuffer, buffer] = results;
    return {
      distributions: results.flatMap((r) => [r.commit, r.prepare]),
      figures: {
        "pause added by widening one global (µs, medians)": round(global.commit.p50 - plain.commit.p50),
        "pause added by a 32 KiB buffer copy (µs, medians)": round(buffer.commit.p50 - plainBuffer.commit.p50),
        "prepare added by the scratch run, one global (µs, medians)": round(global.prepare.p50 - plain.prepare.p50),
        "prepare added by the scratch run, 32 KiB buffer (µs, medians)": round(buffer.prepare.p50 - plainBuffer.prepare.p50),
      },
      targets: [target("Pause of a switch that copies a 32 KiB buffer (median)", 50, buffer.commit.p50, "µs", "<=")],
      notes: [
        "Each sample is a fresh process with state, prepared and committed in this thread; commit is the pause (migration, then swap).",
        "64 KiB cannot be measured: new buffers live in the patch arena (4 KiB–64 KiB of memory, 60 KiB), so 48 KiB is the largest resized buffer; 32 KiB of it are copied.",
        "The budget of a migration is 1,000,000 loop iterations (MIGRATION_FUEL); exhausting it in a one-increment loop takes about 1 ms.",
      ],
    };
  },
};

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
