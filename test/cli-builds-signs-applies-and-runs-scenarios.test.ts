/**
 * The command line end to end, as a person would use it: real child
 * processes of `bin/hotpatch.mjs`, real files in a temporary folder.
 */
import { mkdtemp, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HEARTBLEED_REQUEST, kvstoreVersion } from "../engine/guests/index.ts";
import { DEFAULT_IMAGE_MODE } from "../engine/image/index.ts";
import { runCliProcess } from "./cli-runner.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hotpatch-cli-"));
  const keys = await runCliProcess(["keys", "generate", "--out", join(dir, "keys"), "--json"]);
  expect(keys.status).toBe(0);
});

describe("hotpatch CLI", () => {
  it("prints help listing its commands", async () => {
    const help = await runCliProcess(["--help"]);
    expect(help.status).toBe(0);
    for (const verb of ["keys", "image", "patch", "run", "demo"]) expect(help.stdout).toContain(verb);
  });

  it("builds an image and reports its build id as one JSON document", async () => {
    const out = join(dir, "v1.image.wasm");
    const result = await runCliProcess(["image", "build", kvstoreVersion("v1"), "-o", out, "--json"]);
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.buildId).toMatch(/^[0-9a-f]{24}$/);
    expect(summary.mode).toBe(DEFAULT_IMAGE_MODE);
    // Inline mode (the default): the functions the optimiser inlined into their callers have no slot of their own.
    expect(summary.functions).toBeGreaterThan(20);
    expect((await stat(out)).size).toBe(summary.bytes);

    const slotsOut = join(dir, "v1.slots.image.wasm");
    const slots = await runCliProcess(["image", "build", kvstoreVersion("v1"), "-o", slotsOut, "--mode", "slots", "--json"]);
    expect(slots.status).toBe(0);
    const slotsSummary = JSON.parse(slots.stdout);
    expect(slotsSummary.mode).toBe("slots");
    expect(slotsSummary.functions).toBeGreaterThan(100); // every function keeps a slot of its own
    expect(slotsSummary.buildId).not.toBe(summary.buildId);
    expect((await stat(slotsOut)).size).toBe(slotsSummary.bytes);
  });

  it("builds a signed hotpatch and exits 3 with reasons for a change that needs a baseline", async () => {
    const kb = join(dir, "kb1.hpk");
    const ok = await runCliProcess(["patch", "build", "--base", kvstoreVersion("v1"), "--target", kvstoreVersion("v2"), "--id", "KB5036001", "--key", join(dir, "keys/private.pem"), "-o", kb, "--json"]);
    expect(ok.status).toBe(0);
    const built = JSON.parse(ok.stdout);
    expect(built).toMatchObject({ id: "KB5036001", kind: "hotpatch", reasons: [] });
    // The base is built in the default mode (inline), where handleEcho is inlined into handle: the fix replaces handle.
    expect(built.functions.map((f: { key: string }) => f.key)).toEqual(["handle"]);
    expect((await stat(kb)).size).toBeGreaterThan(100);

    const refused = join(dir, "refused.hpk");
    const baseline = await runCliProcess(["patch", "build", "--base", kvstoreVersion("v1"), "--target", resolve("test/fixtures/kvstore/newglobal.ts"), "--id", "KB5036009", "--key", join(dir, "keys/private.pem"), "-o", refused, "--json"]);
    expect(baseline.status).toBe(3);
    const verdict = JSON.parse(baseline.stdout);
    expect(verdict.kind).toBe("requires-baseline");
    expect(verdict.reasons.join(" ")).toMatch(/mutable global/);
    await expect(stat(refused)).rejects.toThrow();
  });

  it("reports errors as JSON with a stable code and a non-zero exit", async () => {
    const result = await runCliProcess(["image", "build", join(dir, "missing.wasm"), "-o", join(dir, "x.wasm"), "--json"]);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe("E_IO");
    const usage = await runCliProcess(["patch", "build", "--json"]);
    expect(usage.status).toBe(2);
    expect(JSON.parse(usage.stdout).error.code).toBe("E_USAGE");
  });

  it("runs a scenario: one JSON line per step, failures reported and expected errors tolerated", async () => {
    const kb = join(dir, "kb1.hpk");
    const scenario = {
      image: kvstoreVersion("v1"),
      trust: ["keys/public.pem"],
      seed: 7,
      steps: [
        { call: "requestCount", expect: 0 },
        { request: Buffer.from(HEARTBLEED_REQUEST).toString("hex") },
        { apply: kb },
        { request: Buffer.from(HEARTBLEED_REQUEST).toString("hex"), expect: "02" },
        { call: "lastError", returns: "string", expect: "malformed request" },
        { write: { at: "global:input", hex: "04" } },
        { read: { at: "global:input", len: 1 }, expect: "04" },
        { apply: kb, expectError: true },
        { restart: true },
        { call: "requestCount", expect: 0 },
        { request: Buffer.from(HEARTBLEED_REQUEST).toString("hex"), expect: "02" },
        { revert: "KB5036001" },
        { revert: "KB5036001", expectError: true },
        { state: true },
      ],
    };
    const path = join(dir, "scenario.json");
    await writeFile(path, JSON.stringify(scenario));
    const result = await runCliProcess(["run", path]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(scenario.steps.length);
    expect(lines[1].result.length).toBeGreaterThan(2000); // the leak: 1,281 bytes as hex
    expect(lines[2]).toMatchObject({ op: "apply", ok: true, result: { id: "KB5036001", functions: ["handle"] } }); // built in the default (inline) mode
    expect(lines[7]).toMatchObject({ ok: false, expectError: true, error: { code: "E_ALREADY_APPLIED" } });
    expect(lines[8].result).toEqual({ restarted: true, reapplied: ["KB5036001"] });
    expect(lines[12].error.code).toBe("E_NOT_APPLIED");
    expect(lines[13].result.patches).toEqual([]);
  });

  it("fails the run when a step fails unexpectedly, and goes on with the next step", async () => {
    const path = join(dir, "failing.json");
    await writeFile(path, JSON.stringify({ image: kvstoreVersion("v1"), steps: [{ call: "noSuchFunction" }, { call: "requestCount", expect: 0 }] }));
    const result = await runCliProcess(["run", path]);
    expect(result.status).toBe(1);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ ok: false, error: { code: "E_NO_EXPORT" } });
    expect(lines[1]).toMatchObject({ ok: true, result: 0 });
  });

  it("runs the demo and prints its measured facts as JSON", async () => {
    const result = await runCliProcess(["demo", "--json"]);
    expect(result.status).toBe(0);
    const facts = JSON.parse(result.stdout);
    expect(facts.exploit.before.leaked).toBe(true);
    expect(facts.exploit.before.secret).toContain("ADMIN-TOKEN");
    expect(facts.exploit.after.leaked).toBe(false);
    expect(facts.restarted).toBe(false);
    expect(facts.countersContinued).toBe(true);
    expect(facts.revert.exploitWorksAgain).toBe(true);
    expect(facts.applyMicros).toBeGreaterThan(0);
    expect(facts.image.mode).toBe(DEFAULT_IMAGE_MODE);
    expect(result.stderr).toContain("Applied live");
  });
});
