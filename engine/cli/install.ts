/** `hotpatch install <vm>`: install updates now (on demand: not availability-first). */
import type { Command } from "commander";
import { installUpdates, parseClassificationList, parseDuration, parseRebootSetting } from "../manage/index.ts";
import { listOption, type ManageOptions, timedStateOptions, withSession } from "./manage-options.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";

interface InstallOptions extends ManageOptions {
  classifications?: string;
  include?: string[];
  exclude?: string[];
  maxDuration: string;
  reboot: string;
}

export function registerInstall(program: Command, setExit: (code: number) => void): void {
  timedStateOptions(
    program
      .command("install")
      .description("install updates on a VM now")
      .argument("<vm>", "the VM name")
      .option("--classifications <list>", "e.g. Critical,Security (default: Critical,Security)")
      .option("--include <KB>", "a KB to install whatever its classification (repeatable, or comma-separated)", listOption)
      .option("--exclude <KB>", "a KB not to install; wins over --include (repeatable, or comma-separated)", listOption)
      .option("--max-duration <ISO 8601>", "the maintenance window", "PT4H")
      .option("--reboot <setting>", "IfRequired | Never | Always", "IfRequired"),
  ).action(
    guarded(setExit, (name: string, options: InstallOptions) => {
      const request = {
        classifications: options.classifications === undefined ? undefined : parseClassificationList(options.classifications),
        include: options.include,
        exclude: options.exclude,
        maxDurationMillis: parseDuration(options.maxDuration),
        reboot: parseRebootSetting(options.reboot),
      };
      return withSession(options, async (session, now) => {
        const result = await installUpdates(session, name, request, now);
        if (options.json) printJson(result);
        else {
          say(options, `${name}: ${result.status} (${result.startDateTime} → ${result.endDateTime}), OS build ${result.osBuild}`);
          say(
            options,
            `  installed ${result.installedPatchCount}, failed ${result.failedPatchCount}, pending ${result.pendingPatchCount}, ` +
              `excluded ${result.excludedPatchCount}, not selected ${result.notSelectedPatchCount}; reboot ${result.rebootStatus}` +
              (result.maintenanceWindowExceeded ? "; maintenance window exceeded" : ""),
          );
          for (const p of result.patches) {
            const live = p.applyMicros === undefined ? "" : ` (live, ${p.applyMicros} µs)`;
            say(options, `  ${p.kb}  ${p.state.padEnd(13)} ${p.kind}${live}${p.error ? ` — ${p.error}` : ""}`);
          }
          if (result.reboot) {
            say(options, `  reboot: ${result.reboot.downtimeMillis} ms to restart the processes; lost ${result.reboot.stateLost.keys} keys, ${result.reboot.stateLost.requests} requests of state`);
          }
          if (result.health) say(options, `  health: ${result.health.status}${result.health.reasons.length ? ` — ${result.health.reasons.join("; ")}` : ""}`);
        }
        return result.status === "Failed" ? EXIT_ERROR : 0;
      });
    }),
  );
}
