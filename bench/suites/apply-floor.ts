/**
 * Suite 8 — a peer side by side: Erlang/OTP hot code loading of a
 * one-function module (code:load_binary + the first call), against stage +
 * enable of the kvstore one-function fix, in the same run.
 *
 * The Erlang side loads N module binaries compiled ahead of time, each with a
 * different constant (so every load is of new bytes); before each load the
 * old code is purged (untimed), as a release handler would. Skipped with a
 * message when `erl` is not installed (Debian: apt-get install erlang-base).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GuestProcess } from "../../engine/process/index.ts";
import { timedApplies } from "../lib/apply.ts";
import { GENERATED_FUNCTIONS } from "./apply-latency.ts";
import { Recorder, roundTo, skippedTarget, summarize, target } from "../lib/stats.ts";
import type { Suite, SuiteOutcome } from "../lib/suite.ts";
import { oneFunctionModule } from "../lib/wasm-micro.ts";

const ERLANG_BENCH = `-module(hp_bench).
-export([main/1]).

main(N) ->
    Bins = [make(I) || I <- lists:seq(1, N)],
    one(make(0)),
    Times = [one(B) || B <- Bins],
    io:format("~s~n~w~n", [erlang:system_info(otp_release), Times]).

make(I) ->
    Forms = [{attribute, 1, module, hp_peer}, {attribute, 2, export, [{f, 1}]},
             {function, 3, f, 1, [{clause, 3, [{var, 3, 'X'}], [], [{op, 3, '+', {var, 3, 'X'}, {integer, 3, I}}]}]}],
    {ok, hp_peer, Bin} = compile:forms(Forms, []),
    Bin.

one(Bin) ->
    code:purge(hp_peer),
    T0 = erlang:monotonic_time(nanosecond),
    {module, hp_peer} = code:load_binary(hp_peer, "hp_peer.beam", Bin),
    _ = hp_peer:f(1),
    T1 = erlang:monotonic_time(nanosecond),
    T1 - T0.
`;

/** What V8 alone charges for new bytes: compile, instantiate and first call of a bare one-function module. */
function v8Floor(samples: number) {
  const recorder = new Recorder("V8 floor: bare one-function module, compile + instantiate + first call");
  for (let i = 0; i < 50; i++) new WebAssembly.Instance(new WebAssembly.Module(oneFunctionModule(2_000_000_000 + i))); // warm V8's own paths
  for (let i = 0; i < samples; i++) {
    const bytes = oneFunctionModule(i + 1);
    const t0 = performance.now();
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    (instance.exports.f as (x: number) => number)(1);
    recorder.addMillis(performance.now() - t0);
  }
  return recorder.summary();
}

function erlAvailable(): boolean {
  try {
    execFileSync("erl", ["-noshell", "-eval", "halt()."], { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export const erlangPeer: Suite = {
  name: "erlang-peer",
  title: "Peer: Erlang/OTP hot code load + first call vs stage + enable",
  async run(context): Promise<SuiteOutcome> {
    const goal = 5;
    const name = "Stage + enable without the signature check at least 5× faster than Erlang's hot code load + first call (ratio of medians)";
    if (!erlAvailable()) {
      const reason = "erl is not installed; install Erlang/OTP (Debian/Ubuntu: apt-get install -y erlang-base) and run `hotpatch bench --suite erlang-peer`";
      return { distributions: [], figures: {}, targets: [skippedTarget(name, goal, "×", ">=", reason)], notes: [], skipped: true, reason };
    }
    const samples = 1000;
    // The peer of Erlang's one-function module: a one-function patch of the generated guest (f0(x) = x*3+1 → x*3+1+(x>>1)),
    // timed through the first call of the new code, as the Erlang side is. The kvstore security fix is reported beside.
    const { image: generated } = await context.generatedImage(GENERATED_FUNCTIONS);
    const oneFunction = await context.generatedPatch(GENERATED_FUNCTIONS, 1);
    const run = async (label: string, options: { skipWarm?: boolean; skipSignature?: boolean }) => {
      const process = GuestProcess.start(generated);
      const firstCall = () => {
        process.call("f0", [1]);
      };
      return (await timedApplies(context, process, oneFunction, { mode: "sync", samples, skipSignature: true, firstCall, label, ...options })).withFirstCall!;
    };
    const ours = await run("hotpatch, 1 fn, no signature check", {});
    const noWarm = await run("hotpatch, 1 fn, no signature check, no warm-up", { skipWarm: true });
    const signed = await run("hotpatch, 1 fn, with signature check", { skipSignature: false });
    const kvstore = await timedApplies(context, GuestProcess.start(await context.kvImage("v1")), await context.kvPatch(), {
      mode: "sync",
      samples,
      skipSignature: true,
      label: "hotpatch, kvstore fix (1 fn), no signature check",
    });

    writeFileSync(join(context.scratch, "hp_bench.erl"), ERLANG_BENCH);
    execFileSync("erlc", ["-o", context.scratch, join(context.scratch, "hp_bench.erl")], { stdio: "ignore" });
    const output = execFileSync("erl", ["-noshell", "-pa", context.scratch, "-eval", `hp_bench:main(${samples}), halt().`], { encoding: "utf8", timeout: 300_000 });
    const [release, list] = output.trim().split("\n");
    const nanos = list.replace(/[[\]\s]/g, "").split(",").map(Number);
    const erlang = summarize("Erlang/OTP: code:load_binary + first call", nanos, "µs");
    const floor = v8Floor(samples);
    const ratio = erlang.p50 / ours.p50;
    return {
      distributions: [erlang, ours, noWarm, signed, kvstore.endToEnd, floor],
      figures: {
        "time the target allows hotpatch: Erlang median ÷ 5 (µs)": roundTo(erlang.p50 / goal),
        "V8's own floor: new module + instance + first call of one bare function, median (µs)": floor.p50,
        "Erlang/OTP release": release,
        "ratio Erlang ÷ hotpatch without signature check (medians)": roundTo(ratio),
        "ratio Erlang ÷ hotpatch without signature check or warm-up (medians)": roundTo(erlang.p50 / noWarm.p50),
        "ratio Erlang ÷ hotpatch with signature check (medians)": roundTo(erlang.p50 / signed.p50),
        "ratio Erlang ÷ hotpatch of the kvstore fix without signature check, no first call (medians)": roundTo(erlang.p50 / kvstore.endToEnd.p50),
      },
      targets: [target(name, goal, ratio, "×", ">=")],
      notes: [
        "Erlang: compile:forms builds N one-function modules ahead of time (different constants, so new bytes every load); each sample purges the old code (untimed), then times code:load_binary and the first call (erlang:monotonic_time).",
        "V8 floor: every sample compiles (new WebAssembly.Module), instantiates and calls once a module of one exported function and nothing else, with a constant never used before — no hotpatch code at all. Stage + enable cannot be faster than this; when the floor is above Erlang's median ÷ 5, the target cannot be met on this Node's V8.",
        `hotpatch: a guest of ${GENERATED_FUNCTIONS} one-line functions; each sample stages a package never seen before that replaces f0 (sync compile, default warm-up), enables it on the running process and calls f0 once through its slot (all timed), then reverts it (untimed). The target is judged on this row; the no-warm-up and signed rows and the kvstore fix (v1 → v2, which replaces handle in the default inline mode; no first call) are reported beside.`,
      ],
    };
  },
};
