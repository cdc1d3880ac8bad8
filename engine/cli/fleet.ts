/**
 * `hotpatch fleet …`: fleets and their platform rollouts (engine/fleet/,
 * docs/fleets.md). The VMs' processes run in a VM pool of worker threads
 * (engine/vms/pool.ts) with no load between installs.
 * - `rollout --spec <fleet.json> --release <YYYY-MM> [--defective-release
 *   trap|wrong-revision] [--seed N] [--json]`: creates the fleet in a
 *   throw-away state (in memory; built artifacts cached beside the default
 *   state, as `simulate` does) the day before the release and runs that
 *   release's rollout to its end;
 * - `create --spec <fleet.json>`, `rollout --release <YYYY-MM>` (no --spec),
 *   `resume`, `stop`, `status` on a `--state`: the same with a fleet that
 *   stays, so an operator can look at a halted rollout, then resume or stop it.
 * Exit 0 when a rollout completed, 1 when it halted.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { createFleet, fleetOf, interruptedRollouts, outcomeCounts, parseFleetSpec, placeFleet, planRollout, type RolloutReport, rolloutsOf, runRollout, storedRollout, storeRollout } from "../fleet/index.ts";
import { DEFAULT_SIMULATION_ARTIFACTS, type ReleaseDefect, releaseFor, SIMULATION_KEY_FILE, Session, Store, useCatalogKeyFile } from "../manage/index.ts";
import { VmPool } from "../vms/index.ts";
import { withEnvironmentFaults } from "./fault-environment.ts";
import { type ManageOptions, stateOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

interface RolloutOptions extends ManageOptions {
  spec?: string;
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
    .description("run one release's health-gated platform rollout: across a --spec fleet in a throw-away state, or the --state's fleet")
    .option("--spec <fleet.json>", "the fleet spec (docs/fleets.md): create the fleet in a throw-away state")
    .option("--state <file>", "without --spec: the state whose fleet (hotpatch fleet create) to patch")
    .requiredOption("--release <YYYY-MM>", "the monthly release to roll out")
    .option("--defective-release <kind>", "make that release defective: trap (a handler that traps) or wrong-revision")
    .option("--seed <n>", "seed of the VMs' load", "2026")
    .option("--json", "print the rollout as JSON")
    .action(guarded(setExit, (options: RolloutOptions) => (options.spec === undefined ? persistentRollout(options, "start") : withEnvironmentFaults(() => rollout(options)))));
  timedStateOptions(fleet.command("create").description("create a fleet's VMs in the state from a spec").requiredOption("--spec <fleet.json>", "the fleet spec")).action(
    guarded(setExit, (options: ManageOptions & { spec: string }) =>
      withSession(options, (session, now) => {
        if (fleetOf(session) !== undefined) throw new HotpatchError("E_USAGE", "the state has a fleet already (one fleet per state)");
        const spec = parseFleetSpec(readSpec(options.spec!));
        const vms = placeFleet(spec);
        createFleet(session, vms, spec, now);
        if (options.json) printJson({ vms: vms.length, regions: [...new Set(vms.map((v) => v.region))] });
        else say(options, `created a fleet of ${vms.length} VMs in ${[...new Set(vms.map((v) => v.region))].join(", ")}`);
        return 0;
      }),
    ),
  );
  for (const [verb, what] of [
    ["resume", "resume a halted rollout after its last batch (the halted batch stays as it ended)"],
    ["stop", "stop a halted rollout: its remaining VMs stay NotStarted"],
  ] as const) {
    const command = fleet.command(verb).description(what).requiredOption("--release <YYYY-MM>", "the release whose rollout").option("--state <file>", "the state database");
    if (verb === "resume") command.option("--defective-release <kind>", "the release is defective (as for rollout)").option("--seed <n>", "seed of the VMs' load", "2026");
    command.option("--json", "print the rollout as JSON").action(guarded(setExit, (options: RolloutOptions) => persistentRollout({ ...options, seed: options.seed ?? "2026" }, verb)));
  }
  stateOptions(fleet.command("status").description("the state's fleet and its rollouts")).action(
    guarded(setExit, (options: ManageOptions) =>
      withSession(options, (session) => {
        const fleet = fleetOf(session);
        if (fleet === undefined) throw new HotpatchError("E_USAGE", "the state has no fleet (hotpatch fleet create --spec …)");
        const regions = Object.fromEntries([...new Set(fleet.vms.map((v) => v.region))].map((r) => [r, fleet.vms.filter((v) => v.region === r).length]));
        const rollouts = rolloutsOf(session);
        if (options.json) printJson({ vms: fleet.vms.length, regions, rollouts });
        else {
          say(options, `fleet of ${fleet.vms.length} VMs: ${Object.entries(regions).map(([r, n]) => `${r} ${n}`).join(", ")}`);
          for (const r of rollouts) say(options, `release ${r.release}: ${r.status}${r.haltReason ? ` (${r.haltReason})` : ""}; ${r.succeeded} succeeded, ${r.unhealthy} unhealthy, ${r.notStarted} not started`);
        }
        return 0;
      }),
    ),
  );
}

/** `rollout` (no --spec), `resume` and `stop` on a state's fleet. */
async function persistentRollout(options: RolloutOptions, verb: "start" | "resume" | "stop"): Promise<number> {
  const month = checkMonth(options.release);
  const defect = defectOf(options.defectiveRelease);
  const pool = new VmPool({ loadIntervalMillis: 0, loadRequests: 0 });
  try {
    return await withSession(
      options,
      async (session) => {
        const fleet = fleetOf(session);
        if (fleet === undefined) throw new HotpatchError("E_USAGE", "the state has no fleet (hotpatch fleet create --spec …)");
        interruptedRollouts(session, "a hotpatch serve that ran it ended during the rollout (killed); resume it to go on");
        const stored = storedRollout(session, month);
        if (verb === "start" && stored !== undefined) throw new HotpatchError("E_USAGE", `the rollout of ${month} ran already (${stored.status}); resume or stop it`);
        if (verb !== "start" && stored?.status !== "Halted") throw new HotpatchError("E_USAGE", `the rollout of ${month} is ${stored?.status ?? "not started"}: only a halted rollout can be ${verb === "resume" ? "resumed" : "stopped"}`);
        if (verb === "stop") {
          storeRollout(session, stored!.report, "Stopped");
          return finish(options, stored!.report, "Stopped");
        }
        const vms = stored?.report.vms ?? fleet.vms; // a resume goes on over the fleet its rollout started with
        const report = await runRollout(session, vms, planRollout(vms), releaseFor(month, session.unplanned), fleet.window, stored?.report);
        storeRollout(session, report, report.halted ? "Halted" : "Completed");
        return finish(options, report, report.halted ? "Halted" : "Completed");
      },
      { seed: Number(options.seed), host: pool, ...(defect === undefined ? {} : { faults: { defectiveReleases: { [month]: defect } } }) },
    );
  } finally {
    await pool.close();
  }
}

