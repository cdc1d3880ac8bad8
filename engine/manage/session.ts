/**
 * What one management command works with: the store, the catalog's
 * artifacts and unplanned baselines, and the VMs' running processes
 * (booted on first use, kept for the rest of the command).
 *
 * `installedUpdates` / `activeHotpatches` read the installed-update records
 * that install.ts writes; `bootRuntime` starts a VM as a real OS boots: its
 * image, then its active hotpatches in installation order.
 */
import { Artifacts } from "./artifacts.ts";
import type { CalendarLine, MonthId } from "./calendar.ts";
import { type CatalogMode, catalogLine, historyMode, type UpdateLine, unplannedMonths } from "./catalog.ts";
import type { UpdateKind } from "./classification.ts";
import { type HealthReport, localHost, type ProcessHost, type VmProcesses } from "../vms/index.ts";
import { defaultPlacement, type VmPlacement } from "./maintenance-scope.ts";
import type { ReleaseDefect } from "./release-source.ts";
import type { Store } from "./store.ts";
import type { VmRecord } from "./vm.ts";

/** An installed update (table `installed`). */
export interface InstalledUpdate {
  kb: string;
  month: MonthId;
  line: UpdateLine;
  title: string;
  classification: string;
  kind: UpdateKind;
  baselineMonth: MonthId;
  /** The image it boots into (baselines and cumulative updates). */
  imageMonth: MonthId | null;
  installedAt: string;
  installedBy: string;
  /** PendingReboot: installed with reboot Never, not running yet. */
  state: "Installed" | "PendingReboot";
  /** False once a newer baseline or cumulative image superseded it. */
  active: boolean;
  /** Health after the install (null while pending). */
  health: HealthReport["status"] | null;
  /** For the VM's original image: installed with the VM, not by an install run. */
  preinstalled?: boolean;
}

export const INSTALLED_BY = "NT AUTHORITY\\SYSTEM";

/**
 * Defects to build into the catalog's releases, for experiments and tests (the fault points
 * themselves are armed through engine/faults/, see docs/fault-injection.md).
 */
export interface Faults {
  /** Months whose releases the catalog builds with a defect (release-source.ts). */
  defectiveReleases?: Readonly<Record<MonthId, ReleaseDefect>>;
}

export class Session {
  private artifactsValue?: Artifacts;
  private readonly runtimes = new Map<string, VmProcesses>();

  constructor(
    readonly store: Store,
    /** `host`: where VMs' processes run (default: this thread; `hotpatch serve` passes its worker pool). */
    /** `placement`: where each VM sits in ARM, for dynamic scopes (default: every VM in DEFAULT_PLACEMENT, untagged; `hotpatch serve` passes its VMs' ARM documents). */
    readonly options: { seed?: number; artifactsDir?: string; faults?: Faults; host?: ProcessHost; placement?: (vm: VmRecord) => VmPlacement } = {},
  ) {
  }

  /** The unplanned baselines declared so far (read from the state each time: a server may declare one while it runs). */
  get unplanned(): MonthId[] {
    return unplannedMonths(this.store);
  }

  placementOf(vm: VmRecord): VmPlacement {
    return (this.options.placement ?? defaultPlacement)(vm);
  }

  /** Whether the catalog replays the recorded history (catalog.ts). */
  get history(): boolean {
    return historyMode(this.store);
  }

  /** The catalog's mode: what `findUpdate`, `createVm` and `osBuildOf` take. */
  get catalog(): CatalogMode {
    return { unplanned: this.unplanned, history: this.history };
  }

  /** The calendar line of a VM: its image's generation, in the catalog's mode. */
  lineOf(vm: VmRecord): CalendarLine {
    return catalogLine(vm.image, this.catalog);
  }

  get seed(): number {
    return this.options.seed ?? 2026;
  }

  get faults(): Faults {
    return this.options.faults ?? {};
  }

  /** Created on first use (it may create the catalog key). */
  get artifacts(): Artifacts {
    this.artifactsValue ??= new Artifacts(this.store, this.options.artifactsDir, this.faults.defectiveReleases);
    return this.artifactsValue;
  }

  installedUpdates(vm: string): InstalledUpdate[] {
    return this.store.installed<InstalledUpdate>(vm);
  }

  /** Hotpatches running on the VM's image, oldest first. */
  activeHotpatches(vm: VmRecord): InstalledUpdate[] {
    return this.installedUpdates(vm.name).filter((u) => u.kind === "hotpatch" && u.active && u.state === "Installed" && u.baselineMonth === vm.imageMonth);
  }

  async hotpatchPackages(vm: VmRecord): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const u of this.activeHotpatches(vm)) out.push((await this.artifacts.hotpatch(u.kb, u.month, u.baselineMonth, this.lineOf(vm))).package);
    return out;
  }

  /**
   * The VM's processes, booted on first use (and again if their thread ended:
   * `alive` false), then serving one round of load.
   */
  async runtime(vm: VmRecord): Promise<VmProcesses> {
    let runtime = this.runtimes.get(vm.name);
    if (runtime === undefined || !runtime.alive) {
      const trust = this.artifacts.trust;
      runtime = await (this.options.host ?? localHost).boot({
        vmName: vm.name,
        count: vm.processes,
        image: await this.artifacts.image(vm.imageMonth, this.lineOf(vm)),
        hotpatches: await this.hotpatchPackages(vm),
        trustedKeys: trust.keyIds().map((id) => trust.get(id)!),
        seed: this.seed,
      });
      this.runtimes.set(vm.name, runtime);
    }
    await runtime.serveLoad();
    return runtime;
  }

  /** The VM's processes if they are booted and alive (never boots them). */
  bootedRuntime(name: string): VmProcesses | undefined {
    const runtime = this.runtimes.get(name);
    return runtime?.alive ? runtime : undefined;
  }

  /** Forgets a VM's processes and ends them (the next `runtime` call boots them again). */
  dropRuntime(name: string): void {
    const runtime = this.runtimes.get(name);
    this.runtimes.delete(name);
    // Ending them cannot fail in a way the caller could act on (a dead worker has no processes left).
    runtime?.stop().catch(() => undefined);
  }
}
