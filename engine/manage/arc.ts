/**
 * Hotpatch on Arc-enabled servers (host "arc"): which machines can enrol, the
 * enrolment's evaluation on the emulated clock, and the hotpatch status that
 * decides whether hotpatches are offered.
 *
 * Sources: Microsoft Learn, "Enable Hotpatch for Azure Arc-enabled servers"
 * (Windows Server 2025 Standard or Datacenter, build 26100.1742 or later, not
 * Azure Edition; virtualization-based security running; enrolment through
 * the machine's license profile, effective after about ten minutes), and the
 * HybridCompute API's `hotpatchEnablementStatus` values (Unknown,
 * PendingEvaluation, Disabled, ActionRequired, Enabled).
 *
 * Contracts:
 * - Arc images: publisher MicrosoftWindowsServer, offer WindowsServer, SKU
 *   `2025-datacenter` or `2025-standard`, optionally followed by `-core`,
 *   `-smalldisk`, `-g2` in that order (e.g. `2025-datacenter-smalldisk-g2`);
 *   the image stands for the edition the server runs. Azure Edition SKUs
 *   (`2025-datacenter-azure-edition…`) run hotpatch in Azure, not on Arc, and
 *   every other generation is refused (`arcImageReasons`).
 * - A machine's hotpatch prerequisites (`arcPrerequisiteReasons`), checked
 *   at enrolment and again whenever the status is read: VBS running (the VM
 *   setting `vbs`, off unless set: Windows Server does not turn VBS on by
 *   itself), and an OS build of at least ARC_MIN_BUILD (the build of the
 *   VM's `osMonth` on its calendar line; a machine booted early in the
 *   synthetic 2025 line runs an older build until a cumulative update lifts it).
 * - Enrolment (`vm.hotpatch` true, `enrolledAt` its emulated instant) is
 *   Pending for ENROLMENT_EVALUATION_MILLIS (10 min) and then in effect:
 *   computed from `enrolledAt` and `now`, never a timer.
 * - The status at `now` (`arcHotpatchStatus`), in this order:
 *   | enrolled | condition                              | status            |
 *   | no       | never assessed (the machine has not reported) | Unknown    |
 *   | no       | assessed at least once                 | Disabled          |
 *   | yes      | now < enrolledAt + 10 min              | PendingEvaluation |
 *   | yes      | VBS not running or build too old       | ActionRequired (the reasons) |
 *   | yes      | otherwise                              | Enabled           |
 * - Hotpatches are offered (catalog.ts through `hotpatchOffered`) only when
 *   the status is Enabled and the machine stands on a baseline: a machine
 *   running the cumulative update of a hotpatch month (installed while it was
 *   not Enabled) is offered cumulative updates until the next baseline, as
 *   Microsoft requires enrolled servers to be on the latest baseline-month
 *   cumulative update. Otherwise each month's release installs as a
 *   cumulative update with a reboot, as on a VM with hotpatch off.
 * - Other hosts: `hotpatchOffered` is `vm.hotpatch`, the status Enabled or
 *   Disabled, as before.
 */
import { latestReleaseAt, type LineSpec, lineBuildFor, type MonthId, releaseFor } from "./calendar.ts";
import { iso } from "./clock.ts";

export const ARC_MIN_BUILD = "26100.1742";
export const ENROLMENT_EVALUATION_MILLIS = 10 * 60_000;

const ARC_SKU = /^2025-(datacenter|standard)(-core)?(-smalldisk)?(-g2)?$/i;

export const HOTPATCH_STATUSES = ["Unknown", "PendingEvaluation", "Disabled", "ActionRequired", "Enabled"] as const;
export type HotpatchStatus = (typeof HOTPATCH_STATUSES)[number];

/** What the rules read of a VM (vm.ts's VmRecord has these fields). */
export interface ArcFacts {
  host: string;
  image: string;
  hotpatch: boolean;
  vbs?: boolean;
  enrolledAt?: string | null;
  lastAssessmentAt: string | null;
  imageMonth: MonthId;
  osMonth: MonthId;
  pendingImageMonth: MonthId | null;
}

export interface HotpatchVerdict {
  status: HotpatchStatus;
  /** Why the status is not Enabled, in plain words; empty when Enabled. */
  reasons: string[];
  /** When an enrolment takes (took) effect; null when not enrolled. */
  enabledAt: string | null;
}

