/**
 * `hotpatch simulate --fleet` (engine/fleet/simulate-fleet.ts): the same fleet
 * with hotpatch and without through four releases (February and March
 * hotpatches, the April baseline, the May hotpatch), each rolled out by the
 * platform orchestrator through the real engine: with hotpatch only the
 * baseline reboots, without it every release does; downtime follows the
 * reboots; no batch takes more than 20 % of an availability set down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseFleetSpec, simulateFleet } from "../engine/fleet/index.ts";
import { SHARED_ARTIFACTS } from "./manage-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "hotpatch-fleet-sim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a fleet simulation", () => {
  it("counts a reboot per VM for the baseline with hotpatch and per release without", async () => {
    const spec = parseFleetSpec({
      image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core",
      timezone: "Europe/Berlin",
      groups: [
        { region: "northeurope", availabilitySet: "api", updateDomains: 5, count: 5 },
        { region: "westeurope", zone: "1", count: 3 },
      ],
    });
    const lines: string[] = [];
    const report = await simulateFleet({ spec, from: "2026-02", months: 4, seed: 7, artifactsDir: SHARED_ARTIFACTS, keyFile: join(dir, "key.pem") }, (l) => lines.push(l));
    expect(report).toMatchObject({ vms: 8, regions: ["northeurope", "westeurope"], releases: ["2026-02", "2026-03", "2026-04", "2026-05"] });
    expect(report.hotpatch.releases.map((r) => [r.release, r.kind, r.reboots])).toEqual([
      ["2026-02", "hotpatch", 0],
      ["2026-03", "hotpatch", 0],
      ["2026-04", "baseline", 8],
      ["2026-05", "hotpatch", 0],
    ]);
    expect(report.withoutHotpatch.releases.map((r) => r.reboots)).toEqual([8, 8, 8, 8]);
    expect([report.hotpatch.reboots, report.withoutHotpatch.reboots]).toEqual([8, 32]);
    expect(report.hotpatch.vmHoursDown).toBeCloseTo((8 * 8) / 60, 2); // 8 emulated minutes a reboot
    expect(report.withoutHotpatch.vmHoursDown).toBeCloseTo((32 * 8) / 60, 2);
    for (const side of [report.hotpatch, report.withoutHotpatch]) {
      expect(side.largestSetShareDown).toBeLessThanOrEqual(0.2); // a 5-VM set goes one VM at a time
      expect(side.releases.every((r) => !r.halted && r.notPatched === 0)).toBe(true);
      expect(side.exposureDays.max).toBeLessThan(30);
      expect(side.exposureDays.mean).toBeLessThanOrEqual(side.exposureDays.p95);
    }
    expect(lines).toContain("hotpatch 2026-04: 8 of 8 patched");
  }, 180_000);
});
