/**
 * Suite 6 — patch build time for a one-function change (kvstore v1 → v2).
 *
 * Warm, in-process: buildPatch with the base image already built (cached),
 * after one untimed warm-up build. Cold: the CLI in a new Node process
 * (`hotpatch patch build`, base given as an image file), which pays for
 * loading tsx, AssemblyScript and binaryen.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPatch } from "../../engine/builder/index.ts";
import { kvstoreVersion } from "../../engine/guests/index.ts";
import { Recorder, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const CLI = fileURLToPath(new URL("../../bin/hotpatch.mjs", import.meta.url));

export const buildTime: Suite = {
  name: "build-time",
  title: "Patch build time, one-function change (warm in-process; cold CLI)",
  async run(context) {
    const warmSamples = context.quick ? 3 : 10;
    const coldSamples = context.quick ? 0 : 3; // a cold CLI start takes seconds: full runs only
    const base = await context.kvImage("v1");
    const key = context.keys.privateKey;
    await buildPatch({ base, target: kvstoreVersion("v2"), id: "KB1", key });
    const warm = new Recorder("warm in-process build (base cached)", "ms");
    for (let i = 0; i < warmSamples; i++) {
      const t0 = performance.now();
      const built = await buildPatch({ base, target: kvstoreVersion("v2"), id: `KB${i + 2}`, key });
      warm.addMillis(performance.now() - t0);
      if (built.kind !== "hotpatch") throw new Error("kvstore v1 → v2 is not a hotpatch");
    }
    const imagePath = join(context.scratch, "v1.image.wasm");
    const keyPath = join(context.scratch, "private.pem");
    writeFileSync(imagePath, base.bytes);
    writeFileSync(keyPath, key.export({ format: "pem", type: "pkcs8" }));
    const cold = new Recorder("cold CLI: node bin/hotpatch.mjs patch build", "ms");
    for (let i = 0; i < coldSamples; i++) {
      const args = [CLI, "patch", "build", "--base", imagePath, "--target", kvstoreVersion("v2"), "--id", "KB5036001", "--key", keyPath, "-o", join(context.scratch, "kb.hpk"), "--json"];
      const t0 = performance.now();
      execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      cold.addMillis(performance.now() - t0);
    }
    const w = warm.summary();
    return {
      distributions: coldSamples > 0 ? [w, cold.summary()] : [w],
      figures: {},
      targets: [target("One-function patch build, warm in-process: median", 500, w.p50, "ms", "<=")],
      notes: [
        ...(coldSamples === 0 ? ["--quick does not run the cold CLI build (several seconds); a full run does."] : []),
        "The cold CLI time includes starting Node and tsx and loading AssemblyScript and binaryen; it is reported beside the target, not judged."],
    };
  },
};
