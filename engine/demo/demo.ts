/**
 * The teaching demo: an exploit stopped by a live patch.
 *
 * The kvstore v1 service runs with a seeded stream of requests; a crafted
 * heartbeat leaks its admin token; the v2 security fix is built and applied
 * while the process keeps its state; the same request is refused; the
 * counters continue; reverting brings the bug back. Every fact in the result
 * is measured on the running process, none is written in.
 *
 * The image is built in the default mode (DEFAULT_IMAGE_MODE, `inline`):
 * functions the optimiser inlined into their callers have no slot, so the
 * fix to one of them (v2 changes `handleEcho`, inlined into `handle`) is
 * delivered as the callers' new bodies, and the narration names what the
 * patch replaces, as the builder reported it.
 */
import { generateKeyPairSync } from "node:crypto";
import { buildPatch } from "../builder/index.ts";
import { decodeStats, getRequest, HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, putRequest, randomRequests, statsRequest, Status } from "../guests/index.ts";
import { buildImageFromPath, type ImageMode } from "../image/index.ts";
import { PatchLoader } from "../loader/index.ts";
import { TrustStore } from "../patch/index.ts";
import { GuestProcess } from "../process/index.ts";

export interface ExploitOutcome {
  leaked: boolean;
  status: number;
  responseBytes: number;
  /** The leaked secret, if any (printable run containing "TOKEN"). */
  secret: string | null;
}

export interface DemoResult {
  exploit: { before: ExploitOutcome; after: ExploitOutcome };
  applyMicros: number;
  restarted: boolean;
  countersContinued: boolean;
  revert: { exploitWorksAgain: boolean; revertMicros: number };
  /** The image's mode (engine/image/build.ts) and how many functions have a slot of their own. */
  image: { mode: ImageMode; functions: number };
  patch: { id: string; functions: string[]; bytes: number; buildMillis: number };
  requests: { before: number; after: number };
  storedValueSurvived: boolean;
}

export const DEMO_PATCH_ID = "KB5036001";

/** Runs the demo; `narrate` receives the story line by line. */
export async function runDemo(narrate: (line: string) => void = () => {}, seed = 2026): Promise<DemoResult> {
  narrate("1. Building the hotpatch-enabled image of kvstore v1 (assembly/kvstore/v1.ts)…");
  const image = await buildImageFromPath(kvstoreVersion("v1"));
  const mode = image.linkMap.mode ?? "slots";
  const inlined = mode === "inline" ? " (inline mode: the optimiser inlined the others into their callers)" : " (slots mode)";
  narrate(`   build ${image.linkMap.buildId}: ${image.linkMap.functions.length} functions, each in its own slot${inlined}`);

  const process = GuestProcess.start(image);
  const loader = new PatchLoader(process);
  const serve = (requests: Uint8Array[]) => {
    for (const r of requests) process.request(r);
  };
  serve(randomRequests(seed, 2000));
  process.request(putRequest("customer:42", "Ada Lovelace, 12 Analytical St"));
  const statsBefore = decodeStats(process.request(statsRequest()));
  narrate(`2. The service is running: ${statsBefore.requests} requests served, ${statsBefore.keys} keys stored.`);

  const before = exploit(process);
  narrate(`3. An attacker sends a 4-byte heartbeat that claims to carry 1,280 bytes.`);
  narrate(`   The service answers with ${before.responseBytes} bytes — including "${before.secret ?? "(nothing)"}".`);

  narrate(`4. Building the security update (v1 → v2) as a hotpatch…`);
  const keys = generateKeyPairSync("ed25519");
  const buildStarted = performance.now();
  const built = await buildPatch({ base: image, target: kvstoreVersion("v2"), id: DEMO_PATCH_ID, key: keys.privateKey, title: "Heartbeat over-read fix" });
  const buildMillis = Math.round(performance.now() - buildStarted);
  if (built.kind !== "hotpatch") throw new Error(`the demo's security fix did not build as a hotpatch: ${built.reasons.join("; ")}`);
  const functions = built.functions.map((f) => f.key);
  const replaced = mode === "inline" ? " (every function whose optimised body changed)" : "";
  narrate(`   ${DEMO_PATCH_ID}: replaces ${functions.join(", ")}${replaced}; ${built.package.length}-byte signed package, built in ${buildMillis} ms`);

  const trust = new TrustStore([keys.publicKey]);
  const applyStarted = performance.now();
  loader.apply(built.package, trust);
  const applyMicros = Math.round((performance.now() - applyStarted) * 1000);
  narrate(`5. Applied live in ${applyMicros} µs (verify signature + compile + link + swap). No restart.`);

  serve(randomRequests(seed + 1, 2000));
  const after = exploit(process);
  narrate(`6. The same heartbeat now gets status ${statusName(after.status)} and ${after.responseBytes} byte(s): ${after.leaked ? "STILL LEAKING" : "nothing leaks"}.`);

  const statsAfter = decodeStats(process.request(statsRequest()));
  const stored = process.request(getRequest("customer:42"));
  const storedValueSurvived = stored[0] === Status.OK && Buffer.from(stored.subarray(3)).toString() === "Ada Lovelace, 12 Analytical St";
  // Requests since the first STATS: the exploit, 2,000 stream requests, the second exploit, and this STATS.
  const countersContinued = statsAfter.requests === statsBefore.requests + 2003;
  narrate(`7. Counters continued: ${statsBefore.requests} → ${statsAfter.requests} requests; customer:42 is ${storedValueSurvived ? "still stored" : "LOST"}.`);

  const revertStarted = performance.now();
  loader.revert(DEMO_PATCH_ID);
  const revertMicros = Math.round((performance.now() - revertStarted) * 1000);
  const reverted = exploit(process);
  narrate(`8. Reverted ${DEMO_PATCH_ID} in ${revertMicros} µs: the heartbeat ${reverted.leaked ? `leaks "${reverted.secret}" again` : "no longer leaks (unexpected)"}.`);

  return {
    exploit: { before, after },
    applyMicros,
    restarted: loader.attached !== process || statsAfter.requests < statsBefore.requests,
    countersContinued,
    revert: { exploitWorksAgain: reverted.leaked, revertMicros },
    image: { mode, functions: image.linkMap.functions.length },
    patch: { id: DEMO_PATCH_ID, functions, bytes: built.package.length, buildMillis },
    requests: { before: statsBefore.requests, after: statsAfter.requests },
    storedValueSurvived,
  };
}

function exploit(process: GuestProcess): ExploitOutcome {
  const response = process.request(HEARTBLEED_REQUEST);
  const secret = printableRuns(response).find((run) => run.includes("TOKEN")) ?? null;
  return { leaked: secret !== null, status: response[0], responseBytes: response.length, secret };
}

function statusName(status: number): string {
  return Object.entries(Status).find(([, v]) => v === status)?.[0] ?? String(status);
}
