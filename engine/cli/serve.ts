/**
 * `hotpatch serve`: runs the ARM-compatible server over a state file until
 * SIGINT or SIGTERM (docs/api.md). It prints the API's base URL on the first
 * line of stdout and the portal's on a line starting with `Portal: `; what
 * happens meanwhile goes to stderr.
 */
import type { Command } from "commander";
import { HotpatchError } from "../errors.ts";
import { DEFAULT_STATE_FILE } from "../manage/index.ts";
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from "../serve/index.ts";
import { guarded } from "./output.ts";
import { withEnvironmentFaults } from "./fault-environment.ts";

interface ServeCliOptions {
  state: string;
  port: string;
  host: string;
  now?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command("serve")
    .description("run the ARM-compatible API, the emulator's endpoints and the portal over a state file")
    .option("--state <file>", "the state database", DEFAULT_STATE_FILE)
    .option("--port <n>", "the TCP port (0: any free one)", String(DEFAULT_PORT))
    .option("--host <addr>", "the address to listen on (loopback by default; the API trusts any token)", DEFAULT_HOST)
    .option("--now <ISO>", "the emulated clock of a new state (default: the state's clock, else the real time)")
    .option("--tls-cert <file>", "a PEM certificate (default: a self-signed one beside the state file)")
    .option("--tls-key <file>", "the PEM key of --tls-cert")
    .action(
      guarded(setExit, (options: ServeCliOptions) =>
        withEnvironmentFaults(async () => {
          const port = Number(options.port);
          if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HotpatchError("E_USAGE", `--port ${options.port} is not a port number (0-65535)`);
          const server = await startServer({ statePath: options.state, port, host: options.host, now: options.now, tlsCert: options.tlsCert, tlsKey: options.tlsKey });
          process.stdout.write(`${server.url}\nPortal: ${server.portalUrl}\n`);
          process.stderr.write(`certificate: ${server.certPath} (trust it with NODE_EXTRA_CA_CERTS=${server.certPath})\n`);
          await stopSignal();
          process.stderr.write("stopping: finishing the operations in flight\n");
          await server.close();
          process.stderr.write("stopped\n");
          return 0;
        }),
      ),
    );
}

/** Resolves at the first SIGINT or SIGTERM. */
export function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
