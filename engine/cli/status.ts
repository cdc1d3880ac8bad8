/** `hotpatch status <vm>`: hotpatch status, OS build, installed, pending and compliance lists. */
import type { Command } from "commander";
import { vmStatus } from "../manage/index.ts";
import { type ManageOptions, stateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerStatus(program: Command, setExit: (code: number) => void): void {
  stateOptions(program.command("status").description("the VM's update status").argument("<vm>", "the VM name")).action(
    guarded(setExit, (name: string, options: ManageOptions) =>
      withSession(options, (session) => {
        const status = vmStatus(session, name);
        if (options.json) printJson(status);
        else {
          const a = status.availablePatchSummary;
          say(options, `${name}: hotpatch ${status.hotpatchStatus}, OS build ${status.osBuild}, baseline ${status.baseline}${a.rebootPending ? ", reboot pending" : ""}`);
          for (const reason of status.vm.host === "arc" ? status.hotpatchReasons : []) say(options, `  ${status.hotpatchStatus}: ${reason}`);
          say(options, `  last assessment ${a.lastAssessmentTime ?? "never"}: ${a.criticalAndSecurityPatchCount} critical/security, ${a.otherPatchCount} other`);
          for (const u of status.latestInstalled) say(options, `  installed ${u.kb} (${u.kind}) ${u.installedAt}${u.state === "Installed" ? "" : ` ${u.state}`}`);
          for (const p of status.pending) say(options, `  pending   ${p.kbId} (${p.kind}) — installed automatically`);
          for (const p of status.compliance) say(options, `  compliance ${p.kbId} (${p.classifications[0]}) — not installed automatically`);
          const last = status.lastPatchInstallationSummary;
          if (last) say(options, `  last installation ${last.startDateTime}: ${last.status}, ${last.installedPatchCount} installed, ${last.pendingPatchCount} pending`);
        }
        return 0;
      }),
    ),
  );
}
