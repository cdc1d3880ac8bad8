/**
 * The package fuzzer: mutates valid signed packages (bit flips, truncations,
 * appended bytes, code page edits, field edits in the manifest, swapped
 * signature blocks), re-signs most of them with the trusted key so they get
 * past the signature check to the parser, the manifest checks, the linker
 * and the swap, and applies each to a fresh running process in a worker.
 *
 * Every case must be refused with a stable code and no change, or applied
 * completely (fuzz-case.ts). A worker that dies, or a case that runs past
 * the watchdog's deadline, counts as a crash; so does an exception without
 * a stable code. The run is a pure function of the seed (request i's
 * mutation is seeded by the seed and i), except the keys, which are fresh.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import { seededRandom } from "../guests/index.ts";
import { buildImageFromPath, type Image } from "../image/index.ts";
import { indexSeed } from "../load/index.ts";
import { decodePackage, encodePackage, type PatchManifest, resignPackage } from "../patch/index.ts";
import { type CaseResult, STAGES, type Stage } from "./fuzz-case.ts";
import type { FuzzRequest, FuzzWorkerData } from "./fuzz-worker.ts";

const ENTRY = new URL("./fuzz-worker-entry.mjs", import.meta.url);
const ASSEMBLY = (path: string) => fileURLToPath(new URL(`../../assembly/${path}`, import.meta.url));

/** Exactly what `hotpatch fuzz --json` prints. */
export interface FuzzSummary {
  cases: number;
  refused: number;
  applied: number;
  crashes: number;
  partial: number;
  byCode: Record<string, number>;
  byStage: Record<Stage, number>;
}

export interface FuzzDetails {
  seed: number;
  resigned: number;
  byMutation: Record<string, number>;
  /** The first few crashes and partial cases, to reproduce (case index, mutation, detail). */
  failures: { index: number; mutation: string; outcome: string; detail: string }[];
  hangs: number;
  workerDeaths: number;
  durationMs: number;
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Parallel workers (default 2). */
  workers?: number;
  /** Per-case watchdog (default 10 s: generous, a case takes milliseconds). */
  deadlineMs?: number;
  say?: (line: string) => void;
}

interface Source {
  image: Image;
  target: number;
  bytes: Uint8Array;
  manifest: PatchManifest;
  code: Uint8Array;
}

interface Mutated {
  bytes: Uint8Array;
  mutation: string;
  resigned: boolean;
}

export async function runFuzz(options: FuzzOptions): Promise<{ summary: FuzzSummary; details: FuzzDetails }> {
  const say = options.say ?? (() => {});
  const started = performance.now();
  const trusted = generateKeyPairSync("ed25519");
  const stranger = generateKeyPairSync("ed25519").privateKey;
  say("fuzz: building the images and the valid packages");
  const sources = await buildSources(trusted.privateKey);
  const targets = [...new Set(sources.map((s) => s.image))];
  const data: FuzzWorkerData = {
    targets: targets.map((image) => ({ module: new WebAssembly.Module(image.module as BufferSource), linkMap: image.linkMap })),
    publicKey: new Uint8Array(trusted.publicKey.export({ format: "der", type: "spki" })),
  };
  const summary: FuzzSummary = { cases: 0, refused: 0, applied: 0, crashes: 0, partial: 0, byCode: {}, byStage: Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number> };
  const details: FuzzDetails = { seed: options.seed, resigned: 0, byMutation: {}, failures: [], hangs: 0, workerDeaths: 0, durationMs: 0 };
  const record = (index: number, m: Mutated, result: CaseResult) => {
    summary.cases++;
    if (result.outcome === "crash") summary.crashes++;
    else if (result.outcome === "partial") summary.partial++;
    else summary[result.outcome]++;
    if (result.code) summary.byCode[result.code] = (summary.byCode[result.code] ?? 0) + 1;
    for (const s of STAGES.slice(0, STAGES.indexOf(result.stage) + 1)) summary.byStage[s]++;
    details.byMutation[m.mutation] = (details.byMutation[m.mutation] ?? 0) + 1;
    if (m.resigned) details.resigned++;
    if ((result.outcome === "crash" || result.outcome === "partial") && details.failures.length < 20) {
      details.failures.push({ index, mutation: m.mutation, outcome: result.outcome, detail: result.detail ?? "" });
    }
  };

  let next = 0;
  const pool = Math.max(1, options.workers ?? 2);
  const deadline = options.deadlineMs ?? 10_000;
  const lanes = Array.from({ length: pool }, async () => {
    let worker = await startWorker(data);
    for (let index = next++; index < options.cases; index = next++) {
      const random = seededRandom(indexSeed(options.seed, index));
      const source = sources[Math.floor(random() * sources.length)];
      const m = mutate(source, sources, random, trusted.privateKey, stranger);
      const outcome = await runOne(worker, { id: index, target: targets.indexOf(source.image), bytes: m.bytes }, deadline);
      if (outcome.kind !== "result") {
        if (outcome.kind === "hang") details.hangs++;
        else details.workerDeaths++;
        record(index, m, { outcome: "crash", stage: "parser", detail: outcome.kind === "hang" ? `no answer within ${deadline} ms` : `the worker died: ${outcome.detail}` });
        await worker.terminate();
        worker = await startWorker(data);
      } else record(index, m, outcome.result);
      if ((index + 1) % 1000 === 0) say(`fuzz: ${index + 1} cases`);
    }
    await worker.terminate();
  });
  await Promise.all(lanes);
  details.durationMs = Math.round(performance.now() - started);
  return { summary, details };
}

