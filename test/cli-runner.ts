/**
 * Test helpers that run the `hotpatch` command and return its exit status,
 * stdout and stderr.
 *
 * `runCli` runs it in this process (engine/cli's `main`): no child process,
 * so builds memoised in memory are shared with the test. It has the engine's
 * verbs only; `bench`, which bin/hotpatch.mjs wires in, is not among them.
 * `runCliProcess` starts bin/hotpatch.mjs as a real child process, for what
 * only a process shows: the command's own start-up, its exit code, and being
 * killed by a signal (`status` is null then, and `signal` names it).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../engine/cli/index.ts";

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliProcessRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const BIN = fileURLToPath(new URL("../bin/hotpatch.mjs", import.meta.url));

export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    return { status: await main(args), stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

/** Runs `node bin/hotpatch.mjs ...args` with the given environment (this process's by default) until it exits. */
export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}
