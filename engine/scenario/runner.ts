/**
 * The scenario runner: starts a process from a scenario file and executes its
 * steps in order, reporting one result per step. A failed step is reported
 * with its error and the runner goes on; the run fails if any step failed
 * that did not say `"expectError": true` (and a step that expected an error
 * but succeeded fails too).
 *
 * Format (paths relative to the scenario file, i64 values as decimal strings):
 *   { "image": "v1.ts", "trust": ["keys/public.pem"], "seed": 1,
 *     "steps": [ { "call": "push", "args": [7], "returns": "number", "expect": 7 },
 *                { "request": "0504006869" }, { "write": { "at": "global:input", "hex": "00ff" } },
 *                { "read": { "at": 1024, "len": 32 } }, { "apply": "kb1.hpk" }, { "revert": "KB5036001" },
 *                { "restart": true }, { "state": true } ] }
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { asHotpatchError, HotpatchError } from "../errors.ts";
import { buildImageFromPath, type Image } from "../image/index.ts";
import { PatchLoader } from "../loader/index.ts";
import { TrustStore } from "../patch/index.ts";
import { type CallResultKind, GuestProcess } from "../process/index.ts";

export interface StepResult {
  step: number;
  op: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
  expectError?: boolean;
}

type Step = Record<string, unknown>;

interface Scenario {
  image: string;
  trust: string[];
  seed?: number;
  steps: Step[];
}

const OPS = ["call", "request", "write", "read", "apply", "revert", "restart", "state"] as const;

export interface RunSummary {
  ok: boolean;
  steps: StepResult[];
}

export async function runScenarioFile(path: string, onStep: (result: StepResult) => void = () => {}): Promise<RunSummary> {
  const scenario = await readScenario(path);
  const base = dirname(resolve(path));
  const image = await buildImageFromPath(resolve(base, scenario.image));
  const trust = TrustStore.fromFiles(scenario.trust.map((p) => resolve(base, p)));
  const runner = new ScenarioMachine(image, trust, base, scenario.seed);
  const steps: StepResult[] = [];
  let ok = true;
  for (const [index, step] of scenario.steps.entries()) {
    const result = await runner.run(index, step);
    const expectError = step.expectError === true;
    if (expectError) result.expectError = true;
    if (result.ok === expectError) ok = false;
    steps.push(result);
    onStep(result);
  }
  return { ok, steps };
}

async function readScenario(path: string): Promise<Scenario> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new HotpatchError("E_USAGE", `cannot read scenario: ${(error as Error).message}`, { path });
  }
  const s = value as Partial<Scenario>;
  if (typeof s !== "object" || s === null || typeof s.image !== "string") {
    throw new HotpatchError("E_USAGE", 'a scenario needs "image" (a source, .wasm or image path)', { path });
  }
  if (s.trust !== undefined && (!Array.isArray(s.trust) || !s.trust.every((t) => typeof t === "string"))) {
    throw new HotpatchError("E_USAGE", '"trust" must be a list of public key paths', { path });
  }
  if (!Array.isArray(s.steps)) throw new HotpatchError("E_USAGE", 'a scenario needs "steps" (a list)', { path });
  s.steps.forEach((step, i) => {
    const ops = OPS.filter((op) => step && typeof step === "object" && op in step);
    if (ops.length !== 1) {
      throw new HotpatchError("E_USAGE", `step ${i} must have exactly one of ${OPS.join(", ")}`, { path });
    }
  });
  return { image: s.image, trust: s.trust ?? [], seed: s.seed, steps: s.steps };
}

/** Executes steps against one process (re-created by `restart`). */
class ScenarioMachine {
  private process: GuestProcess;
  private readonly loader: PatchLoader;

  constructor(
    private readonly image: Image,
    private readonly trust: TrustStore,
    private readonly base: string,
    private readonly seed?: number,
  ) {
    this.process = GuestProcess.start(image, { seed });
    this.loader = new PatchLoader(this.process);
  }

  async run(index: number, step: Step): Promise<StepResult> {
    const op = OPS.find((o) => o in step)!;
    try {
      const result = await this.execute(op, step);
      if ("expect" in step && JSON.stringify(result) !== JSON.stringify(step.expect)) {
        throw new HotpatchError("E_EXPECTATION", `expected ${JSON.stringify(step.expect)}, got ${JSON.stringify(result)}`);
      }
      return result === undefined ? { step: index, op, ok: true } : { step: index, op, ok: true, result };
    } catch (error) {
      return { step: index, op, ok: false, error: asHotpatchError(error, "E_USAGE").toJSON() };
    }
  }

  private async execute(op: (typeof OPS)[number], step: Step): Promise<unknown> {
    switch (op) {
      case "call": {
        const args = ((step.args as unknown[]) ?? []).map(toArgument);
        const returns = (step.returns as CallResultKind) ?? "number";
        const value = this.process.call(String(step.call), args, returns);
        return typeof value === "bigint" ? value.toString() : value;
      }
      case "request":
        return hex(this.process.request(fromHex(String(step.request))));
      case "write": {
        const w = step.write as { at: unknown; hex: string };
        this.process.write(this.address(w.at), fromHex(w.hex));
        return undefined;
      }
      case "read": {
        const r = step.read as { at: unknown; len: number };
        return hex(this.process.read(this.address(r.at), r.len));
      }
      case "apply": {
        const path = resolve(this.base, String(step.apply));
        const bytes = new Uint8Array(await readFile(path).catch((e: Error) => {
          throw new HotpatchError("E_IO", `cannot read ${path}: ${e.message}`, { path });
        }));
        const started = performance.now();
        const record = this.loader.apply(bytes, this.trust);
        return { id: record.id, functions: record.functions.map((f) => f.key), micros: Math.round((performance.now() - started) * 1000) };
      }
      case "revert": {
        const record = this.loader.revert(String(step.revert));
        return { id: record.id, functions: record.functions.map((f) => f.key) };
      }
      case "restart": {
        this.process = GuestProcess.start(this.image, { seed: this.seed });
        this.loader.reattach(this.process);
        return { restarted: true, reapplied: this.loader.installed().map((p) => p.id) };
      }
      case "state":
        return { ...this.process.state(), patches: this.loader.installed().map((p) => p.id) };
    }
  }

  private address(at: unknown): number {
    if (typeof at === "number") return at;
    if (typeof at === "string" && at.startsWith("global:")) return Number(this.process.exportedGlobal(at.slice("global:".length)));
    if (typeof at === "string" && /^\d+$/.test(at)) return Number(at);
    throw new HotpatchError("E_USAGE", `"at" must be an address or "global:<exported global>", not ${JSON.stringify(at)}`);
  }
}

function toArgument(value: unknown): number | bigint {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new HotpatchError("E_USAGE", `call arguments are numbers, or decimal strings for i64 values, not ${JSON.stringify(value)}`);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(text: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new HotpatchError("E_USAGE", `not an even-length hex string: ${text.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(text, "hex"));
}
