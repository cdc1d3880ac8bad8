/**
 * The teaching demo on the server (`hotpatch demo --portal`): the story of
 * `hotpatch demo` — an exploit stopped by a live patch — played on a VM named
 * `demo` whose kvstore v1 process runs in the server's VM pool and serves its
 * load all along, so the portal's Processes view shows the slot change and
 * the request counter that never resets while the portal narrates each step.
 *
 * Each step is a `demo.step` event { step, text } (and a line for the
 * terminal); the live apply and revert are `hotpatch.applied` /
 * `hotpatch.reverted` events for VM `demo`, marked on the charts. Steps are
 * `stepMillis` apart so people can watch. The `demo` VM is a story VM: it is
 * not in the state file and ARM does not list it; the processes endpoint
 * shows it (context.storyVms).
 *
 * Every fact narrated is measured on the running process, as in engine/demo/.
 */
import { generateKeyPairSync } from "node:crypto";
import { buildPatch } from "../builder/index.ts";
import { decodeStats, getRequest, HEARTBLEED_REQUEST, kvstoreVersion, printableRuns, putRequest, statsRequest, Status } from "../guests/index.ts";
import { buildImageFromPath } from "../image/index.ts";
import type { VmProcesses } from "../vms/index.ts";
import { emulatedNow, type ServeContext } from "./context.ts";

export const DEMO_VM = "demo";
export const DEMO_KB = "KB5036001";

export interface DemoStep {
  step: number;
  text: string;
}

export class DemoStory {
  readonly steps: DemoStep[] = [];
  running = false;
  done = false;
  error: string | undefined;

  constructor(
    private readonly context: ServeContext,
    private readonly stepMillis: number,
    private readonly narrate: (line: string) => void = () => {},
  ) {}

  /** Starts the story unless it runs already; false if it does. Resolves `finished` when it ends. */
  start(): boolean {
    if (this.running) return false;
    this.running = true;
    this.done = false;
    this.error = undefined;
    this.steps.length = 0;
    this.finished = this.play()
      .catch((error) => {
        this.error = error instanceof Error ? error.message : String(error);
        this.say(`The demo stopped: ${this.error}`);
      })
      .finally(() => {
        this.running = false;
        this.done = true;
      });
    return true;
  }

  finished: Promise<void> = Promise.resolve();

  private say(text: string): void {
    const step = { step: this.steps.length + 1, text };
    this.steps.push(step);
    this.narrate(text);
    this.context.events.publish("demo.step", emulatedNow(this.context), { ...step }, DEMO_VM);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.stepMillis));
  }

  private async play(): Promise<void> {
    this.say("Building the hotpatch-enabled image of kvstore v1 (assembly/kvstore/v1.ts) and booting it as VM demo…");
    const image = await buildImageFromPath(kvstoreVersion("v1"));
    const keys = generateKeyPairSync("ed25519");
    await this.context.storyVms.get(DEMO_VM)?.stop();
    const bootStarted = performance.now();
    // "story:" cannot start a VM name, so the story VM never meets a real VM named demo in the pool.
    const vm = await this.context.host.boot({ vmName: `story:${DEMO_VM}`, count: 1, image, hotpatches: [], trustedKeys: [keys.publicKey], seed: 2026 });
    this.context.storyVms.set(DEMO_VM, vm);
    const bootMillis = Math.round((performance.now() - bootStarted) * 1000) / 1000;
    this.context.events.publish("vm.booted", emulatedNow(this.context), { processes: 1, bootMillis, restart: false }, DEMO_VM);
    await vm.request(0, putRequest("customer:42", "Ada Lovelace, 12 Analytical St"));
    await this.pause();
    const before = decodeStats(await vm.request(0, statsRequest()));
    this.say(`The service is running: ${before.requests} requests served, ${before.keys} keys stored; its load keeps coming.`);
    await this.pause();

    const leak = await exploit(vm);
    this.say(`An attacker sends a 4-byte heartbeat that claims to carry 1,280 bytes. The service answers with ${leak.bytes} bytes — including "${leak.secret ?? "(nothing)"}".`);
    await this.pause();

    this.say("Building the security update (v1 → v2) as a hotpatch…");
    const started = performance.now();
    const built = await buildPatch({ base: image, target: kvstoreVersion("v2"), id: DEMO_KB, key: keys.privateKey, title: "Heartbeat over-read fix" });
    if (built.kind !== "hotpatch") throw new Error(`the security fix did not build as a hotpatch: ${built.reasons.join("; ")}`);
    this.say(`${DEMO_KB} replaces ${built.functions.map((f) => f.key).join(", ")}: a ${built.package.length}-byte signed package, built in ${Math.round(performance.now() - started)} ms.`);
    await this.pause();

    const timing = await vm.applyHotpatch(DEMO_KB, built.package);
    this.context.events.publish("hotpatch.applied", emulatedNow(this.context), { kbId: DEMO_KB, ...timing }, DEMO_VM);
    this.say(`Applied live in ${timing.applyMicros} µs (verify signature, compile, link, switch); the switch itself paused the process ${timing.pauseMicros} µs. No restart.`);
    await this.pause();

    const fixed = await exploit(vm);
    this.say(`The same heartbeat now gets status ${statusName(fixed.status)} and ${fixed.bytes} byte(s): ${fixed.secret === null ? "nothing leaks" : "STILL LEAKING"}.`);
    await this.pause();

    const after = decodeStats(await vm.request(0, statsRequest()));
    const stored = await vm.request(0, getRequest("customer:42"));
    const kept = stored[0] === Status.OK && Buffer.from(stored.subarray(3)).toString() === "Ada Lovelace, 12 Analytical St";
    this.say(`Counters continued: ${before.requests} → ${after.requests} requests, never reset; customer:42 is ${kept ? "still stored" : "LOST"}.`);
    await this.pause();

    const reverted = await vm.revertHotpatch(DEMO_KB);
    this.context.events.publish("hotpatch.reverted", emulatedNow(this.context), { kbId: DEMO_KB, ...reverted }, DEMO_VM);
    const again = await exploit(vm);
    this.say(`Reverted ${DEMO_KB} live (a ${reverted.pauseMicros} µs switch): the heartbeat ${again.secret === null ? "no longer leaks (unexpected)" : `leaks "${again.secret}" again`}.`);
    this.say(fixed.secret === null && leak.secret !== null && kept ? "The fix went in live: no restart, no lost state, the exploit stopped." : "Something did not behave as expected (see above).");
  }
}

async function exploit(vm: VmProcesses): Promise<{ status: number; bytes: number; secret: string | null }> {
  const response = await vm.request(0, HEARTBLEED_REQUEST);
  return { status: response[0], bytes: response.length, secret: printableRuns(response).find((run) => run.includes("TOKEN")) ?? null };
}

function statusName(status: number): string {
  return Object.entries(Status).find(([, v]) => v === status)?.[0] ?? String(status);
}
