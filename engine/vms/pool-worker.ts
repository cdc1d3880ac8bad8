/**
 * One worker thread of the VM pool: it holds the processes of the VMs the
 * pool placed on it (runtime.ts) and, between the pool's calls, serves a
 * round of seeded load on each of them every `loadIntervalMillis`.
 *
 * Ordering: the thread does one thing at a time — a call from the pool or a
 * load round — so an apply, revert or reboot always falls between two
 * requests, and the answers go back in the order the calls came.
 *
 * Contract: nothing imported here may reach binaryen or the AssemblyScript
 * compiler at run time (images and packages arrive built).
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import type { Image } from "../image/index.ts";
import type { PoolAnswer, PoolRequest, PoolWorkerConfig, VmMethod, WorkerMemory } from "./pool-protocol.ts";
import { serializeFailure } from "./pool-protocol.ts";
import { VmRuntime } from "./runtime.ts";
import { type PostedStaged, stagedStats } from "./staged-packages.ts";

const config = workerData as PoolWorkerConfig;
const vms = new Map<string, VmRuntime>();

const methods: Record<VmMethod, (vm: VmRuntime, args: unknown[]) => unknown> = {
  serveLoad: (vm, [requests]) => vm.serveLoad(requests as number | undefined),
  totals: (vm) => vm.totals(),
  snapshot: (vm) => vm.snapshot(),
  applyHotpatch: (vm, [kb, bytes, posted]) => vm.applyHotpatch(kb as string, bytes as Uint8Array, posted as PostedStaged),
  revertHotpatch: (vm, [kb]) => vm.revertHotpatch(kb as string),
  reboot: (vm, [image, hotpatches]) => vm.reboot(image as Image, hotpatches as Uint8Array[]),
  checkHealth: (vm, [revision, seed]) => vm.health(revision as number, seed as number),
  request: (vm, [index, bytes]) => vm.request(index as number, bytes as Uint8Array),
  stop: (vm) => {
    vms.delete(vm.vmName);
  },
};

function run(request: PoolRequest): unknown {
  switch (request.op) {
    case "boot": {
      // A name already held would be replaced under the handle that holds it: refuse instead.
      if (vms.has(request.spec.vmName)) throw new HotpatchError("E_VM_EXISTS", `VM ${request.spec.vmName} runs in this pool worker already`, { vm: request.spec.vmName });
      const vm = VmRuntime.boot(request.spec);
      vms.set(request.spec.vmName, vm);
      return vm.processes.length;
    }
    case "memory":
      if (request.collect) collectGarbage();
      return { vms: vms.size, heapUsed: getHeapStatistics().used_heap_size, external: process.memoryUsage().external, stages: stagedStats().stages, stageHits: stagedStats().hits } satisfies WorkerMemory;
    case "call": {
      const vm = vms.get(request.vm);
      if (vm === undefined) throw new HotpatchError("E_CRASHED", `the processes of VM ${request.vm} are not running in this pool worker`, { vm: request.vm });
      return methods[request.method](vm, request.args);
    }
  }
}

/** A full collection (V8's --expose-gc, switched on for this call only). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function serveRound(): void {
  if (faults.isArmed()) faults.hit("vm-pool.load", { vms: vms.size });
  for (const vm of vms.values()) {
    try {
      vm.serveLoad(config.loadRequests);
      vm.loadError = undefined;
    } catch (error) {
      // Not a guest failure (serveLoad counts those): keep serving the other VMs, report it in the VM's snapshot.
      vm.loadError = error instanceof Error ? error.message : String(error);
    }
  }
}

parentPort!.on("message", (request: PoolRequest) => {
  let answer: PoolAnswer;
  try {
    answer = { id: request.id, ok: true, value: run(request) };
  } catch (error) {
    answer = { id: request.id, ok: false, error: serializeFailure(error) };
  }
  parentPort!.postMessage(answer);
});

if (config.loadIntervalMillis > 0) setInterval(serveRound, config.loadIntervalMillis);
