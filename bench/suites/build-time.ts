/**
 * Suite 6 — patch build time for a one-function change (kvstore v1 → v2).
 *
 * The target is judged on a cold CLI: `node bin/hotpatch.mjs patch build` in
 * a new Node process, the base given as an image file, a target source the
 * build cache has never seen (kvstore v2 with a comment unique to the sample,
 * so no cached compile or result can serve it: the whole target is compiled,
 * instrumented and diffed). Reported beside it: the same command rebuilding
 * exactly the last sample's inputs (a full build-cache hit), and the warm
 * in-process build (buildPatch, base already built, after a warm-up build).
 * The CLI runs use a build cache inside the bench's scratch folder
 * (HOTPATCH_CACHE_DIR), filled by one untimed run first.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPatch } from "../../engine/builder/index.ts";
import { kvstoreVersion } from "../../engine/guests/index.ts";
import { Recorder, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const CLI = fileURLToPath(new URL("../../bin/hotpatch.mjs", import.meta.url));

export const buildTime: Suite = {
  name: "build-time",
  title: "Patch build time, one-function change (cold CLI, new target; cold CLI, cache hit; warm in-process)",
  async run(context) {
    const warmSamples = context.quick ? 3 : 10;
    const coldSamples = context.quick ? 1 : 5;
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
    const cli = coldCli(context.scratch, base.bytes, key.export({ format: "pem", type: "pkcs8" }));
    cli.build(cli.newTarget()); // fills the scratch cache (as a first run on a machine would), untimed
    const cold = new Recorder("cold CLI, target new to the build cache (base an image file)", "ms");
    const hit = new Recorder("cold CLI, same inputs again (full build-cache hit)", "ms");
    let last = "";
    for (let i = 0; i < coldSamples; i++) {
      last = cli.newTarget();
      cold.addMillis(cli.build(last));
    }
    for (let i = 0; i < coldSamples; i++) hit.addMillis(cli.build(last));
    const [w, c, h] = [warm.summary(), cold.summary(), hit.summary()];
    return {
      distributions: [c, h, w],
      figures: {},
      targets: [
        target("One-function patch build from a cold CLI: median", 1000, c.p50, "ms", "<="),
        target("One-function patch build, warm in-process: median", 500, w.p50, "ms", "<="),
      ],
      notes: [
        "The cold row starts Node and tsx, loads AssemblyScript and binaryen, and compiles, instruments and diffs a target source the build cache has not seen; only the base image (a file) is given.",
        "The cache-hit row rebuilds exactly the last sample's inputs: the stored result is signed, and neither the compiler nor binaryen is loaded.",
      ],
    };
  },
};

/** The CLI in new processes, with a build cache in the scratch folder; `build` returns the wall time in ms. */
function coldCli(scratch: string, baseImage: Uint8Array, privatePem: string | Buffer) {
  const imagePath = join(scratch, "v1.image.wasm");
  const keyPath = join(scratch, "private.pem");
  writeFileSync(imagePath, baseImage);
  writeFileSync(keyPath, privatePem);
  const env = { ...process.env, HOTPATCH_CACHE_DIR: join(scratch, "build-cache") };
  const v2 = readFileSync(kvstoreVersion("v2"), "utf8");
  let sample = 0;
  return {
    /** A copy of kvstore v2 that differs only by a comment: the same code, sources the cache has never seen. */
    newTarget(): string {
      const dir = join(scratch, `cold-${sample}`);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, "v2.ts");
      writeFileSync(path, `${v2}\n// bench sample ${sample++} ${process.pid} ${Date.now()}\n`);
      return path;
    },
    build(targetPath: string): number {
      const args = [CLI, "patch", "build", "--base", imagePath, "--target", targetPath, "--id", "KB5036001", "--key", keyPath, "-o", join(scratch, "kb.hpk"), "--json"];
      const t0 = performance.now();
      const out = execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
      const millis = performance.now() - t0;
      const result = JSON.parse(out.toString("utf8"));
      if (result.kind !== "hotpatch" || result.functions.length !== 1) throw new Error(`the cold CLI build of ${targetPath} is not a one-function hotpatch`);
      return millis;
    },
  };
}
