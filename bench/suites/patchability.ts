/**
 * Suite 4 — the cost of patchability in steady state.
 *
 * Throughput of kvstore's standard request mix (engine/guests/kvstore.ts
 * `randomRequests`, the stream load generators use) on the hotpatch-enabled
 * image against a plain asc -O3 build of the same source. Both run behind the
 * same minimal request harness (write the request at `input`, call
 * `handle`), in alternating rounds; the slowdown is the median of the
 * per-round time ratios. Beside it, benchmark.js prices one direct call
 * against one `call_indirect` on a hand-assembled module.
 */
import Benchmark from "benchmark";
import { kvstoreVersion, randomRequests } from "../../engine/guests/kvstore.ts";
import { buildImageFromPath } from "../../engine/image/build.ts";
import { hostImports } from "../../engine/process/host.ts";
import { GuestProcess } from "../../engine/process/process.ts";
import { PLAIN_OPTIONS, plainBuild } from "../lib/plain-build.ts";
import { median, roundTo, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";
import { callModule } from "../lib/wasm-micro.ts";

type Serve = (requests: readonly Uint8Array[]) => void;

/** The shared request harness: identical JavaScript around both builds. */
function server(exports: WebAssembly.Exports, memory: WebAssembly.Memory): Serve {
  const input = Number((exports.input as WebAssembly.Global).value);
  const handle = exports.handle as (len: number) => number;
  return (requests) => {
    let bytes = new Uint8Array(memory.buffer);
    for (const r of requests) {
      if (bytes.byteLength === 0) bytes = new Uint8Array(memory.buffer); // memory grew
      bytes.set(r, input);
      handle(r.length);
    }
  };
}

export const patchability: Suite = {
  name: "patchability",
  title: "Cost of patchability: image vs plain -O3 build, direct vs call_indirect",
  async run(context) {
    const rounds = context.quick ? 15 : 60;
    const batch = randomRequests(42, 5000);
    const image = await context.kvImage("v1");
    const patchable = GuestProcess.start(image);
    const servePatchable = server(patchable.instance.exports, patchable.memory!);
    // The same source in image mode `inline` (engine/image/build.ts): optimised with inlining first, then made patchable.
    const inlineImage = await buildImageFromPath(kvstoreVersion("v1"), { mode: "inline" });
    const inlined = GuestProcess.start(inlineImage);
    const serveInline = server(inlined.instance.exports, inlined.memory!);

    const plainBytes = await plainBuild(kvstoreVersion("v1"));
    let plainMemory: WebAssembly.Memory | undefined;
    const plainInstance = new WebAssembly.Instance(new WebAssembly.Module(plainBytes as BufferSource), hostImports({}, () => plainMemory));
    plainMemory = plainInstance.exports.memory as WebAssembly.Memory;
    const servePlain = server(plainInstance.exports, plainMemory);

    for (let i = 0; i < 5; i++) {
      servePatchable(batch);
      servePlain(batch);
      serveInline(batch);
    }
    const ratios: number[] = [];
    const plainTimes: number[] = [];
    const patchTimes: number[] = [];
    const inlineRatios: number[] = [];
    const inlineTimes: number[] = [];
    const time = (serve: Serve) => {
      const t0 = performance.now();
      serve(batch);
      return performance.now() - t0;
    };
    for (let r = 0; r < rounds; r++) {
      // Alternate which build goes first, so drift and cache effects fall on both.
      const [a, b] = r % 2 === 0 ? [time(servePlain), time(servePatchable)] : [0, 0];
      const [c, d] = r % 2 === 1 ? [time(servePatchable), time(servePlain)] : [0, 0];
      const plainMs = a + d;
      const patchMs = b + c;
      plainTimes.push(plainMs);
      patchTimes.push(patchMs);
      ratios.push(patchMs / plainMs);
      // Inline mode against the plain build, side by side in the same way.
      const [e, f] = r % 2 === 0 ? [time(servePlain), time(serveInline)] : [0, 0];
      const [g, h] = r % 2 === 1 ? [time(serveInline), time(servePlain)] : [0, 0];
      inlineTimes.push(f + g);
      inlineRatios.push((f + g) / (e + h));
    }
    const slowdownPercent = (median(ratios) - 1) * 100;
    const inlineSlowdownPercent = (median(inlineRatios) - 1) * 100;
    const perSecond = (ms: number) => Math.round(batch.length / (ms / 1000));

    const calls = callCost(context.quick);
    return {
      distributions: [],
      figures: {
        "requests per round": batch.length,
        rounds,
        "plain build: requests/s (median round)": perSecond(median(plainTimes)),
        "hotpatch-enabled image: requests/s (median round)": perSecond(median(patchTimes)),
        "image ÷ plain time per round (median of ratios)": roundTo(median(ratios)),
        "inline-mode image: requests/s (median round)": perSecond(median(inlineTimes)),
        "inline-mode image ÷ plain time per round (median of ratios)": roundTo(median(inlineRatios)),
        "image module bytes": image.module.length,
        "inline-mode image module bytes": inlineImage.module.length,
        "slots per image (default / inline mode)": `${image.linkMap.functions.length} / ${inlineImage.linkMap.functions.length}`,
        "plain module bytes": plainBytes.length,
        "plain build options": PLAIN_OPTIONS.join(" "),
        "direct call, ns per call (benchmark.js mean)": calls.direct,
        "call_indirect, ns per call (benchmark.js mean)": calls.indirect,
        "direct call ± (relative margin of error, %)": calls.directRme,
        "call_indirect ± (relative margin of error, %)": calls.indirectRme,
        "extra cost of call_indirect, ns per call": roundTo(calls.indirect - calls.direct),
      },
      targets: [
        target("Patchable image throughput within 5% of the plain build (kvstore mix: slowdown)", 5, slowdownPercent, "%", "<="),
        target("Inline-mode image throughput within 5% of the plain build (kvstore mix: slowdown)", 5, inlineSlowdownPercent, "%", "<="),
      ],
      notes: [
        "Both builds serve the same 5,000-request seeded mix (GET / PUT / DEL / STATS / ECHO, malformed and unknown requests) through the same JavaScript harness; rounds alternate which build runs first; a negative slowdown means the image was faster.",
        "Default image mode (`slots`): every call between two functions goes through a slot, so nothing is inlined. Inline mode optimises with asc -O3's inlining first and patches every function whose optimised body changed (kvstore v1 → v2 then replaces `handle`, into which `handleEcho` is inlined, instead of `handleEcho`).",
        "The call micro-benchmark loops n times over a tiny function, called directly or through table slot 0 (`call_indirect`), on a hand-assembled module; the figures include the loop's own cost, equal on both sides.",
      ],
    };
  },
};

function callCost(quick: boolean): { direct: number; indirect: number; directRme: number; indirectRme: number } {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(callModule())).exports as Record<string, (n: number) => number>;
  const CALLS = 10_000;
  const direct = exports.direct;
  const indirect = exports.indirect;
  const options = { maxTime: quick ? 0.5 : 3, minSamples: quick ? 10 : 40 };
  const out: Benchmark[] = [];
  new Benchmark.Suite()
    .add("direct", () => direct(CALLS), options)
    .add("indirect", () => indirect(CALLS), options)
    .on("cycle", (event: Benchmark.Event) => out.push(event.target as unknown as Benchmark))
    .run({ async: false });
  const nsPerCall = (b: Benchmark) => roundTo(1e9 / (b.hz * CALLS));
  const [d, i] = out;
  return { direct: nsPerCall(d), indirect: nsPerCall(i), directRme: roundTo(d.stats.rme), indirectRme: roundTo(i.stats.rme) };
}
