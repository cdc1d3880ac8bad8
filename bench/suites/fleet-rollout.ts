/**
 * Suite 11 — a whole fleet's rollout of one hotpatch release (docs/fleets.md),
 * every VM's guest process real and really patched live, in the VM pool that
 * `hotpatch serve` uses (worker threads, many VMs each; no background load
 * here: each VM serves its install's load rounds and health check only).
 *
 * 1,000 VMs (100 with --quick, or --fleet-vms N), one process each, over four regions (two
 * pairs) in zones, availability sets and standalone groups, in several time
 * zones, created the day before the March 2026 release. A one-VM rollout
 * first builds the release's image and package into the artifact cache, so
 * the timed rollout applies them and builds nothing. Reported: the wall
 * time of the whole rollout (fleet creation excluded), live installs per
 * second, memory per VM in the pool after it (after a full collection in each
 * worker), the resident-set growth per VM, and from that an estimate — an
 * estimate, not a measurement — of the largest fleet this machine's memory
 * holds.
 */
import { totalmem } from "node:os";
import { createFleet, parseFleetSpec, placeFleet, planRollout, runRollout } from "../../engine/fleet/index.ts";
import { releaseFor, Session, Store, useCatalogKeyFile } from "../../engine/manage/index.ts";
import { VmPool } from "../../engine/vms/index.ts";
import type { BenchContext } from "../lib/context.ts";
import { collectGarbage } from "../lib/gc.ts";
import { roundTo } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const FULL_VMS = 1000;
const QUICK_VMS = 100;
const RELEASE = "2026-03";

function specFor(total: number): unknown {
  const share = (f: number) => Math.max(1, Math.round(total * f));
  return {
    image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core",
    timezone: "America/New_York",
    processes: 1,
    groups: [
      { region: "eastus", availabilitySet: "web", updateDomains: 5, faultDomains: 2, count: share(0.2) },
      { region: "eastus", zone: "1", count: share(0.15) },
      { region: "eastus", zone: "2", count: share(0.15) },
      { region: "westus", count: share(0.2), timezone: "America/Los_Angeles" },
      { region: "northeurope", availabilitySet: "api", count: share(0.15), timezone: "Europe/Dublin" },
      { region: "westeurope", zone: "3", count: total - share(0.2) - share(0.15) * 3 - share(0.2), timezone: "Europe/Berlin" },
    ],
  };
}

/** A one-VM rollout of the release in a state of its own: the image and the package land in the artifact cache. */
async function warmArtifacts(artifactsDir: string, keyFile: string, pool: VmPool): Promise<void> {
  const store = Store.open(":memory:");
  try {
    useCatalogKeyFile(store, keyFile);
    const session = new Session(store, { seed: 2026, artifactsDir, host: pool });
    const spec = parseFleetSpec({ image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core", groups: [{ region: "eastus", count: 1, names: ["warm-up"] }] });
    const vms = placeFleet(spec);
    const release = releaseFor(RELEASE);
    createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
    await runRollout(session, vms, planRollout(vms), release, spec.window);
    session.dropRuntime("warm-up");
  } finally {
    store.close();
  }
}

export const fleetRollout: Suite = {
  name: "fleet-rollout",
  title: "A fleet's hotpatch rollout with real processes in the VM pool: wall time, installs per second, memory per VM",
  async run(context: BenchContext) {
    const total = context.fleetVms ?? (context.quick ? QUICK_VMS : FULL_VMS);
    const spec = parseFleetSpec(specFor(total));
    const vms = placeFleet(spec);
    const release = releaseFor(RELEASE);
    const pool = new VmPool({ loadIntervalMillis: 0, loadRequests: 0 });
    const artifactsDir = `${context.scratch}/artifacts`;
    const keyFile = `${context.scratch}/catalog-key.pem`;
    await warmArtifacts(artifactsDir, keyFile, pool);
    const store = Store.open(":memory:");
    try {
      useCatalogKeyFile(store, keyFile);
      const session = new Session(store, { seed: 2026, artifactsDir, host: pool });
      createFleet(session, vms, spec, new Date(Date.parse(release.releaseDate) - 86_400_000));
      collectGarbage();
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      const report = await runRollout(session, vms, planRollout(vms), release, spec.window);
      const seconds = (performance.now() - started) / 1000;
      const memory = await pool.memory(true);
      collectGarbage();
      const rssPerVm = (process.memoryUsage().rss - rssBefore) / total;
      const count = (outcome: string) => report.vms.filter((v) => v.outcome === outcome).length;
      const perVm = (memory.heapUsed + memory.external) / total;
      context.log(`  ${total} VMs rolled out in ${roundTo(seconds)} s: ${count("Succeeded")} succeeded, ${count("NotStarted")} not started`);
      return {
        distributions: [],
        figures: {
          VMs: total,
          "VM pool worker threads": memory.workers,
          phases: report.phases.length,
          batches: report.phases.reduce((n, p) => n + p.batches.length, 0),
          "VMs Succeeded": count("Succeeded"),
          "VMs NotStarted": count("NotStarted"),
          "wall time of the rollout (s)": roundTo(seconds),
          "live installs per second": roundTo(count("Succeeded") / seconds),
          "package stages (verify + compile) in the pool, once per package on the server's thread": memory.stages,
          "process applies that reused a staged package": memory.stageHits,
          "memory per VM: pool workers' heap + external, wasm memory included (bytes)": Math.round(perVm),
          "memory per VM: resident set growth (bytes)": Math.round(rssPerVm),
          "largest fleet this machine's memory holds (estimate: total memory ÷ resident set per VM)": rssPerVm > 0 ? Math.floor(totalmem() / rssPerVm) : null,
        },
        targets: [],
        notes: [
          "Each install is the management plane's installUpdates: SQLite records, the VM's processes booted in the pool on first use, 300 load requests, the live apply, the health check (200 requests per process).",
          "The emulated rollout spans hours of emulated time (every VM inside its own off-peak window); the wall time is what the machine spent.",
          "The largest-fleet figure divides this machine's total memory by the measured resident-set growth per VM: an estimate of where fleets must be sharded, not a run to exhaustion.",
        ],
      };
    } finally {
      store.close();
      await pool.close();
    }
  },
};
