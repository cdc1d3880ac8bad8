/**
 * A fleet's hotpatch goes into every VM's processes from one staged package
 * (engine/vms/staged-packages.ts): verified and compiled once on the pool's
 * thread, the compiled module posted to the workers with each apply and
 * instantiated by every process there.
 * Every process still really runs the patch (the rollout's health checks
 * ask each for the new revision), and a package the processes do not trust
 * is refused for every VM, never taken from what another VM staged.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createFleet, parseFleetSpec, placeFleet, planRollout, runRollout } from "../engine/fleet/index.ts";
import { releaseFor, Session, Store } from "../engine/manage/index.ts";
import { VmPool } from "../engine/vms/index.ts";
import { SHARED_ARTIFACTS } from "./manage-fixtures.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const pool = new VmPool({ size: 2, loadIntervalMillis: 0, loadRequests: 0 });
afterAll(() => pool.close());

describe("the VM pool", () => {
  it("verifies and compiles a fleet's hotpatch once for the whole pool, and every process runs it", async () => {
    const spec = parseFleetSpec({ image: CORE, processes: 2, groups: [{ region: "eastus", count: 3 }, { region: "westus", count: 3 }] });
    const vms = placeFleet(spec);
    const release = releaseFor("2026-02");
    const session = new Session(Store.open(":memory:"), { artifactsDir: SHARED_ARTIFACTS, seed: 5, host: pool });
    createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
    const before = await pool.memory();
    const report = await runRollout(session, vms, planRollout(vms), release, spec.window);
    expect(report.vms.map((v) => v.outcome)).toEqual(Array(6).fill("Succeeded")); // each VM's health check: every process on the new revision
    const after = await pool.memory();
    expect(after.workers).toBe(2);
    expect(after.stages - before.stages).toBe(1); // one stage for the one package, on the pool's thread…
    expect(after.stageHits - before.stageHits).toBe(6 * 2); // …posted to both workers and used by all 12 processes
    for (const vm of vms) {
      const { processes } = await session.bootedRuntime(vm.name)!.snapshot();
      expect(processes.map((p) => p.patches.map((patch) => patch.id))).toEqual([[release.kb], [release.kb]]);
    }

    // A state with a catalog key of its own: its VM's processes refuse the first state's package, staged or not.
    const other = new Session(Store.open(":memory:"), { artifactsDir: SHARED_ARTIFACTS, seed: 6, host: pool });
    createFleet(other, [{ ...vms[0], name: "stranger" }], spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
    const stranger = await other.runtime(other.store.vm("stranger")!);
    const foreign = await session.artifacts.hotpatch(release.kb, release.month, "2026-01", []);
    await expect(stranger.applyHotpatch(release.kb, foreign.package)).rejects.toThrow(/E_UNTRUSTED_KEY/);
    expect((await stranger.snapshot()).processes.every((p) => p.patches.length === 0)).toBe(true);
  }, 120_000);
});
