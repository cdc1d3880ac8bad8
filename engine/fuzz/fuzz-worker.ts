/**
 * A fuzz worker: runs fuzz cases one at a time (fuzz-case.ts) and answers
 * each with its result. The control plane's watchdog terminates it when a
 * case takes too long; a dead worker is replaced. Cases never share a
 * process: each gets a fresh one.
 */
import { createPublicKey } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { TrustStore } from "../patch/index.ts";
import { type FuzzTarget, runCase } from "./fuzz-case.ts";

export interface FuzzWorkerData {
  targets: FuzzTarget[];
  /** SPKI DER of the trusted key. */
  publicKey: Uint8Array;
}

export type FuzzRequest = { id: number; target: number; bytes: Uint8Array };

const data = workerData as FuzzWorkerData;
const trust = new TrustStore([createPublicKey({ key: Buffer.from(data.publicKey), format: "der", type: "spki" })]);
parentPort!.on("message", (request: FuzzRequest) => {
  const result = runCase(data.targets[request.target], request.bytes, trust);
  parentPort!.postMessage({ id: request.id, result });
});
parentPort!.postMessage({ ready: true });
