/**
 * Suite 4 — the cost of patchability in steady state.
 *
 * Throughput of each guest's standard request mix on hotpatch-enabled images
 * (both image modes) against a plain asc -O3 build of the same source; the
 * targets are judged on the default mode (DEFAULT_IMAGE_MODE, engine/image),
 * the one every image gets that names no mode, the other mode's slowdown is
 * a figure beside them:
 * kvstore v1 serves kvstore's seeded mix (engine/guests/kvstore.ts
 * `randomRequests`, the stream load generators use), calc v2 serves calc's
 * (engine/guests/calc.ts `randomCalcRequests`). Every build runs behind the
 * same minimal request harness (write the request at `input`, call `handle`).
 *
 * How the comparison is kept fair on a noisy machine: each build runs as
 * several instances, each with its own harness function (a JavaScript call
 * site that only ever calls one instance's `handle` stays monomorphic; a
 * shared one would favour whichever instance V8 saw first), and every round
 * times every instance once, in an order that rotates and reverses from round
 * to round. A round's ratio is the image instances' total time over the plain
 * instances' total; the slowdown is the median ratio. A second set of plain
 * instances (`control`) is measured the same way: its slowdown, which should
 * be 0, shows the noise floor of the run. Beside it, benchmark.js prices one
 * direct call against one `call_indirect` on a hand-assembled module.
 */
import Benchmark from "benchmark";
import { calcVersion, kvstoreVersion, randomCalcRequests, randomRequests } from "../../engine/guests/index.ts";
import { buildImageFromPath, DEFAULT_IMAGE_MODE, type Image, type ImageMode } from "../../engine/image/index.ts";
import { hostImports } from "../../engine/process/index.ts";
import { PLAIN_OPTIONS, plainBuild } from "../lib/plain-build.ts";
import { median, roundTo, type Target, target } from "../lib/stats.ts";
import type { Figure, Suite } from "../lib/suite.ts";
import { callModule } from "../lib/wasm-micro.ts";

type Serve = (requests: readonly Uint8Array[]) => void;

/**
 * Instantiates `bytes` with the host imports every process gets and returns
 * a request harness of its own: identical JavaScript for every build, but a
 * separate function (and so a separate, monomorphic call site) per instance.
 */
function server(bytes: Uint8Array): Serve {
  let memory: WebAssembly.Memory | undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), hostImports({}, () => memory));
  memory = Object.values(instance.exports).find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
  if (!memory) throw new Error("the guest exports no memory");
  const input = Number((instance.exports.input as WebAssembly.Global).value);
  const make = new Function(
    "memory",
    "input",
    "handle",
    `return function serve(requests) {
      let bytes = new Uint8Array(memory.buffer);
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i];
        if (bytes.byteLength === 0) bytes = new Uint8Array(memory.buffer); // memory grew
        bytes.set(r, input);
        handle(r.length);
      }
    };`,
  ) as (memory: WebAssembly.Memory, input: number, handle: unknown) => Serve;
  return make(memory, input, instance.exports.handle);
}

interface Workload {
  guest: string;
  /** What the figures and targets call the workload. */
  label: string;
  source: string;
  requests: Uint8Array[];
  /** The default-mode image, if the context already has one. */
  defaultImage?: () => Promise<Image>;
}

const BUILDS = ["plain", "control", "slots", "inline"] as const;
type Build = (typeof BUILDS)[number];

interface Measured {
  /** Median over rounds of (build's time ÷ plain's time). */
  ratio: Record<Exclude<Build, "plain">, number>;
  /** Median round time per instance, ms. */
  roundMs: Record<Build, number>;
  images: { slots: Image; inline: Image };
  plainBytes: number;
}

async function measure(work: Workload, rounds: number, instances: number): Promise<Measured> {
  const plainBytes = await plainBuild(work.source);
  const imageOf = async (mode: ImageMode) =>
    mode === DEFAULT_IMAGE_MODE && work.defaultImage ? await work.defaultImage() : await buildImageFromPath(work.source, { mode });
  const [slots, inline] = [await imageOf("slots"), await imageOf("inline")];
  for (const [mode, image] of [["slots", slots], ["inline", inline]] as const) {
    if (image.linkMap.mode !== mode) throw new Error(`${work.guest}: the ${mode}-mode image was built in ${image.linkMap.mode ?? "slots"} mode`);
  }
  const bytes: Record<Build, Uint8Array> = { plain: plainBytes, control: plainBytes, slots: slots.module, inline: inline.module };
  const all: { build: Build; serve: Serve }[] = [];
  for (let i = 0; i < instances; i++) for (const build of BUILDS) all.push({ build, serve: server(bytes[build]) });
  for (let w = 0; w < 5; w++) for (const { serve } of all) serve(work.requests); // warm-up: tier-up, state

  const ratios: Record<Exclude<Build, "plain">, number[]> = { control: [], slots: [], inline: [] };
  const times: Record<Build, number[]> = { plain: [], control: [], slots: [], inline: [] };
  for (let r = 0; r < rounds; r++) {
    // Rotate the order by one every round and reverse it every other pass, so position and drift fall on every build alike.
    const k = r % all.length;
    const order = [...all.slice(k), ...all.slice(0, k)];
    if (Math.floor(r / all.length) % 2 === 1) order.reverse();
    const total: Record<Build, number> = { plain: 0, control: 0, slots: 0, inline: 0 };
    for (const { build, serve } of order) {
      const t0 = performance.now();
      serve(work.requests);
      total[build] += performance.now() - t0;
    }
    for (const build of BUILDS) times[build].push(total[build] / instances);
    for (const build of ["control", "slots", "inline"] as const) ratios[build].push(total[build] / total.plain);
  }
  return {
    ratio: { control: median(ratios.control), slots: median(ratios.slots), inline: median(ratios.inline) },
    roundMs: { plain: median(times.plain), control: median(times.control), slots: median(times.slots), inline: median(times.inline) },
    images: { slots, inline },
    plainBytes: plainBytes.length,
  };
}

