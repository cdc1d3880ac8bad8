/**
 * Differential tests over the version corpus: for every hotpatchable pair, a
 * base process that already has state (a few hundred requests through the
 * guest's own API) receives the patch and then answers 10,000 seeded random
 * requests exactly like a fresh process of the target that served the same
 * prior requests — responses and traps alike — with its prior state intact.
 * A third process, the unpatched base with the same history, shows that the
 * stream does reach the change (it answers differently somewhere).
 */
import { describe, expect, it } from "vitest";
import { hotpatch, image, signingKeys, startProcess } from "./guest-fixtures.ts";
import { compareAnswers, HOTPATCH_PAIRS, logicalState, plainImage, setupRequests, streamRequests } from "./corpus-fixtures.ts";
import { GuestProcess } from "../engine/process/index.ts";

const keys = signingKeys();
const SETUP_SEED = 7_001;
const STREAM_SEED = 7_002;
const SETUP_LENGTH = 400;
const STREAM_LENGTH = 10_000;

describe("a hotpatched base process compared with a fresh target process", () => {
  HOTPATCH_PAIRS.forEach((pair, i) => {
    it(pair.name, async () => {
      const base = await image(pair.base);
      const [built, fresh] = await Promise.all([
        hotpatch(base, pair.target, `KB50380${String(i + 10)}`, keys.privateKey),
        plainImage(pair.target),
      ]);
      expect(built.functions.map((f) => f.key).sort()).toEqual([...pair.functions].sort());
      expect(built.functions.filter((f) => f.change === "new").map((f) => f.key)).toEqual(pair.added);
      expect(built.manifest.data !== undefined).toBe(pair.data);

      const { process: patched, loader } = startProcess(base);
      const twin = GuestProcess.start(base); // never patched
      const target = GuestProcess.start(fresh);
      const history = setupRequests(pair.guest, SETUP_SEED + i, SETUP_LENGTH);
      expect(history.length).toBeGreaterThan(SETUP_LENGTH * 0.9);
      for (const request of history) for (const p of [patched, twin, target]) p.request(request);

      loader.apply(built.package, keys.trust);
      const prior = logicalState(pair.guest, twin);
      // The prior state is real (registers, history, keys hold values) and intact after the patch.
      expect(new Set(prior).size).toBeGreaterThan(5);
      expect(logicalState(pair.guest, patched)).toEqual(prior);
      expect(logicalState(pair.guest, target)).toEqual(prior);

      const stream = streamRequests(pair.guest, STREAM_SEED + i, STREAM_LENGTH);
      expect(compareAnswers(patched, target, stream)).toEqual([]);
      expect(logicalState(pair.guest, patched)).toEqual(logicalState(pair.guest, target));

      // Without the patch the base answers the same stream differently: the stream tests the change.
      expect(compareAnswers(GuestProcess.start(base), GuestProcess.start(fresh), [...history, ...stream], 1)).not.toEqual([]);
    });
  });
});