/** The edition an Arc image names ("Windows Server 2025 Datacenter"), or undefined for an image that is none. */
export function arcEdition(image: string): string | undefined {
  const [publisher = "", offer = "", sku = ""] = image.split(":");
  const m = ARC_SKU.exec(sku);
  if (m === null || publisher.toLowerCase() !== "microsoftwindowsserver" || offer.toLowerCase() !== "windowsserver") return undefined;
  return `Windows Server 2025 ${m[1].toLowerCase() === "standard" ? "Standard" : "Datacenter"}`;
}

/** Why an image cannot run hotpatch on an Arc-enabled server (publisher and offer are checked by eligibility.ts). */
export function arcImageReasons(sku: string): string[] {
  if (ARC_SKU.test(sku)) return [];
  if (/azure-edition/i.test(sku)) {
    return [`the SKU ${sku} is an Azure Edition, which runs hotpatch in Azure; an Arc-enabled server needs Windows Server 2025 Standard or Datacenter (2025-standard, 2025-datacenter, with -core, -smalldisk, -g2)`];
  }
  return [`the SKU ${sku} is not Windows Server 2025 Standard or Datacenter; hotpatch on Arc-enabled servers needs one (2025-standard, 2025-datacenter, with -core, -smalldisk, -g2)`];
}

/** Whether build "26100.N" is at least `min` (same major, N compared as a number). */
export function buildAtLeast(build: string, min = ARC_MIN_BUILD): boolean {
  const [major, minor] = build.split(".").map(Number);
  const [minMajor, minMinor] = min.split(".").map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/** The machine-side prerequisites that do not hold now: VBS and the OS build. */
export function arcPrerequisiteReasons(vm: ArcFacts, spec: LineSpec): string[] {
  const reasons: string[] = [];
  if (vm.vbs !== true) reasons.push("virtualization-based security (VBS) is not running; turn it on (vm set --vbs running)");
  const build = lineBuildFor(vm.osMonth, spec);
  if (!buildAtLeast(build)) reasons.push(`the OS build is ${build}, older than ${ARC_MIN_BUILD}; install the latest cumulative update first`);
  return reasons;
}

/** The hotpatch status of a VM at `now` (the table above). */
export function arcHotpatchStatus(vm: ArcFacts, now: Date, spec: LineSpec): HotpatchVerdict {
  if (vm.host !== "arc") return { status: vm.hotpatch ? "Enabled" : "Disabled", reasons: vm.hotpatch ? [] : ["hotpatch is off for this VM"], enabledAt: null };
  if (!vm.hotpatch || vm.enrolledAt == null) {
    return vm.lastAssessmentAt === null
      ? { status: "Unknown", reasons: ["the machine has not reported its patch state yet (no assessment)", "the machine is not enrolled in hotpatch"], enabledAt: null }
      : { status: "Disabled", reasons: ["the machine is not enrolled in hotpatch (license profile productFeatures Hotpatch)"], enabledAt: null };
  }
  const enabledAt = new Date(Date.parse(vm.enrolledAt) + ENROLMENT_EVALUATION_MILLIS);
  if (now.getTime() < enabledAt.getTime()) {
    return { status: "PendingEvaluation", reasons: [`the enrolment is being evaluated until ${iso(enabledAt)}`], enabledAt: iso(enabledAt) };
  }
  const reasons = arcPrerequisiteReasons(vm, spec);
  return { status: reasons.length > 0 ? "ActionRequired" : "Enabled", reasons, enabledAt: iso(enabledAt) };
}

/** Whether the VM is offered hotpatches at `now` (see the contract); every host. */
export function hotpatchOffered(vm: ArcFacts, now: Date, spec: LineSpec): boolean {
  if (vm.host !== "arc") return vm.hotpatch;
  if (arcHotpatchStatus(vm, now, spec).status !== "Enabled") return false;
  const base = vm.pendingImageMonth ?? vm.imageMonth;
  const latest = latestReleaseAt(now, spec);
  const onBaseline = releaseFor(base, spec).type === "baseline";
  return onBaseline || (latest !== undefined && latest.baselineMonth > base);
}