export const patchability: Suite = {
  name: "patchability",
  title: "Cost of patchability: images (both modes) vs plain -O3 builds, direct vs call_indirect",
  async run(context) {
    const rounds = context.quick ? 60 : 240;
    const instances = context.quick ? 2 : 3;
    const workloads: Workload[] = [
      { guest: "kvstore", label: "kvstore mix", source: kvstoreVersion("v1"), requests: randomRequests(42, 5000), defaultImage: () => context.kvImage("v1") },
      // calc v2: v1 traps on about 3% of its own mix (the division bugs v2 fixes), which would end a round.
      { guest: "calc", label: "calc mix", source: calcVersion("v2"), requests: randomCalcRequests(42, 5000) },
    ];
    const figures: Record<string, Figure> = {
      "requests per round": 5000,
      rounds,
      "instances per build": instances,
      "plain build options": PLAIN_OPTIONS.join(" "),
      "default image mode (engine/image DEFAULT_IMAGE_MODE)": DEFAULT_IMAGE_MODE,
    };
    const targets: Target[] = [];
    for (const work of workloads) {
      const m = await measure(work, rounds, instances);
      const perSecond = (ms: number) => Math.round(work.requests.length / (ms / 1000));
      const g = work.guest;
      Object.assign(figures, {
        [`${g}: plain build, requests/s (median round)`]: perSecond(m.roundMs.plain),
        [`${g}: slots-mode image, requests/s (median round)`]: perSecond(m.roundMs.slots),
        [`${g}: inline-mode image, requests/s (median round)`]: perSecond(m.roundMs.inline),
        [`${g}: slots-mode image ÷ plain time per round (median of ratios)`]: roundTo(m.ratio.slots),
        [`${g}: inline-mode image ÷ plain time per round (median of ratios)`]: roundTo(m.ratio.inline),
        [`${g}: control, plain ÷ plain time per round (median of ratios; the noise floor)`]: roundTo(m.ratio.control),
        [`${g}: slots per image (slots / inline mode)`]: `${m.images.slots.linkMap.functions.length} / ${m.images.inline.linkMap.functions.length}`,
        [`${g}: module bytes (plain / slots / inline)`]: `${m.plainBytes} / ${m.images.slots.module.length} / ${m.images.inline.module.length}`,
      });
      // Judged on the default mode, what every user-facing path builds; the other mode's slowdown is reported beside.
      const other: ImageMode = DEFAULT_IMAGE_MODE === "inline" ? "slots" : "inline";
      figures[`${g}: ${other}-mode image slowdown against plain, %`] = roundTo((m.ratio[other] - 1) * 100);
      const name = `Default image (${DEFAULT_IMAGE_MODE} mode) throughput within 5% of the plain build (${work.label}: slowdown)`;
      targets.push(target(name, 5, (m.ratio[DEFAULT_IMAGE_MODE] - 1) * 100, "%", "<="));
    }

    const calls = callCost(context.quick);
    Object.assign(figures, {
      "direct call, ns per call (benchmark.js mean)": calls.direct,
      "call_indirect, ns per call (benchmark.js mean)": calls.indirect,
      "direct call ± (relative margin of error, %)": calls.directRme,
      "call_indirect ± (relative margin of error, %)": calls.indirectRme,
      "extra cost of call_indirect, ns per call": roundTo(calls.indirect - calls.direct),
    });
    return {
      distributions: [],
      figures,
      targets,
      notes: [
        "kvstore v1 serves 5,000 requests of its seeded mix (GET / PUT / DEL / STATS / ECHO, malformed and unknown requests); calc v2 serves 5,000 of its own (random RUN programs with loops, registers and natives, STATS, REG, HISTORY, MESSAGE, CRC, malformed and unknown requests). calc v2 rather than v1: v1 traps on its division bugs, about 3% of the mix.",
        "Each build runs as several instances, each behind its own copy of the same JavaScript harness (monomorphic call sites); every round times every instance once, in an order that rotates every round; a round's ratio is image instances' total time ÷ plain instances' total time, and the slowdown is the median ratio. `control` is a second set of plain instances measured as if it were an image: its ratio shows the noise floor of the run. A negative slowdown means the image was faster.",
        `The targets are judged on the default image mode (${DEFAULT_IMAGE_MODE}; engine/image DEFAULT_IMAGE_MODE), which the demo, stress, the management plane and the other suites build; the other mode's slowdown is reported beside as a figure. Routing every call through the table (slots mode, \`--mode slots\`) cannot stay within 5%.`,
        "Slots mode: every call between two functions goes through a slot, so nothing is inlined. Inline mode: optimised with asc -O3's inlining first; calls the optimiser did not inline go through slots, except calls of library code (`~lib/`, AssemblyScript's standard library and runtime, without the program-generated runtime functions), which are direct as in the plain build; a patch then replaces every function whose code reaches a changed library function. The host calls an inline-mode image's exports through entries that run the function's own copy while its redirect flag is clear (no extra frame), and through its slot once a patch has replaced it.",
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
