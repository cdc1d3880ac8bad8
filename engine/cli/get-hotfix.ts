/** `hotpatch get-hotfix <vm>`: installed updates with the columns of PowerShell's Get-HotFix. */
import type { Command } from "commander";
import { getHotFix, renderHotFix } from "../manage/index.ts";
import { type ManageOptions, stateOptions, withSession } from "./manage-options.ts";
import { guarded, printJson } from "./output.ts";

export function registerGetHotFix(program: Command, setExit: (code: number) => void): void {
  stateOptions(program.command("get-hotfix").description("list installed updates like Get-HotFix").argument("<vm>", "the VM name")).action(
    guarded(setExit, (name: string, options: ManageOptions) =>
      withSession(options, (session) => {
        const rows = getHotFix(session, name);
        if (options.json) printJson(rows);
        else process.stdout.write(`${renderHotFix(rows)}\n`);
        return 0;
      }),
    ),
  );
}
