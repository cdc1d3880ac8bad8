/** Shared set-up for the worker-process tests: the kvstore v1 image, its hotpatches, and a supervisor. */
import { fileURLToPath } from "node:url";
import type { Image } from "../engine/image/index.ts";
import type { LoadSpec } from "../engine/load/index.ts";
import { stagePatch } from "../engine/loader/index.ts";
import { Supervisor, type WorkerMessage } from "../engine/worker/index.ts";
import type { SupervisorOptions } from "../engine/worker/supervisor.ts";
import { hotpatch, kvImage, type SigningKeys, signingKeys } from "./guest-fixtures.ts";
import { kvstoreVersion } from "../engine/guests/index.ts";

/** kvstore v1 with a changed handleScan: the function a SCAN request keeps on the stack. */
export const SCAN_FIXTURE = fileURLToPath(new URL("./fixtures/live/scan.ts", import.meta.url));

export interface LiveKit {
  image: Image;
  keys: SigningKeys;
  /** v1 → v2: replaces handleEcho (never active during a SCAN). */
  echoFix: Uint8Array;
  /** v1 → fixtures/live/scan.ts: replaces handleScan. */
  scanFix: Uint8Array;
}

export async function liveKit(): Promise<LiveKit> {
  const image = await kvImage("v1");
  const keys = signingKeys();
  const echoFix = (await hotpatch(image, kvstoreVersion("v2"), "KB5036001", keys.privateKey)).package;
  const scanFix = (await hotpatch(image, SCAN_FIXTURE, "KB5036002", keys.privateKey)).package;
  return { image, keys, echoFix, scanFix };
}

export const stage = (kit: LiveKit, bytes: Uint8Array) => stagePatch(bytes, kit.keys.trust);

export function supervise(kit: LiveKit, load: LoadSpec, options: Partial<SupervisorOptions> = {}): Promise<Supervisor> {
  return Supervisor.start({ module: new WebAssembly.Module(kit.image.module as BufferSource), linkMap: kit.image.linkMap, load, ...options });
}

export const isLog = (line: string) => (m: WorkerMessage) => m.type === "log" && m.line.includes(line);
export const isHeld = (m: WorkerMessage): m is Extract<WorkerMessage, { type: "held" }> => m.type === "held";

/** Waits (polling, no deadline) until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
