/**
 * Arc-enabled servers (host "arc", engine/manage/arc.ts): which machines may
 * enrol in hotpatch, the enrolment's ten minutes of evaluation on the emulated
 * clock, every hotpatch status and what it allows (assessments only: no
 * builds), the Arc patch modes, and the CLI's --host arc, --vbs and
 * --hotpatch-enrolment.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { arcHotpatchStatus, buildAtLeast } from "../engine/manage/arc.ts";
import { autoPatching } from "../engine/manage/auto-patch.ts";
import { calendarLine } from "../engine/manage/release-history.ts";
import { assessVm, createVm, getVm, setClock, setVm, vmStatus } from "../engine/manage/index.ts";
import { runCli } from "./cli-runner.ts";
import { freshSession, removeTempFolders, tempFolder } from "./manage-fixtures.ts";
import { refusal } from "./refusal.ts";

afterAll(removeTempFolders);

const DATACENTER = "MicrosoftWindowsServer:WindowsServer:2025-datacenter";
const STANDARD_G2 = "MicrosoftWindowsServer:WindowsServer:2025-standard-smalldisk-g2";
const AZURE_EDITION = "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition";
const at = (iso: string) => new Date(iso);

/** A session whose clock is `now`, with an Arc machine created then. */
function arcMachine(name: string, now: string, options: { image?: string; vbs?: boolean; hotpatch?: boolean; patchMode?: string } = {}) {
  const session = freshSession();
  setClock(session.store, at(now));
  createVm(session.store, { name, image: options.image ?? DATACENTER, host: "arc", vbs: options.vbs, hotpatch: options.hotpatch, patchMode: options.patchMode }, at(now), session.catalog);
  const clock = (iso: string) => setClock(session.store, at(iso));
  return { session, store: session.store, clock, status: () => vmStatus(session, name) };
}

