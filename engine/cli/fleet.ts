/**
 * `hotpatch fleet rollout --spec <fleet.json> --release <YYYY-MM>
 * [--defective-release trap|wrong-revision] [--seed N] [--json]`: creates the
 * fleet in a throw-away state (in memory; built artifacts are cached beside
 * the default state, as `simulate` does), the day before the release, with
 * the VMs' processes in a VM pool of worker threads (engine/vms/pool.ts), and
 * runs that release's platform rollout to its end through the real engine
 * (engine/fleet/). Exit 0 when the rollout completed, 1 when it halted.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { createFleet, parseFleetSpec, placeFleet, planRollout, type RolloutReport, runRollout } from "../fleet/index.ts";
import { DEFAULT_SIMULATION_ARTIFACTS, type ReleaseDefect, releaseFor, SIMULATION_KEY_FILE, Session, Store, useCatalogKeyFile } from "../manage/index.ts";
import { VmPool } from "../vms/index.ts";
import { withEnvironmentFaults } from "./fault-environment.ts";
import { guarded, printJson, say } from "./output.ts";

interface RolloutOptions {
  spec: string;
  release: string;
  defectiveRelease?: string;
  seed: string;
  json?: boolean;
}

const DEFECTS: Record<string, ReleaseDefect> = { trap: "traps", "wrong-revision": "wrong-revision" };

export function registerFleet(program: Command, setExit: (code: number) => void): void {
  const fleet = program.command("fleet").description("fleets of VMs across regions, zones and availability sets, patched availability-first");
  fleet
    .command("rollout")
    .description("create a fleet in a throw-away state and run one release's health-gated platform rollout across it")
    .requiredOption("--spec <fleet.json>", "the fleet spec (docs/fleets.md)")
    .requiredOption("--release <YYYY-MM>", "the monthly release to roll out")
    .option("--defective-release <kind>", "make that release defective: trap (a handler that traps) or wrong-revision")
    .option("--seed <n>", "seed of the VMs' load", "2026")
    .option("--json", "print the rollout as JSON")
    .action(guarded(setExit, (options: RolloutOptions) => withEnvironmentFaults(() => rollout(options))));
}

async function rollout(options: RolloutOptions): Promise<number> {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(options.release)) throw new HotpatchError("E_USAGE", `--release ${options.release} is not a month (YYYY-MM)`);
  const defect = options.defectiveRelease === undefined ? undefined : DEFECTS[options.defectiveRelease];
  if (options.defectiveRelease !== undefined && defect === undefined) throw new HotpatchError("E_USAGE", `--defective-release ${options.defectiveRelease}: expected trap or wrong-revision`);
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new HotpatchError("E_USAGE", `--seed ${options.seed} is not a whole number`);
  const spec = parseFleetSpec(readSpec(options.spec));
  const release = releaseFor(options.release);
  const vms = placeFleet(spec);
  const phases = planRollout(vms);
  const store = Store.open(":memory:");
  const pool = new VmPool({ loadIntervalMillis: 0, loadRequests: 0 }); // the VMs' processes, in worker threads; no load between installs
  try {
    useCatalogKeyFile(store, join(DEFAULT_SIMULATION_ARTIFACTS, SIMULATION_KEY_FILE));
    const session = new Session(store, { seed, artifactsDir: DEFAULT_SIMULATION_ARTIFACTS, host: pool, ...(defect === undefined ? {} : { faults: { defectiveReleases: { [release.month]: defect } } }) });
    createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
    const report = await runRollout(session, vms, phases, release, spec.window);
    if (options.json) printJson(report);
    else printSummary(options, report);
    return report.halted ? 1 : 0;
  } finally {
    store.close();
    await pool.close();
  }
}

function readSpec(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot read the fleet spec ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HotpatchError("E_USAGE", `the fleet spec ${path} is not JSON: ${(error as Error).message}`);
  }
}

function printSummary(options: RolloutOptions, report: RolloutReport): void {
  say(options, `Release ${report.release} (released ${report.releasedAt}), ${report.vms.length} VMs:`);
  for (const phase of report.phases) {
    say(options, `phase ${phase.phase}: ${phase.regions.join(", ")}`);
    for (const b of phase.batches) say(options, `  ${b.region} ${b.unit}: ${b.vms.length} VM(s) ${b.outcome}${b.startedAt ? ` ${b.startedAt} → ${b.endedAt}` : ""}`);
  }
  const count = (o: string) => report.vms.filter((v) => v.outcome === o).length;
  say(options, `Succeeded ${count("Succeeded")}, Unhealthy ${count("Unhealthy")}, NotStarted ${count("NotStarted")}.`);
  say(options, report.halted ? `HALTED: ${report.haltReason}` : "The rollout completed.");
}