/** Prints the rollout; exit 1 when it is halted (a stopped one ends the operator's way: 0). */
function finish(options: RolloutOptions, report: RolloutReport, status: string): number {
  if (options.json) printJson({ status, ...report });
  else {
    printSummary(options, report);
    if (status === "Stopped") say(options, "Stopped: its remaining VMs stay NotStarted.");
  }
  return status === "Halted" ? 1 : 0;
}

function checkMonth(month: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new HotpatchError("E_USAGE", `--release ${month} is not a month (YYYY-MM)`);
  return month;
}

function defectOf(kind: string | undefined): ReleaseDefect | undefined {
  if (kind === undefined) return undefined;
  const defect = DEFECTS[kind];
  if (defect === undefined) throw new HotpatchError("E_USAGE", `--defective-release ${kind}: expected trap or wrong-revision`);
  return defect;
}

async function rollout(options: RolloutOptions): Promise<number> {
  if (options.state !== undefined) throw new HotpatchError("E_USAGE", "--spec creates a throw-away fleet; --state patches the state's fleet: give one of them");
  checkMonth(options.release);
  const defect = defectOf(options.defectiveRelease);
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new HotpatchError("E_USAGE", `--seed ${options.seed} is not a whole number`);
  const spec = parseFleetSpec(readSpec(options.spec!));
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
  const { succeeded, unhealthy, notStarted } = outcomeCounts(report);
  say(options, `Succeeded ${succeeded}, Unhealthy ${unhealthy}, NotStarted ${notStarted}.`);
  say(options, report.halted ? `HALTED: ${report.haltReason}` : "The rollout completed.");
}
