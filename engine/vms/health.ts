/**
 * The health check run after every install, uninstall and rollback: the
 * emulator's "platform health signal", read from the VM's processes.
 *
 * Contracts:
 * - Every process serves HEALTH_REQUESTS seeded requests (a mix that
 *   includes malformed ones: an error *response* is normal service, not a
 *   failure). Unhealthy when any process crashes (a guest trap or abort),
 *   when a process runs another OS revision than the VM's records say
 *   (`osRevision()` of the release line), or when the 99th-percentile
 *   request latency exceeds LATENCY_LIMIT_MICROS.
 * - The result lists every reason; it never throws for a guest failure.
 */
import { isHotpatchError } from "../errors.ts";
import { randomRequests } from "../guests/index.ts";
import type { VmRuntime } from "./runtime.ts";

export const HEALTH_REQUESTS = 200;
export const LATENCY_LIMIT_MICROS = 50_000;

export interface HealthReport {
  status: "Healthy" | "Unhealthy";
  processes: number;
  requests: number;
  crashes: number;
  latencyP99Micros: number;
  expectedRevision: number;
  runningRevisions: number[];
  reasons: string[];
}

export function checkHealth(runtime: VmRuntime, expectedRevision: number, seed: number): HealthReport {
  const latencies: number[] = [];
  const reasons: string[] = [];
  const revisions: number[] = [];
  let crashes = 0;
  for (const p of runtime.processes) {
    try {
      revisions.push(p.process.call("osRevision") as number);
      for (const request of randomRequests(seed + p.index, HEALTH_REQUESTS)) {
        const started = performance.now();
        p.process.request(request);
        latencies.push((performance.now() - started) * 1000);
      }
    } catch (error) {
      if (!isHotpatchError(error)) throw error;
      crashes += 1;
      reasons.push(`process ${p.index} crashed: ${error.message}`);
    }
  }
  const wrong = revisions.filter((r) => r !== expectedRevision);
  if (wrong.length > 0) reasons.push(`${wrong.length} process(es) run revision ${wrong[0]}, expected ${expectedRevision}`);
  latencies.sort((a, b) => a - b);
  const p99 = latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
  if (p99 > LATENCY_LIMIT_MICROS) reasons.push(`p99 request latency ${Math.round(p99)} µs exceeds ${LATENCY_LIMIT_MICROS} µs`);
  return {
    status: reasons.length === 0 ? "Healthy" : "Unhealthy",
    processes: runtime.processes.length,
    requests: latencies.length,
    crashes,
    latencyP99Micros: Math.round(p99),
    expectedRevision,
    runningRevisions: revisions,
    reasons,
  };
}
