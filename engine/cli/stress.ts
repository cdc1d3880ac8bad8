/**
 * `hotpatch stress`: a guest under seeded load in a worker process, patched
 * and unpatched `--flips` times, then checked against a reference replay.
 * With `--json`, stdout holds exactly the result object; measurements beyond
 * it (apply latency, prepare time) are narrated on stderr.
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { runStress } from "../stress/index.ts";
import { DEFAULT_IMAGE_MODE } from "../image/index.ts";
import { parseImageMode } from "./image.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";

interface StressCliOptions {
  guest: string;
  rate: string;
  duration: string;
  flips: string;
  seed: string;
  mode?: string;
  json?: boolean;
}

export function registerStress(program: Command, setExit: (code: number) => void): void {
  program
    .command("stress")
    .description("serve seeded load in a worker process while applying and reverting a hotpatch, then compare with a reference")
    .option("--guest <name>", "a guest service folder of assembly/", "kvstore")
    .requiredOption("--rate <req/s>", "requests per second")
    .requiredOption("--duration <s>", "seconds of load")
    .requiredOption("--flips <n>", "apply/revert cycles")
    .option("--seed <n>", "seed of the request stream", "1")
    .option("--mode <slots|inline>", `image mode of the guest (default ${DEFAULT_IMAGE_MODE}; see \`image build --help\`)`)
    .option("--json", "print the result as one JSON object")
    .action(
      guarded(setExit, async (options: StressCliOptions) => {
        const rate = number("--rate", options.rate, 1);
        const durationSeconds = number("--duration", options.duration, 0.001);
        const flips = integer("--flips", options.flips);
        const seed = integer("--seed", options.seed);
        const { result, details } = await runStress({ guest: options.guest, rate, durationSeconds, flips, seed, mode: parseImageMode(options.mode), say: (line) => say(options, line) });
        const p = (x: { p50: number; p99: number; max: number }) => `p50 ${x.p50} µs, p99 ${x.p99} µs, max ${x.max} µs`;
        say(options, `requests ${result.requests}, failed ${result.failed}, lost ${result.lost}, ${result.applies} applies, ${result.reverts} reverts`);
        say(options, `pause       ${p(result.pause)}`);
        say(options, `latency     ${p(result.latency)}`);
        say(options, `stage (verify + compile, ahead of each apply) ${p(details.stageMicros)}`);
        say(options, `apply (post → prepare → switch → ack)     ${p(details.applyMicros)}`);
        say(options, `prepare (instantiate in the worker)      ${p(details.prepareMicros)}`);
        say(options, `final state ${result.finalStateMatches ? "matches" : "DIFFERS from"} the reference replay${details.exact ? "" : " (inexact: a switch happened inside a request)"}`);
        if (options.json) printJson(result);
        const ok = result.failed === 0 && result.lost === 0 && result.finalStateMatches;
        return ok ? 0 : EXIT_ERROR;
      }),
    );
}

function number(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new HotpatchError("E_USAGE", `${flag} must be a number ≥ ${min}, not ${text}`);
  return value;
}

function integer(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new HotpatchError("E_USAGE", `${flag} must be a non-negative integer, not ${text}`);
  return value;
}
