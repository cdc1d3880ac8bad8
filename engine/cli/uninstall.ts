/** `hotpatch uninstall <vm> <KB>` and `hotpatch rollback <vm>` (no automatic rollback exists). */
import type { Command } from "commander";
import { type RemovalResult, rollbackVm, uninstallUpdate } from "../manage/index.ts";
import { type ManageOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { guarded, type OutputOptions, printJson, say } from "./output.ts";

export function registerUninstall(program: Command, setExit: (code: number) => void): void {
  timedStateOptions(
    program.command("uninstall").description("uninstall the latest update (a hotpatch is reverted live)").argument("<vm>", "the VM name").argument("<KB>", "the update"),
  ).action(
    guarded(setExit, (name: string, kb: string, options: ManageOptions) =>
      withSession(options, async (session, now) => {
        print(options, await uninstallUpdate(session, name, kb, now));
        return 0;
      }),
    ),
  );
  timedStateOptions(program.command("rollback").description("return to the last known good baseline, with a reboot").argument("<vm>", "the VM name")).action(
    guarded(setExit, (name: string, options: ManageOptions) =>
      withSession(options, async (session, now) => {
        print(options, await rollbackVm(session, name, now));
        return 0;
      }),
    ),
  );
}

function print(options: OutputOptions, r: RemovalResult): void {
  if (options.json) {
    printJson(r);
    return;
  }
  say(options, `${r.vm}: ${r.operation} removed ${r.removed.join(", ")}${r.baseline ? `; runs baseline ${r.baseline}` : ""}; OS build ${r.osBuild}`);
  if (r.live) say(options, "  reverted live on every process: no restart");
  if (r.reboot) say(options, `  reboot: ${r.reboot.downtimeMillis} ms; lost ${r.reboot.stateLost.keys} keys, ${r.reboot.stateLost.requests} requests of state`);
  say(options, `  health: ${r.health.status}${r.health.reasons.length ? ` — ${r.health.reasons.join("; ")}` : ""}`);
}
