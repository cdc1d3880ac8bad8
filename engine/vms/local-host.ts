/**
 * The host of a CLI command: a VM's processes run in the command's own
 * thread (runtime.ts), booted on first use and gone when the command ends.
 * Every call runs to its end before it returns, so calls on one VM cannot
 * interleave.
 */
import type { HealthReport } from "./health.ts";
import { VmRuntime } from "./runtime.ts";
import type { ApplyTiming, BootSpec, ProcessHost, RebootOutcome, VmProcesses, VmSnapshot } from "./vm-processes.ts";
import type { Image } from "../image/index.ts";

class LocalVm implements VmProcesses {
  readonly alive = true;

  constructor(private readonly runtime: VmRuntime) {}

  get vmName(): string {
    return this.runtime.vmName;
  }

  get processCount(): number {
    return this.runtime.processes.length;
  }

  async serveLoad(requests?: number): Promise<void> {
    this.runtime.serveLoad(requests);
  }

  async totals(): Promise<{ keys: number; requests: number }> {
    return this.runtime.totals();
  }

  async snapshot(): Promise<VmSnapshot> {
    return this.runtime.snapshot();
  }

  async applyHotpatch(kb: string, bytes: Uint8Array): Promise<ApplyTiming> {
    return this.runtime.applyHotpatch(kb, bytes);
  }

  async revertHotpatch(kb: string): Promise<{ pauseMicros: number }> {
    return this.runtime.revertHotpatch(kb);
  }

  async reboot(image: Image, hotpatches: readonly Uint8Array[]): Promise<RebootOutcome> {
    return this.runtime.reboot(image, hotpatches);
  }

  async checkHealth(expectedRevision: number, seed: number): Promise<HealthReport> {
    return this.runtime.health(expectedRevision, seed);
  }

  async request(index: number, bytes: Uint8Array): Promise<Uint8Array> {
    return this.runtime.request(index, bytes);
  }

  async stop(): Promise<void> {
    this.runtime.processes = [];
  }
}

export const localHost: ProcessHost = {
  async boot(spec: BootSpec): Promise<VmProcesses> {
    return new LocalVm(VmRuntime.boot(spec));
  },
};
