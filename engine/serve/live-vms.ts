/**
 * The VMs' guest processes, kept running for as long as the server runs.
 *
 * They run in the server's VM pool (engine/vms/pool.ts): a few worker
 * threads, each holding many VMs' processes and serving each of them a round
 * of LOAD_ROUND_REQUESTS seeded requests every LOAD_INTERVAL_MS between the
 * server's calls. Their counters climb between two API requests, a hotpatch
 * installed through the API goes into processes that already hold state, and
 * a baseline's reboot loses it (install-apply.ts measures that). The main
 * thread only answers the API.
 *
 * At start every VM boots as a real OS does (its image, then its installed
 * hotpatches re-applied: Session.runtime), one VM at a time in the serial
 * queue, so a boot never interleaves with an install's steps. When a pool
 * worker crashes, each of its VMs gets a `vm.crashed` event and boots again
 * at once (a `vm.booted` event with `restart: true`), as a VM restarts after
 * a host failure.
 */
import { listVms, type VmRecord } from "../manage/index.ts";
import { VmPool } from "../vms/index.ts";
import { emulatedNow, type ServeContext } from "./context.ts";

export const LOAD_INTERVAL_MS = 200;
export const LOAD_ROUND_REQUESTS = 20;

/** The pool a server's VMs run in; a worker that crashes has its VMs booted again at once (restartVms). */
export function createVmPool(contextOf: () => ServeContext): VmPool {
  return new VmPool({
    loadIntervalMillis: LOAD_INTERVAL_MS,
    loadRequests: LOAD_ROUND_REQUESTS,
    onWorkerExit: (vms, reason) => restartVms(contextOf(), vms, reason),
  });
}

/** Restarts allowed per VM within RESTART_WINDOW_MS before it is left stopped (a worker that dies on every boot must not loop). */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 60_000;

/**
 * The VMs of a crashed pool worker: a `vm.crashed` event each, then booted again (state lost,
 * installed hotpatches re-applied) — unless it crashed MAX_RESTARTS times within RESTART_WINDOW_MS:
 * then it stays stopped with the reason in bootErrors (its processes endpoint boots it again).
 */
function restartVms(context: ServeContext, vms: readonly string[], reason: string): void {
  const now = context.wallClock().getTime();
  for (const name of vms) {
    context.events.publish("vm.crashed", emulatedNow(context), { reason }, name);
    const recent = (context.restarts.get(name) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
    if (recent.length >= MAX_RESTARTS) {
      context.bootErrors.set(name, `its worker crashed ${recent.length + 1} times within ${RESTART_WINDOW_MS / 1000} s (last: ${reason}); left stopped`);
      context.restarts.delete(name);
      continue;
    }
    context.restarts.set(name, [...recent, now]);
    void bootVm(context, name);
  }
}

/** Boots one VM's processes through the serial queue unless they run already; a failure is kept in context.bootErrors. */
export function bootVm(context: ServeContext, name: string): Promise<void> {
  return context.serial.run(async () => {
    if (context.session.bootedRuntime(name) !== undefined) return;
    const vm = context.store.vm<VmRecord>(name);
    if (vm === undefined) return; // deleted while queued
    const restart = context.booted.has(name);
    const started = performance.now();
    try {
      const runtime = await context.session.runtime(vm);
      context.bootErrors.delete(name);
      context.booted.add(name);
      const bootMillis = Math.round((performance.now() - started) * 1000) / 1000;
      context.events.publish("vm.booted", emulatedNow(context), { processes: runtime.processCount, bootMillis, restart }, name);
    } catch (error) {
      context.bootErrors.set(name, error instanceof Error ? error.message : String(error));
    }
  });
}

/** A deleted VM: its processes end and the server forgets it booted them (a VM made again under the name boots fresh). */
export function forgetVm(context: ServeContext, name: string): void {
  context.session.dropRuntime(name);
  context.booted.delete(name);
  context.bootErrors.delete(name);
  context.restarts.delete(name);
}

/** Boots every VM that exists; resolves when all have booted (or failed to: context.bootErrors). */
export async function bootAllVms(context: ServeContext): Promise<void> {
  for (const vm of listVms(context.store)) await bootVm(context, vm.name);
}
