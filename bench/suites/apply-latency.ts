/**
 * Suite 1 — apply latency, end to end and by phase, for patches of 1, 10, 100
 * and 1,000 functions, with synchronous and asynchronous compilation.
 *
 * Stage = read the container, verify the signature, check the manifest and
 * code page, compile (kpatch's "load"); enable = link checks, instantiate
 * against the running process, swap, record (kpatch's "enable"). The phase
 * breakdown re-runs the stage and enable steps one by one on fresh bytes.
 */
import { PatchLoader, swapSlots, warm } from "../../engine/loader/index.ts";
import { decodePackage, validateManifest, verifyPackage } from "../../engine/patch/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import { readModuleSummary } from "../../engine/format/index.ts";
import { timedApplies } from "../lib/apply.ts";
import type { BenchContext } from "../lib/context.ts";
import { freshModuleBytes, freshPackages, type PackageTemplate } from "../lib/fresh.ts";
import { Recorder, target, type Distribution } from "../lib/stats.ts";
import type { Figure, Suite, SuiteOutcome } from "../lib/suite.ts";
import { cacheCheckModule } from "../lib/wasm-micro.ts";

export const GENERATED_FUNCTIONS = 1000;
const CHANGED = [1, 10, 100, 1000];

export const applyLatency: Suite = {
  name: "apply-latency",
  title: "Apply latency by phase (1 / 10 / 100 / 1,000 functions, sync and async compile)",
  async run(context) {
    const distributions: Distribution[] = [];
    const figures: Record<string, Figure> = {};
    const samplesFor = (changed: number) => (changed >= 1000 ? (context.quick ? 100 : 1000) : context.quick ? 1000 : 2000);

    Object.assign(figures, cacheCheck(context));

    // The headline case: the kvstore security fix (one function) on the real guest.
    // Each measurement gets a process of its own: V8 slows every table write down with the number of code pages
    // ever instantiated against the table (see the scaling suite), so sharing one would bias later rows.
    const kvImage = await context.kvImage("v1");
    const kvTemplate = await context.kvPatch();
    context.log("  kvstore v1 → v2 (1 function)");
    const kvSync = await timedApplies(context, GuestProcess.start(kvImage), kvTemplate, { mode: "sync", samples: samplesFor(1), label: "kvstore, 1 fn, sync" });
    const kvAsync = await timedApplies(context, GuestProcess.start(kvImage), kvTemplate, { mode: "async", samples: samplesFor(1), label: "kvstore, 1 fn, async" });
    // The enable targets: stage done ahead of time (a batch of 100 staged, then enabled one by one), since enable is the phase a process pays for; back to back is reported beside.
    const kvAhead = await timedApplies(context, GuestProcess.start(kvImage), kvTemplate, {
      mode: "sync",
      samples: samplesFor(1),
      stageAhead: true,
      label: "kvstore, 1 fn, staged ahead (batches of 100)",
    });
    distributions.push(kvAhead.enable, kvSync.stage, kvSync.enable, kvSync.endToEnd, kvSync.revert, kvAsync.stage, kvAsync.enable, kvAsync.endToEnd);
    distributions.push(...phases(context, GuestProcess.start(kvImage), kvTemplate, samplesFor(1), "kvstore, 1 fn"));
    figures["kvstore patch package bytes"] = kvSync.packageBytes;

    context.log(`  building a generated guest of ${GENERATED_FUNCTIONS} functions and its patches`);
    const { image } = await context.generatedImage(GENERATED_FUNCTIONS);
    for (const changed of CHANGED) {
      const template = await context.generatedPatch(GENERATED_FUNCTIONS, changed);
      context.log(`  generated guest, ${changed} function(s)`);
      const label = `generated, ${changed} fn`;
      const sync = await timedApplies(context, GuestProcess.start(image), template, { mode: "sync", samples: samplesFor(changed), label: `${label}, sync` });
      const async_ = await timedApplies(context, GuestProcess.start(image), template, { mode: "async", samples: samplesFor(changed), label: `${label}, async` });
      distributions.push(sync.stage, sync.enable, sync.endToEnd, async_.stage, async_.enable, async_.endToEnd);
      distributions.push(...phases(context, GuestProcess.start(image), template, samplesFor(changed), label));
      figures[`generated ${changed}-function package bytes`] = sync.packageBytes;
    }

    const outcome: SuiteOutcome = {
      distributions,
      figures,
      targets: [
        target("Enable, one function, in-thread: median", 10, kvAhead.enable.p50, "µs", "<="),
        target("Enable, one function, in-thread: p99", 50, kvAhead.enable.p99 ?? Number.NaN, "µs", "<="),
        target("Stage + enable with the signature check: median", 300, kvSync.endToEnd.p50, "µs", "<="),
      ],
      notes: [
        "Every sample stages a package never seen before: a new id and title (new signed bytes and signature) and a unique custom section appended to the code page (new bytes for V8's module cache); `cache check` figures show, in this run, that such a section defeats the cache as well as a changed function body does.",
        "Each sample is stage → enable → revert through the loader's API (stagePatch / stagePatchAsync, PatchLoader.enable / revert); `phase` rows redo the steps one at a time on other fresh packages (decode, verify, manifest + code-page checks, compile, warm-up instantiation, link + instantiate through `PatchLoader.prepare`, swap).",
        "The generated guest exports 1,000 one-line functions; its patches change the first k of them.",
        "The enable targets are judged on the `staged ahead` row: stage is the phase done ahead of time, so a batch of 100 fresh packages is staged first and each is then enabled (and reverted, untimed); the `sync` and `async` rows stage each package right before its enable (end to end), whose enable is also reported.",
      ],
    };
    return outcome;
  },
};

