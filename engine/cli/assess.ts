/** `hotpatch assess <vm>`: an on-demand assessment of the updates a VM is offered. */
import type { Command } from "commander";
import { assessVm } from "../manage/index.ts";
import { type ManageOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerAssess(program: Command, setExit: (code: number) => void): void {
  timedStateOptions(program.command("assess").description("assess a VM for available updates now").argument("<vm>", "the VM name")).action(
    guarded(setExit, (name: string, options: ManageOptions) =>
      withSession(options, (session, now) => {
        const result = assessVm(session, name, now);
        if (options.json) printJson(result);
        else {
          say(options, `${name} assessed at ${result.startDateTime}: ${result.criticalAndSecurityPatchCount} critical/security, ${result.otherPatchCount} other`);
          for (const p of result.availablePatches) say(options, `  ${p.kbId}  ${p.classifications[0].padEnd(12)} ${p.kind.padEnd(12)} ${p.name}`);
        }
        return 0;
      }),
    ),
  );
}
