/** `hotpatch vm create|set|show|list`: emulated VMs and their patch settings. */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { createVm, getVm, listVms, osBuildOf, type Session, setClock, setVm, type VmRecord, vmStatus } from "../manage/index.ts";
import { type ManageOptions, stateOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

interface VmOptions extends ManageOptions {
  image: string;
  host?: string;
  patchMode?: string;
  policySource?: string;
  hotpatch?: string;
  timezone?: string;
  window?: string;
  processes?: string;
  scaleSet?: string;
  containerBaseImage?: boolean;
  customImage?: boolean;
  userSchedule?: string;
  vbs?: string;
  hotpatchEnrolment?: string;
}

export function registerVm(program: Command, setExit: (code: number) => void): void {
  const vm = program.command("vm").description("create and configure emulated VMs");
  registerCreate(vm, setExit);
  registerSet(vm, setExit);
  registerShow(vm, setExit);
  registerList(vm, setExit);
}

/** The patch-setting options `vm create` and `vm set` share. */
function withSettings(command: Command): Command {
  return command
    .option("--patch-mode <mode>", "AutomaticByPlatform | AutomaticByOS | Manual (Azure and Arc); ImageDefault (Arc)")
    .option("--policy-source <source>", "GroupPolicy | WindowsUpdateClientSettings | SCONFIG | ThirdParty (Azure Stack HCI only)")
    .option("--hotpatch <on|off>", "enable hotpatch (default: on for eligible Azure Edition images; on Arc: enrol, as --hotpatch-enrolment)")
    .option("--hotpatch-enrolment <enable|disable>", "Arc only: enrol in hotpatch through the license profile (in effect 10 minutes later)")
    .option("--vbs <running|off>", "Arc only: virtualization-based security running (default off)")
    .option("--timezone <IANA zone>", "the VM's time zone (default UTC)")
    .option("--window <window>", 'install window: daily "22:00-06:00" (default) or weekly "Sun 02:00-06:00"')
    .option("--processes <n>", "kvstore guest processes the VM runs (default 2)")
    .option("--user-schedule <on|off>", "bypassPlatformSafetyChecksOnUserSchedule: patched only by its maintenance configurations (AutomaticByPlatform)");
}

function registerCreate(vm: Command, setExit: (code: number) => void): void {
  const command = vm
    .command("create")
    .description("create a VM from a marketplace image reference")
    .argument("<name>", "the VM name")
    .requiredOption("--image <urn>", "publisher:offer:sku[:version]")
    .option("--host <host>", "azure (default) | azure-stack-hci | arc (an Arc-enabled server)")
    .option("--scale-set <orchestration>", "create it in a scale set: Uniform | Flexible")
    .option("--container-base-image", "the image is a container base image")
    .option("--custom-image", "the image is a custom image");
  timedStateOptions(withSettings(command)).action(
    guarded(setExit, (name: string, options: VmOptions) =>
      withSession(options, (session, now) => {
        const created = session.store.tx(() => {
          const record = createVm(
            session.store,
            {
              name,
              image: options.image,
              host: options.host,
              ...patchSettings(options),
              scaleSet: options.scaleSet,
              containerBaseImage: options.containerBaseImage,
              customImage: options.customImage,
            },
            now,
            session.catalog,
          );
          setClock(session.store, now);
          return record;
        });
        print(options, created, session);
        return 0;
      }),
    ),
  );
}

function registerSet(vm: Command, setExit: (code: number) => void): void {
  const command = vm.command("set").description("change a VM's patch settings").argument("<name>", "the VM name");
  stateOptions(withSettings(command)).action(
    guarded(setExit, (name: string, options: VmOptions) =>
      withSession(options, (session) => {
        const changed = session.store.tx(() => setVm(session.store, name, patchSettings(options)));
        print(options, changed, session);
        return 0;
      }),
    ),
  );
}

function registerShow(vm: Command, setExit: (code: number) => void): void {
  stateOptions(vm.command("show").description("show a VM").argument("<name>", "the VM name")).action(
    guarded(setExit, (name: string, options: ManageOptions) =>
      withSession(options, (session) => {
        print(options, getVm(session.store, name), session);
        return 0;
      }),
    ),
  );
}

function registerList(vm: Command, setExit: (code: number) => void): void {
  stateOptions(vm.command("list").description("list the VMs")).action(
    guarded(setExit, (options: ManageOptions) =>
      withSession(options, (session) => {
        const vms = listVms(session.store);
        if (options.json) printJson({ vms: vms.map((v) => ({ ...v, osBuild: osBuildOf(v, session.catalog) })) });
        else for (const v of vms) say(options, summary(v, session));
        return 0;
      }),
    ),
  );
}

function print(options: ManageOptions, vm: VmRecord, session: Session): void {
  const status = vmStatus(session, vm.name);
  const hotpatch = { hotpatchStatus: status.hotpatchStatus, hotpatchReasons: status.hotpatchReasons, hotpatchEnabledAt: status.hotpatchEnabledAt };
  if (options.json) printJson({ ...vm, osBuild: osBuildOf(vm, session.catalog), ...(vm.host === "arc" ? hotpatch : {}) });
  else {
    say(options, summary(vm, session));
    say(options, `  image ${vm.image} on ${vm.host}; ${vm.processes} kvstore process(es); window ${vm.window} ${vm.timeZone}`);
    if (vm.host === "arc") {
      say(options, `  VBS ${vm.vbs === true ? "running" : "not running"}; enrolled ${vm.enrolledAt ?? "no"}${status.hotpatchEnabledAt === null ? "" : `, in effect ${status.hotpatchEnabledAt}`}`);
      for (const reason of status.hotpatchReasons) say(options, `  ${status.hotpatchStatus}: ${reason}`);
    }
  }
}

function summary(vm: VmRecord, session: Session): string {
  const orchestration = vm.patchMode ?? `policy ${vm.policySource}`;
  const schedule = vm.bypassPlatformSafetyChecksOnUserSchedule === true ? ", on a user schedule" : "";
  const hotpatch = vm.host === "arc" ? vmStatus(session, vm.name).hotpatchStatus : vm.hotpatch ? "on" : "off";
  return `${vm.name}: OS build ${osBuildOf(vm, session.catalog)}, hotpatch ${hotpatch}, ${orchestration}${schedule}${vm.rebootPending ? ", reboot pending" : ""}`;
}

function enableDisable(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === "enable" || v === "enabled") return true;
  if (v === "disable" || v === "disabled") return false;
  throw new HotpatchError("E_USAGE", `--hotpatch-enrolment takes enable or disable, not ${value}`);
}

