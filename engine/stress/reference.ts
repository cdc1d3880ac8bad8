/**
 * The reference replay: the same requests on an in-thread process, with each
 * switch and restart at the request index where it happened in the live run
 * (Supervisor.events), to check that a live run ended in the state it should.
 *
 * Exact only when every switch happened between two requests: a switch
 * inside a long request (`midRequest`) cannot be placed at an index, so the
 * replay applies it after that request and reports `exact: false`.
 */
import type { Image } from "../image/index.ts";
import { PatchLoader, type StagedPatch } from "../loader/index.ts";
import type { ProcessEvent } from "../worker/index.ts";
import { GuestProcess, type ProcessState } from "../process/index.ts";
import { type LoadSpec, requestAt } from "../load/index.ts";

export interface ReplayResult {
  state: ProcessState;
  exact: boolean;
}

/** Replays requests 0..generated-1; `patches` maps patch ids to their staged packages. */
export function replay(image: Image, load: LoadSpec, generated: number, events: readonly ProcessEvent[], patches: ReadonlyMap<string, StagedPatch>): ReplayResult {
  let process = GuestProcess.start(image);
  const loader = new PatchLoader(process);
  const failed = new Set(events.flatMap((e) => (e.op === "restart" && e.failed !== null ? [e.failed] : [])));
  const exact = events.every((e) => e.op === "restart" || !e.midRequest);
  let next = 0;
  const runUntil = (end: number) => {
    for (; next < end; next++) if (!failed.has(next)) process.request(requestAt(load, next));
  };
  // Events are in the order they happened; a switch at `atIndex` came after `atIndex` requests had started.
  for (const event of events) {
    runUntil(event.atIndex);
    if (event.op === "apply") loader.enable(patches.get(event.patch)!);
    else if (event.op === "revert") loader.revert(event.patch);
    else {
      process = GuestProcess.start(image);
      loader.reattach(process);
    }
  }
  runUntil(generated);
  return { state: process.state(), exact };
}