/** The sources are built in `slots` mode: in `inline` mode version-op (KB5036003) changes start-up code (`~start`) and requires a baseline. */
async function buildSources(key: KeyObject): Promise<Source[]> {
  const v1 = await buildImageFromPath(ASSEMBLY("kvstore/v1.ts"), { mode: "slots" });
  const base = await buildImageFromPath(ASSEMBLY("corpus/kvstore/base.ts"), { mode: "slots" });
  const specs: [Image, string, string][] = [
    [v1, "kvstore/v2.ts", "KB5036001"],
    [v1, "kvstore/v3.ts", "KB5036701"],
    [base, "corpus/kvstore/version-op.ts", "KB5036003"],
  ];
  const out: Source[] = [];
  for (const [image, target, id] of specs) {
    const built = await buildPatch({ base: image, target: ASSEMBLY(target), id, key });
    if (built.kind !== "hotpatch") throw new HotpatchError("E_BUILD", `fuzz source ${target} is not a hotpatch`);
    const decoded = decodePackage(built.package);
    out.push({ image, target: 0, bytes: built.package, manifest: built.manifest, code: decoded.code });
  }
  return out;
}

type Outcome = { kind: "result"; result: CaseResult } | { kind: "hang" } | { kind: "death"; detail: string };

function runOne(worker: Worker, request: FuzzRequest, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      worker.off("error", onError);
      resolve(outcome);
    };
    const onMessage = (m: { id?: number; result?: CaseResult }) => {
      if (m.id === request.id && m.result) done({ kind: "result", result: m.result });
    };
    const onExit = (code: number) => done({ kind: "death", detail: `exit code ${code}` });
    const onError = (error: Error) => done({ kind: "death", detail: error.message });
    const timer = setTimeout(() => done({ kind: "hang" }), deadlineMs);
    worker.on("message", onMessage);
    worker.on("exit", onExit);
    worker.on("error", onError);
    worker.postMessage(request);
  });
}

function startWorker(data: FuzzWorkerData): Promise<Worker> {
  const worker = new Worker(ENTRY, { workerData: data });
  return new Promise((resolve, reject) => {
    worker.once("message", () => resolve(worker));
    worker.once("error", reject);
  });
}

// ---------------------------------------------------------------------------
// Mutations

const MUTATIONS = ["bitflip", "bitflip-code", "truncate", "append", "code-edit", "manifest-edit", "swap-signature"] as const;

function mutate(source: Source, all: Source[], random: () => number, key: KeyObject, stranger: KeyObject): Mutated {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const int = (n: number) => Math.floor(random() * n);
  const mutation = pick(MUTATIONS);
  const bytes = source.bytes;
  const codeAt = bytes.length - 96 - source.code.length;
  const resign = (b: Uint8Array, p: number): Mutated => (random() < p ? { bytes: resignPackage(b, key), mutation, resigned: true } : { bytes: b, mutation, resigned: false });
  switch (mutation) {
    case "bitflip": {
      const out = bytes.slice();
      for (let n = 1 + int(8); n > 0; n--) out[int(out.length)] ^= 1 << int(8);
      return resign(out, 0.5);
    }
    case "bitflip-code": {
      const out = bytes.slice();
      for (let n = 1 + int(4); n > 0; n--) out[codeAt + int(source.code.length)] ^= 1 << int(8);
      return resign(out, 0.9);
    }
    case "truncate":
      return resign(bytes.slice(0, int(bytes.length)), 0.3);
    case "append": {
      const extra = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes);
      out.set(extra, bytes.length);
      return resign(out, 0.5);
    }
    case "code-edit": {
      const code = editCode(source.code, all, random);
      return { bytes: encodePackage({ manifest: source.manifest, code }, key, { validate: false }), mutation, resigned: true };
    }
    case "manifest-edit": {
      const manifest = editManifest(structuredClone(source.manifest), all, random);
      try {
        return { bytes: encodePackage({ manifest, code: source.code }, key, { validate: false }), mutation, resigned: true };
      } catch {
        // Not writable as canonical JSON (e.g. a non-finite number): flip a manifest byte instead.
        const out = bytes.slice();
        out[12 + int(Math.max(1, codeAt - 16))] ^= 0x20;
        return { bytes: resignPackage(out, key), mutation, resigned: true };
      }
    }
    case "swap-signature": {
      const other = pick(all);
      const out = bytes.slice();
      const block = random() < 0.5 ? other.bytes.subarray(other.bytes.length - 96) : resignPackage(bytes, stranger).subarray(bytes.length - 96);
      out.set(block, out.length - 96);
      return { bytes: out, mutation, resigned: false };
    }
  }
}

