/**
 * The VMs' guest processes, kept running for as long as the server runs.
 *
 * At start every VM boots as a real OS does (its image, then its installed
 * hotpatches re-applied: Session.runtime), one VM at a time in the serial
 * queue, so a boot never interleaves with an install's steps. Then a timer
 * serves a round of the seeded load on every booted VM every
 * LOAD_INTERVAL_MS: their counters climb between requests, a hotpatch
 * installed through the API goes into processes that already hold state,
 * and a baseline's reboot loses it (install-run.ts measures that).
 *
 * The processes run on the server's main thread (manage/runtime.ts), not in
 * worker threads: a load round is LOAD_ROUND_REQUESTS requests per process,
 * a few hundred microseconds for the fleets the tests use.
 */
import { listVms, type VmRecord } from "../manage/index.ts";
import type { ServeContext } from "./context.ts";

export const LOAD_INTERVAL_MS = 200;
export const LOAD_ROUND_REQUESTS = 20;

export interface LiveVms {
  /** Resolves once every VM that existed at start has booted (or failed to: context.bootErrors). */
  booted: Promise<void>;
  /** Stops the load timer (the processes stay until the server's process ends). */
  stop(): void;
}

/** Boots one VM's processes through the serial queue unless they run already; a failure is kept in context.bootErrors. */
export function bootVm(context: ServeContext, name: string): Promise<void> {
  return context.serial.run(async () => {
    if (context.session.bootedRuntime(name) !== undefined) return;
    const vm = context.store.vm<VmRecord>(name);
    if (vm === undefined) return; // deleted while queued
    try {
      await context.session.runtime(vm);
      context.bootErrors.delete(name);
    } catch (error) {
      context.bootErrors.set(name, error instanceof Error ? error.message : String(error));
    }
  });
}

/** Boots every VM, then keeps the booted ones serving load until `stop`. */
export function startLiveVms(context: ServeContext): LiveVms {
  const booted = (async () => {
    for (const vm of listVms(context.store)) await bootVm(context, vm.name);
  })();
  const timer = setInterval(() => {
    for (const runtime of context.session.bootedRuntimes()) {
      try {
        runtime.serveLoad(LOAD_ROUND_REQUESTS);
      } catch (error) {
        // Not a guest failure (serveLoad counts those): keep the server up, report it beside the VM.
        context.bootErrors.set(runtime.vmName, `load: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }, LOAD_INTERVAL_MS);
  timer.unref();
  return { booted, stop: () => clearInterval(timer) };
}
