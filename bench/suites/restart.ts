/**
 * Suite 3 — hot patch against the alternatives, on kvstore holding state.
 *
 * State (documented amount): STATE_KEYS keys with STATE_VALUE_BYTES-byte
 * values, loaded through the guest's own PUT requests.
 * - restart: compile the whole image from bytes V8 has not seen (a unique
 *   custom section), instantiate it (its start function runs), reload the state
 *   through PUT requests;
 * - whole-instance swap keeping memory: compile (uncached) and instantiate the
 *   v2 image, copy the old instance's linear memory and mutable globals into it;
 * - hot patch: enable a staged one-function patch (the downtime: the guest is
 *   paused only for the enable), and, beside it, a whole synchronous apply.
 * Ratios are of medians measured in this run.
 */
import { getRequest, kvstoreVersion, putRequest } from "../../engine/guests/index.ts";
import { buildImage, type Image, isImage, loadGuest, slotPlanOf } from "../../engine/image/index.ts";
import { GuestProcess } from "../../engine/process/index.ts";
import { timedApplies } from "../lib/apply.ts";
import { freshModuleBytes } from "../lib/fresh.ts";
import { Recorder, roundTo, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

export const STATE_KEYS = 1000;
export const STATE_VALUE_BYTES = 32;

const stateRequests = () =>
  Array.from({ length: STATE_KEYS }, (_, i) => putRequest(`key:${i}`, new Uint8Array(STATE_VALUE_BYTES).fill(65 + (i % 26))));

export const restart: Suite = {
  name: "restart",
  title: "Hot patch against a restart and a whole-instance swap (downtime)",
  async run(context) {
    const samples = context.quick ? 300 : 1000;
    const v1 = await context.kvImage("v1");
    const v2 = await v2WithV1Slots(v1);
    const puts = stateRequests();
    const load = (process: GuestProcess) => {
      for (const r of puts) process.request(r);
    };

    const restartRec = new Recorder("restart: uncached compile + instantiate + reload state");
    const swapRec = new Recorder("whole-instance swap: uncached compile + instantiate + copy memory and globals");
    const old = GuestProcess.start(v1);
    load(old);
    let restartKeeps = true;
    let swapKeeps = true;
    for (let i = 0; i < samples; i++) {
      const bytes = freshModuleBytes(v1.module);
      const t0 = performance.now();
      const fresh = GuestProcess.start({ module: bytes, linkMap: v1.linkMap });
      load(fresh);
      restartRec.addMillis(performance.now() - t0);
      if (i === 0) restartKeeps = storedValue(fresh);

      const v2bytes = freshModuleBytes(v2.module);
      const t1 = performance.now();
      const swapped = GuestProcess.start({ module: v2bytes, linkMap: v2.linkMap });
      copyState(old, swapped);
      swapRec.addMillis(performance.now() - t1);
      if (i === 0) swapKeeps = storedValue(swapped);
    }

    const stateful = GuestProcess.start(v1);
    load(stateful);
    const hot = await timedApplies(context, stateful, await context.kvPatch(), { mode: "sync", samples: Math.max(1000, samples), label: "hot patch, kvstore, 1 fn" });
    const restartD = restartRec.summary();
    const swapD = swapRec.summary();
    const ratio = restartD.p50 / hot.enable.p50;
    return {
      distributions: [restartD, swapD, hot.enable, hot.endToEnd],
      figures: {
        "state: keys × value bytes": `${STATE_KEYS} × ${STATE_VALUE_BYTES}`,
        "memory copied by the swap (bytes)": old.memory?.buffer.byteLength ?? 0,
        "restart keeps the stored value after reload": restartKeeps,
        "swap keeps the stored value": swapKeeps,
        "downtime ratio restart / hot patch enable (medians)": roundTo(ratio),
        "downtime ratio restart / hot patch stage + enable, sync (medians)": roundTo(restartD.p50 / hot.endToEnd.p50),
        "downtime ratio whole-instance swap / hot patch enable (medians)": roundTo(swapD.p50 / hot.enable.p50),
        "downtime ratio restart / whole-instance swap (medians)": roundTo(restartD.p50 / swapD.p50),
      },
      targets: [target("Downtime of a hot patch below a restart with state (restart ÷ enable, medians)", 100, ratio, "×", ">=")],
      notes: [
        `Restart: ${STATE_KEYS} keys of ${STATE_VALUE_BYTES} bytes are reloaded through PUT requests; compile uses bytes V8 has not seen (a unique custom section).`,
        "Hot patch downtime is the enable (the package staged — verified and compiled — ahead of time while the guest runs); the stage + enable ratio is beside it.",
        "The whole-instance swap instantiates v2 (built with v1's slot plan, same data layout), then copies v1's linear memory and every mutable exported global into it.",
      ],
    };
  },
};

async function v2WithV1Slots(v1: Image): Promise<Image> {
  const guest = await loadGuest(kvstoreVersion("v2"));
  if (isImage(guest)) throw new Error("kvstore v2 must be a source");
  return buildImage(guest, slotPlanOf(v1.linkMap));
}

function copyState(from: GuestProcess, to: GuestProcess): void {
  const source = from.memory!;
  const target = to.memory!;
  const missing = source.buffer.byteLength - target.buffer.byteLength;
  if (missing > 0) target.grow(missing / 65536);
  new Uint8Array(target.buffer).set(new Uint8Array(source.buffer));
  const fromExports = from.instance.exports;
  const toExports = to.instance.exports;
  for (const g of from.linkMap.globals) {
    if (!g.mutable) continue;
    (toExports[g.export] as WebAssembly.Global).value = (fromExports[g.export] as WebAssembly.Global).value;
  }
}

function storedValue(process: GuestProcess): boolean {
  const response = process.request(getRequest("key:7"));
  return response[0] === 0 && response.length === 3 + STATE_VALUE_BYTES;
}
