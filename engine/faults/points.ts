/**
 * The catalogue of named fault points: every place in the engine where a
 * fault plan (plan.ts) can make something fail. Each point is exactly one
 * `faults.hit(<name>, …)` call in the file named here, inside the function
 * (or `Class.method`) named after it (`where`: "<file> <function>: <place>",
 * which test/fault-points-name-the-functions-that-host-them.test.ts checks);
 * nothing else in the engine knows about fault injection.
 *
 * `thread` says where the point runs: "control" (the thread that stages
 * packages, writes the database and supervises), "guest" (the thread that
 * runs the guest: a worker process, or the calling thread for in-thread
 * processes), or "worker" (only in a worker process).
 */
export const FAULT_POINTS = {
  "package.read": {
    where: "engine/loader/stage.ts checkPackage: first line, before the container is decoded",
    thread: "control",
    what: "reading a package fails (I/O error, truncated download)",
  },
  "signature.verify": {
    where: "engine/loader/stage.ts checkPackage: just before verifyPackage",
    thread: "control",
    what: "the signature check fails or stalls (a slow HSM, a crypto error)",
  },
  compile: {
    where: "engine/loader/stage.ts checkPackage: last line, just before the code page is compiled",
    thread: "control",
    what: "compiling the code page fails or stalls",
  },
  instantiate: {
    where: "engine/loader/linking.ts Linker.link: inside the try, just before new WebAssembly.Instance",
    thread: "guest",
    what: "instantiating the code page fails (the loader refuses with E_INSTANTIATE and gives the data space back)",
  },
  swap: {
    where: "engine/loader/swap.ts swapSlots: after each slot write (detail: written, total)",
    thread: "guest",
    what: "the swap fails after k of n slots (rule field afterSlot: k)",
  },
  "after-swap": {
    where: "engine/worker/worker-main.ts switched: after a completed switch, before the control plane is told",
    thread: "worker",
    what: "the process dies or stalls right after switching, before the acknowledgement (the switch record in the shared metrics)",
  },
  "before-report": {
    where: "engine/worker/worker-main.ts reportSwitch: first statement, before a completed switch's report is posted",
    thread: "worker",
    what: "the process dies after the switch was acknowledged in the shared metrics, before its report is posted (new code that hangs or traps at once)",
  },
  "transition.wait": {
    where: "engine/loader/transition.ts tryComplete: at a safe point where a patched function is still active",
    thread: "guest",
    what: "a transition waits longer than expected (preemption, a long GC pause) or fails while waiting",
  },
  "vm-pool.load": {
    where: "engine/vms/pool-worker.ts serveRound: first statement, before a round of load on the worker's VMs",
    thread: "worker",
    what: "a VM pool worker thread dies while its VMs serve load (mode crash ends the thread; hotpatch serve boots its VMs again)",
  },
  "install.apply": {
    where: "engine/manage/install.ts installUpdates: after the run is committed InProgress, before its updates are applied",
    thread: "control",
    what: "the process installing updates dies mid-run (mode kill: the run stays recorded InProgress until the next run closes it as Failed)",
  },
  "install.db-write": {
    where: "engine/manage/install-records.ts commitOutcome: first statement of the final transaction",
    thread: "control",
    what: "the database write that records an install's outcome fails (the transaction rolls back)",
  },
  restart: {
    where: "engine/worker/supervisor.ts relaunch: before each attempt to start the new worker",
    thread: "control",
    what: "restarting a crashed process fails or is slow",
  },
} as const;

export type FaultPointName = keyof typeof FAULT_POINTS;

export const FAULT_POINT_NAMES = Object.keys(FAULT_POINTS) as FaultPointName[];

export function isFaultPoint(name: string): name is FaultPointName {
  return Object.hasOwn(FAULT_POINTS, name);
}