function editCode(code: Uint8Array, all: Source[], random: () => number): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  const roll = int(5);
  if (roll === 0) return all[int(all.length)].code; // another package's code page
  const out = Array.from(code);
  const at = 8 + int(Math.max(1, out.length - 8)); // keep the header: reach the sections
  if (roll === 1) out.splice(at, 1 + int(4));
  else if (roll === 2) out.splice(at, 0, ...Array.from({ length: 1 + int(4) }, () => int(256)));
  else if (roll === 3) out[at] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0b, 0x41, 0x10][int(8)];
  else for (let n = 0; n < 3; n++) out[8 + int(out.length - 8)] = int(256);
  return Uint8Array.from(out);
}

function editManifest(m: PatchManifest, all: Source[], random: () => number): PatchManifest {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const record = m as unknown as Record<string, unknown>;
  const fn = m.functions.length > 0 ? (pick(m.functions) as unknown as Record<string, unknown>) : undefined;
  const otherKeys = all.flatMap((s) => s.manifest.functions.map((f) => f.key)).concat(["handle", "handleGet", "handlePut", "installSecret", "~start", ""]);
  const edits: (() => void)[] = [
    () => set(fn, "slot", pick([(fn?.slot as number) + 1, (fn?.slot as number) - 1, 0, 1, 2 ** 31, 2 ** 32, -1, 1.5, "3", null, 1e300])),
    () => set(fn, "signature", pick(["(i32)->i32", "(i32,i32)->i32", "()->i32", "()->()", "(i64)->i64", "(f32)->f32", "i32", "", "(i32)->(i32,i32)"])),
    () => set(fn, "key", pick(otherKeys)),
    () => set(fn, "export", pick(["fn:0", "fn:9999", "memory", "", "hotpatch:slots", ...m.functions.map((f) => f.export)])),
    () => set(fn, "oldFingerprint", pick(["none", "0".repeat(64), ""])),
    () => set(fn, "newFingerprint", pick(["", "x"])),
    () => m.functions.push(structuredClone(pick(m.functions.length ? m.functions : all[0].manifest.functions))),
    () => m.functions.splice(int(Math.max(1, m.functions.length)), 1),
    () => set(record, "functions", []),
    () => m.functions.push({ ...structuredClone(pick(all).manifest.functions[0]), slot: 100 + int(200), oldFingerprint: "none" }),
    () => set(m.target as unknown as Record<string, unknown>, "buildId", pick([...all.map((s) => s.manifest.target.buildId), "", "0".repeat(24)])),
    () => set(record, "id", pick(["KB1", "KB0", "KB99999999999999999999999", "kb5036001", "KB5036001x", ""])),
    () => set(record, "format", pick([0, 2, "1", null])),
    () => set(record, "kind", pick(["baseline", "", null])),
    () => set(record, "supersedes", pick([["KB1"], ["KB5036001"], "KB1", [""], []])),
    () => set(record, "helpers", pick([["x"], [""], "x", null, [1]])),
    () => set(record, "title", pick(["", 7, "t".repeat(10_000)])),
    () => set(record, "extra", { nested: [1, 2, 3] }),
    () => {
      const data = (m.data ?? { size: 16, objects: [0], relocations: [] }) as unknown as Record<string, unknown>;
      const field = pick(["size", "objects", "relocations", "drop"]);
      if (field === "drop") delete record.data;
      else if (field === "size") data.size = pick([0, 1, 15, 16, 4096, 65536, 2 ** 32 - 1, (data.size as number) + 1, (data.size as number) - 1]);
      else if (field === "objects") data.objects = pick([[], [0], [0, 0], [(data.size as number) - 1], [1_000_000]]);
      else data.relocations = pick([[], [{ at: 0, object: 0, offset: 0 }], [{ at: (data.size as number) - 4, object: 0, offset: 2 ** 32 - 1 }], [{ at: 1, object: 5, offset: 0 }]]);
      if (field !== "drop") record.data = data;
    },
  ];
  for (let n = 1 + int(2); n > 0; n--) pick(edits)();
  return m;
}

function set(target: Record<string, unknown> | undefined, field: string, value: unknown): void {
  if (target) target[field] = value;
}