/** Each step of stage and enable, timed alone, synchronous compile. */
function phases(context: BenchContext, process: GuestProcess, template: PackageTemplate, samples: number, label: string): Distribution[] {
  const r = (what: string) => new Recorder(`${label} · phase: ${what}`);
  const decode = r("decode");
  const verify = r("verify signature");
  const checks = r("manifest + code page checks");
  const compile = r("compile (sync)");
  const warmUp = r("warm-up instantiation (stage)");
  const instantiate = r("link + instantiate (enable)");
  const swap = r("swap");
  const { trust } = context.keys;
  const loader = new PatchLoader(process);
  for (let done = 0; done < samples; done += 100) {
    for (const { bytes } of freshPackages(template, context.keys.privateKey, Math.min(100, samples - done))) {
      const t0 = performance.now();
      const decoded = decodePackage(bytes);
      const t1 = performance.now();
      verifyPackage(decoded, trust);
      const t2 = performance.now();
      const manifest = validateManifest(decoded.manifest);
      const summary = readModuleSummary(decoded.code);
      const t3 = performance.now();
      const module = new WebAssembly.Module(decoded.code);
      const t4 = performance.now();
      warm(module, summary.imports);
      const t5 = performance.now();
      const staged = { id: manifest.id, manifest, code: module, imports: summary.imports, keyId: decoded.keyId, packageBytes: bytes };
      const prepared = loader.prepare(staged);
      const t6 = performance.now();
      const previous = swapSlots(process.slots, prepared.writes); // nothing installed: the switch writes only the code page's slots
      const t7 = performance.now();
      swapSlots(
        process.slots,
        prepared.writes.map((w, i) => ({ slot: w.slot, entry: previous[i] })),
      );
      loader.discard(prepared);
      decode.addMillis(t1 - t0);
      verify.addMillis(t2 - t1);
      checks.addMillis(t3 - t2);
      compile.addMillis(t4 - t3);
      warmUp.addMillis(t5 - t4);
      instantiate.addMillis(t6 - t5);
      swap.addMillis(t7 - t6);
    }
  }
  return [decode, verify, checks, compile, warmUp, instantiate, swap].map((x) => x.summary());
}

/**
 * Shows what V8's module cache does here: compile times of (a) identical
 * bytes, (b) the same bytes plus a unique custom section, (c) a changed
 * constant in a function body (same size). (b) ≈ (c) ≫ (a) means a custom
 * section is enough to defeat the cache.
 */
function cacheCheck(context: BenchContext): Record<string, Figure> {
  const samples = context.quick ? 200 : 500;
  const base = cacheCheckModule(300, 1);
  new WebAssembly.Module(base); // now cached
  const time = (make: (i: number) => Uint8Array) => {
    const inputs = Array.from({ length: samples }, (_, i) => make(i));
    const rec = new Recorder("cache");
    const keep: WebAssembly.Module[] = [];
    for (const bytes of inputs) {
      const t0 = performance.now();
      keep.push(new WebAssembly.Module(bytes as BufferSource));
      rec.addMillis(performance.now() - t0);
    }
    return rec.summary().p50;
  };
  const identical = time(() => base.slice());
  const custom = time(() => freshModuleBytes(base));
  const changed = time((i) => cacheCheckModule(300, 1_000_000 + i + Math.floor(Math.random() * 1e6)));
  return {
    "cache check: compile identical bytes, median µs": identical,
    "cache check: compile with a unique custom section, median µs": custom,
    "cache check: compile with a changed function body, median µs": changed,
    "cache check: custom section defeats V8's cache": custom > 3 * identical && custom > 0.5 * changed,
  };
}