function vbsState(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === "running" || v === "on") return true;
  if (v === "off" || v === "not-running") return false;
  throw new HotpatchError("E_USAGE", `--vbs takes running or off, not ${value}`);
}

function onOff(value: string | undefined, option = "--hotpatch"): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === "on" || v === "true") return true;
  if (v === "off" || v === "false") return false;
  throw new HotpatchError("E_USAGE", `${option} takes on or off, not ${value}`);
}

function count(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new HotpatchError("E_USAGE", `--processes takes a whole number, not ${value}`);
  return Number(value);
}

/** The settings `vm create` and `vm set` share, from their options. */
function patchSettings(options: VmOptions) {
  const hotpatch = onOff(options.hotpatch);
  const enrolment = enableDisable(options.hotpatchEnrolment);
  if (hotpatch !== undefined && enrolment !== undefined && hotpatch !== enrolment) {
    throw new HotpatchError("E_USAGE", "--hotpatch and --hotpatch-enrolment disagree; give one of them");
  }
  return {
    patchMode: options.patchMode,
    policySource: options.policySource,
    hotpatch: hotpatch ?? enrolment,
    vbs: vbsState(options.vbs),
    timeZone: options.timezone,
    window: options.window,
    processes: count(options.processes),
    bypassPlatformSafetyChecksOnUserSchedule: onOff(options.userSchedule, "--user-schedule"),
  };
}