describe("which Arc-enabled servers may enrol in hotpatch", () => {
  it("takes Windows Server 2025 Standard and Datacenter images, with -core, -smalldisk and -g2", () => {
    const { store, status } = arcMachine("std01", "2026-01-20T12:00:00Z", { image: STANDARD_G2, vbs: true, hotpatch: true });
    expect(getVm(store, "std01")).toMatchObject({ host: "arc", hotpatch: true, vbs: true, enrolledAt: "2026-01-20T12:00:00Z", patchMode: "AutomaticByOS" });
    expect(status().hotpatchStatus).toBe("PendingEvaluation");
  });

  it("refuses an Azure Edition image on Arc, naming every reason", () => {
    const error = refusal(() => arcMachine("ae01", "2026-01-20T12:00:00Z", { image: AZURE_EDITION, hotpatch: true }), "E_NOT_ELIGIBLE");
    expect(error.message).toMatch(/^E_NOT_ELIGIBLE: VM ae01 cannot run hotpatch: the SKU 2025-datacenter-azure-edition is an Azure Edition, which runs hotpatch in Azure; .*; virtualization-based security \(VBS\) is not running/);
  });

  it("refuses an image that is not Windows Server 2025", () => {
    const error = refusal(() => arcMachine("old01", "2026-01-20T12:00:00Z", { image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter", vbs: true, hotpatch: true }), "E_NOT_ELIGIBLE");
    expect(error.message).toContain("the SKU 2022-datacenter is not Windows Server 2025 Standard or Datacenter");
    expect(error.message).not.toContain("VBS");
  });

  it("refuses to enrol while VBS is not running, and changes nothing", () => {
    const { store, status } = arcMachine("vbs01", "2026-01-20T12:00:00Z");
    const error = refusal(() => setVm(store, "vbs01", { hotpatch: true }), "E_NOT_ELIGIBLE");
    expect(error.message).toBe("E_NOT_ELIGIBLE: VM vbs01 cannot run hotpatch: virtualization-based security (VBS) is not running; turn it on (vm set --vbs running)");
    expect(getVm(store, "vbs01")).toMatchObject({ hotpatch: false, vbs: false });
    expect(status().hotpatchStatus).toBe("Unknown");
  });

  it("refuses to enrol a machine whose build is older than 26100.1742 (created early in the synthetic 2025 line)", () => {
    const { session, store } = arcMachine("early01", "2023-03-01T12:00:00Z", { vbs: true });
    expect(vmStatus(session, "early01").osBuild).toBe("26100.1694");
    const error = refusal(() => setVm(store, "early01", { hotpatch: true }), "E_NOT_ELIGIBLE");
    expect(error.message).toBe("E_NOT_ELIGIBLE: VM early01 cannot run hotpatch: the OS build is 26100.1694, older than 26100.1742; install the latest cumulative update first");
    expect(buildAtLeast("26100.1741")).toBe(false);
    expect(buildAtLeast("26100.1742")).toBe(true);
    expect(buildAtLeast("26100.1743")).toBe(true);
  });

  it("refuses --vbs on hosts other than arc", () => {
    const session = freshSession();
    const error = refusal(() => createVm(session.store, { name: "az01", image: "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition-core", vbs: true }, at("2026-01-20T12:00:00Z"), []), "E_USAGE");
    expect(error.message).toContain("--vbs applies to Arc-enabled servers (host arc), not to host azure");
  });
});

describe("the hotpatch status of an Arc-enabled server and its transitions", () => {
  it("goes Unknown → Disabled → PendingEvaluation → Enabled, ten emulated minutes after the enrolment and not before", () => {
    const { session, store, clock, status } = arcMachine("arc01", "2026-01-20T12:00:00Z", { vbs: true });
    expect(status()).toMatchObject({ hotpatchStatus: "Unknown", hotpatchEnabledAt: null });
    expect(status().hotpatchReasons[0]).toBe("the machine has not reported its patch state yet (no assessment)");
    assessVm(session, "arc01", at("2026-01-20T12:00:00Z"));
    expect(status()).toMatchObject({ hotpatchStatus: "Disabled", hotpatchReasons: ["the machine is not enrolled in hotpatch (license profile productFeatures Hotpatch)"] });
    clock("2026-01-20T12:01:00Z");
    setVm(store, "arc01", { hotpatch: true });
    expect(status()).toMatchObject({ hotpatchStatus: "PendingEvaluation", hotpatchEnabledAt: "2026-01-20T12:11:00Z" });
    clock("2026-01-20T12:10:59Z");
    expect(status().hotpatchStatus).toBe("PendingEvaluation");
    clock("2026-01-20T12:11:00Z");
    expect(status()).toMatchObject({ hotpatchStatus: "Enabled", hotpatchReasons: [] });
  });

  it("turns ActionRequired when VBS stops on an enrolled machine, and Enabled again when it runs", () => {
    const { store, clock, status } = arcMachine("arc02", "2026-01-20T12:00:00Z", { vbs: true, hotpatch: true });
    clock("2026-01-20T12:30:00Z");
    expect(status().hotpatchStatus).toBe("Enabled");
    setVm(store, "arc02", { vbs: false });
    expect(status()).toMatchObject({ hotpatchStatus: "ActionRequired", hotpatchReasons: ["virtualization-based security (VBS) is not running; turn it on (vm set --vbs running)"] });
    setVm(store, "arc02", { vbs: true });
    expect(status().hotpatchStatus).toBe("Enabled");
  });

  it("is ActionRequired with the build reason for an enrolled machine on a build older than 26100.1742", () => {
    const line = calendarLine("2025", [], false);
    const machine = { host: "arc", image: DATACENTER, hotpatch: true, vbs: false, enrolledAt: "2023-02-01T00:00:00Z", lastAssessmentAt: null, imageMonth: "2023-01", osMonth: "2023-01", pendingImageMonth: null };
    expect(arcHotpatchStatus(machine, at("2023-02-01T00:10:00Z"), line)).toEqual({
      status: "ActionRequired",
      reasons: ["virtualization-based security (VBS) is not running; turn it on (vm set --vbs running)", "the OS build is 26100.1694, older than 26100.1742; install the latest cumulative update first"],
      enabledAt: "2023-02-01T00:10:00Z",
    });
  });

  it("records the disenrolment and goes Disabled", () => {
    const { session, store, clock, status } = arcMachine("arc03", "2026-01-20T12:00:00Z", { vbs: true, hotpatch: true });
    assessVm(session, "arc03", at("2026-01-20T12:00:00Z"));
    clock("2026-01-21T08:00:00Z");
    setVm(store, "arc03", { hotpatch: false });
    expect(getVm(store, "arc03")).toMatchObject({ hotpatch: false, enrolledAt: null, disenrolledAt: "2026-01-21T08:00:00Z" });
    expect(status().hotpatchStatus).toBe("Disabled");
  });
});

describe("what each status allows: hotpatches only when Enabled, else the month's cumulative update with a reboot", () => {
  const kindOf = (session: ReturnType<typeof freshSession>, name: string, now: string) => assessVm(session, name, at(now)).availablePatches.find((p) => p.kbId === "KB5260250")?.kind;

  it("offers February 2026's release as a cumulative update while Pending, and as a hotpatch once Enabled", () => {
    const { session, store, clock } = arcMachine("arc04", "2026-01-20T12:00:00Z", { vbs: true });
    clock("2026-02-10T19:00:00Z");
    setVm(store, "arc04", { hotpatch: true });
    clock("2026-02-10T19:05:00Z");
    expect(kindOf(session, "arc04", "2026-02-10T19:05:00Z")).toBe("non-hotpatch");
    clock("2026-02-10T19:10:00Z");
    expect(kindOf(session, "arc04", "2026-02-10T19:10:00Z")).toBe("hotpatch");
  });

  it("offers it as a cumulative update when not enrolled (Disabled) and when ActionRequired", () => {
    const { session, store, clock } = arcMachine("arc05", "2026-01-20T12:00:00Z", { vbs: true, hotpatch: true });
    const other = arcMachine("arc06", "2026-01-20T12:00:00Z", { vbs: true });
    clock("2026-02-10T19:00:00Z");
    other.clock("2026-02-10T19:00:00Z");
    expect(kindOf(session, "arc05", "2026-02-10T19:00:00Z")).toBe("hotpatch");
    expect(kindOf(other.session, "arc06", "2026-02-10T19:00:00Z")).toBe("non-hotpatch");
    setVm(store, "arc05", { vbs: false });
    expect(kindOf(session, "arc05", "2026-02-10T19:00:00Z")).toBe("non-hotpatch");
  });
});

describe("patch orchestration on Arc-enabled servers (Azure Update Manager)", () => {
  it("defaults to AutomaticByOS, takes ImageDefault, and patches automatically only with AutomaticByOS", () => {
    const { store } = arcMachine("arc07", "2026-01-20T12:00:00Z");
    expect(autoPatching(getVm(store, "arc07"))?.trigger).toBe("AutomaticByOS");
    expect(setVm(store, "arc07", { patchMode: "ImageDefault" }).patchMode).toBe("ImageDefault");
    expect(autoPatching(getVm(store, "arc07"))).toBeNull();
    expect(setVm(store, "arc07", { patchMode: "AutomaticByPlatform" }).patchMode).toBe("AutomaticByPlatform");
    expect(autoPatching(getVm(store, "arc07"))).toBeNull(); // customer-managed schedules only
  });

  it("takes the customer-managed schedule flag with AutomaticByPlatform only, and no policy source", () => {
    const { store } = arcMachine("arc08", "2026-01-20T12:00:00Z");
    const byOs = refusal(() => setVm(store, "arc08", { bypassPlatformSafetyChecksOnUserSchedule: true }), "E_USAGE");
    expect(byOs.message).toContain("applies only to Azure VMs and Arc-enabled servers with patch mode AutomaticByPlatform, not with patch mode AutomaticByOS");
    expect(setVm(store, "arc08", { patchMode: "AutomaticByPlatform", bypassPlatformSafetyChecksOnUserSchedule: true }).bypassPlatformSafetyChecksOnUserSchedule).toBe(true);
    expect(refusal(() => setVm(store, "arc08", { policySource: "SCONFIG" }), "E_USAGE").message).toContain("applies only to Azure Stack HCI; on an Arc-enabled server");
  });
});

describe("the CLI: --host arc, --vbs, --hotpatch-enrolment, and the status with its reasons", () => {
  const state = join(tempFolder(), "state.db");
  const cli = (...args: string[]) => runCli([...args, "--state", state]);

  it("creates an Arc machine, refuses enrolment without VBS (exit 1), and shows the evaluation", async () => {
    const created = await cli("vm", "create", "arc09", "--image", DATACENTER, "--host", "arc", "--now", "2026-01-20T12:00:00Z");
    expect(created.status).toBe(0);
    expect(created.stdout).toContain("arc09: OS build 26100.3494, hotpatch Unknown, AutomaticByOS");
    const refused = await cli("vm", "set", "arc09", "--hotpatch-enrolment", "enable");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("E_NOT_ELIGIBLE: VM arc09 cannot run hotpatch: virtualization-based security (VBS) is not running");
    const enrolled = await cli("vm", "set", "arc09", "--vbs", "running", "--hotpatch-enrolment", "enable");
    expect(enrolled.stdout).toContain("VBS running; enrolled 2026-01-20T12:00:00Z, in effect 2026-01-20T12:10:00Z");
    const status = await cli("status", "arc09");
    expect(status.stdout).toContain("arc09: hotpatch PendingEvaluation, OS build 26100.3494");
    expect(status.stdout).toContain("PendingEvaluation: the enrolment is being evaluated until 2026-01-20T12:10:00Z");
    const later = await cli("clock", "advance", "PT10M");
    expect(later.status).toBe(0);
    expect((await cli("vm", "show", "arc09")).stdout).toContain("hotpatch Enabled");
  });

  it("refuses a --vbs value it does not know, and --vbs on an Azure VM (exit 2)", async () => {
    expect((await cli("vm", "set", "arc09", "--vbs", "maybe")).status).toBe(2);
    await cli("vm", "create", "az02", "--image", "MicrosoftWindowsServer:WindowsServer:2025-datacenter-azure-edition-core");
    const refused = await cli("vm", "set", "az02", "--vbs", "running");
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("--vbs applies to Arc-enabled servers");
  });
});
