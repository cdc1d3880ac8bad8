/**
 * `hotpatch demo` (also `npm start`): an exploit stopped by a live patch, told
 * in the terminal. `hotpatch demo --portal` tells the same story on a server
 * (engine/serve/demo-story.ts) over a fresh state in a temporary folder: it
 * prints the portal's URL, the story starts from the portal's Start the demo
 * button (or at once with --start), the terminal prints each step too, and the
 * server runs until Ctrl-C, then removes its folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { runDemo } from "../demo/index.ts";
import { DEFAULT_HOST, startServer } from "../serve/index.ts";
import { EXIT_ERROR, guarded, printJson, say } from "./output.ts";
import { stopSignal } from "./serve.ts";

interface DemoOptions {
  seed: string;
  json?: boolean;
  portal?: boolean;
  port: string;
  stepSeconds: string;
  start?: boolean;
}

export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command("demo")
    .description("watch a live hotpatch stop an exploit in a running service, then revert it")
    .option("--seed <n>", "seed of the request stream", "2026")
    .option("--json", "print the measured facts as one JSON object")
    .option("--portal", "tell the story on a server and narrate it in the portal (a browser) instead")
    .option("--port <n>", "with --portal: the server's port (0: any free one)", "8443")
    .option("--step-seconds <s>", "with --portal: seconds between two steps", "3")
    .option("--start", "with --portal: start the story at once instead of waiting for the portal's button")
    .action(guarded(setExit, (options: DemoOptions) => (options.portal ? portalDemo(options) : terminalDemo(options))));
}

async function terminalDemo(options: DemoOptions): Promise<number> {
  const result = await runDemo((line) => say(options, line), Number(options.seed));
  if (options.json) {
    printJson(result);
  } else {
    const ok = !result.exploit.after.leaked && result.exploit.before.leaked && result.countersContinued && !result.restarted;
    say(options, "");
    say(options, ok ? "The fix went in live: no restart, no lost state, the exploit stopped." : "Something did not behave as expected (see above).");
    say(options, "Watch it in a browser, the function table and the live request counter beside the story: npx hotpatch demo --portal");
  }
  const worked = result.exploit.before.leaked && !result.exploit.after.leaked && result.revert.exploitWorksAgain;
  return worked ? 0 : EXIT_ERROR;
}

async function portalDemo(options: DemoOptions): Promise<number> {
  const port = Number(options.port);
  const stepSeconds = Number(options.stepSeconds);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HotpatchError("E_USAGE", `--port ${options.port} is not a port number (0-65535)`);
  if (!(stepSeconds >= 0 && stepSeconds <= 60)) throw new HotpatchError("E_USAGE", `--step-seconds ${options.stepSeconds} must be a number of seconds from 0 to 60`);
  const dir = mkdtempSync(join(tmpdir(), "hotpatch-demo-portal-"));
  try {
    const server = await startServer({ statePath: join(dir, "state.db"), port, host: DEFAULT_HOST, demo: { stepMillis: stepSeconds * 1000, narrate: (line) => say(options, `  ${line}`) } });
    say(options, server.url);
    say(options, `Portal: ${server.portalUrl}#/demo`);
    process.stderr.write(`certificate: ${server.certPath} (self-signed: accept it in the browser)\n`);
    say(options, options.start ? "The demo starts now; watch it in the portal." : "Open the Portal URL and press “Start the demo”. Ctrl-C stops the server.");
    if (options.start) server.context.demo?.start();
    await stopSignal();
    await server.close();
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
