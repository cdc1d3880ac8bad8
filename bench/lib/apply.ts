/**
 * Timed applies through the loader's public API, each on package bytes never
 * seen before (fresh.ts). Packages are prepared in batches before timing so
 * signing is not measured; each sample is stage → enable → revert.
 */
import { PatchLoader, type StagedPatch, stagePatch, stagePatchAsync } from "../../engine/loader/index.ts";
import type { GuestProcess } from "../../engine/process/index.ts";
import type { BenchContext } from "./context.ts";
import { freshPackages, type PackageTemplate } from "./fresh.ts";
import { type Distribution, Recorder } from "./stats.ts";

export type CompileMode = "sync" | "async";

/** With `stageAhead`, only `enable` and `revert` have samples (stage and stage + enable are empty). */
export interface ApplyRun {
  stage: Distribution;
  enable: Distribution;
  endToEnd: Distribution;
  revert: Distribution;
  /** Stage + enable + the first call of the patched code (when `firstCall` is given). */
  withFirstCall?: Distribution;
  packageBytes: number;
}

export interface ApplyOptions {
  mode: CompileMode;
  samples: number;
  skipSignature?: boolean;
  /** Stage without the warm-up instantiation (see engine/loader/stage.ts). */
  skipWarm?: boolean;
  /**
   * Stage each batch of packages first, then enable them one by one: stage
   * done ahead of time, the phase split the enable targets use. Without it each
   * sample stages right before its enable (the end-to-end case).
   */
  stageAhead?: boolean;
  /** Called right after each enable, timed into `withFirstCall`: the first call of the new code. */
  firstCall?: () => void;
  padding?: number;
  /**
   * Called after each sample's revert with the sample's package bytes, outside
   * every timed window: a place to measure a baseline interleaved with the
   * samples (same moment, same machine state).
   */
  between?: (packageBytes: Uint8Array) => void;
  /** Label prefix of the distributions. */
  label: string;
  loader?: PatchLoader;
}

const BATCH = 100;

export async function timedApplies(context: BenchContext, process: GuestProcess, template: PackageTemplate, options: ApplyOptions): Promise<ApplyRun> {
  const loader = options.loader ?? new PatchLoader(process);
  const { trust } = context.keys;
  const stageOptions = { skipSignature: options.skipSignature ?? false, skipWarm: options.skipWarm ?? false };
  const stageTimes = new Recorder(`${options.label} · stage`);
  const enable = new Recorder(`${options.label} · enable`);
  const endToEnd = new Recorder(`${options.label} · stage + enable`);
  const revert = new Recorder(`${options.label} · revert`);
  const withFirstCall = new Recorder(`${options.label} · stage + enable + first call`);
  let packageBytes = 0;
  for (let done = 0; done < options.samples; done += BATCH) {
    const batch = freshPackages(template, context.keys.privateKey, Math.min(BATCH, options.samples - done), options.padding);
    packageBytes = batch[0].bytes.length;
    let ahead: StagedPatch[] | undefined;
    if (options.stageAhead) {
      ahead = [];
      for (const { bytes } of batch) ahead.push(options.mode === "sync" ? stagePatch(bytes, trust, stageOptions) : await stagePatchAsync(bytes, trust, stageOptions));
    }
    for (const [i, { id, bytes }] of batch.entries()) {
      const t0 = performance.now();
      const staged = ahead ? ahead[i] : options.mode === "sync" ? stagePatch(bytes, trust, stageOptions) : await stagePatchAsync(bytes, trust, stageOptions);
      const t1 = performance.now();
      loader.enable(staged);
      const t2 = performance.now();
      options.firstCall?.();
      const t3 = performance.now();
      loader.revert(id);
      const t4 = performance.now();
      if (!ahead) {
        stageTimes.addMillis(t1 - t0);
        endToEnd.addMillis(t2 - t0);
      }
      enable.addMillis(t2 - t1);
      if (options.firstCall) withFirstCall.addMillis(t3 - t0);
      revert.addMillis(t4 - t3);
      options.between?.(bytes);
    }
  }
  return {
    stage: stageTimes.summary(),
    enable: enable.summary(),
    endToEnd: endToEnd.summary(),
    revert: revert.summary(),
    ...(options.firstCall ? { withFirstCall: withFirstCall.summary() } : {}),
    packageBytes,
  };
}
