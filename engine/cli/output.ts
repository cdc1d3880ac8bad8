/**
 * Output conventions shared by every command:
 * - with `--json`, stdout holds exactly one JSON document (`hotpatch run`
 *   prints JSON lines instead); progress and narration go to stderr;
 * - every error exits non-zero; with `--json` it prints
 *   `{ "error": { "code", "message" } }` on stdout;
 * - exit status 3 is reserved for "requires a baseline".
 */
import { asHotpatchError, HotpatchError } from "../errors.ts";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_REQUIRES_BASELINE = 3;

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
}

/** i64 values travel as decimal strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Narration: stdout for people, stderr when stdout is reserved for JSON. */
export function say(options: OutputOptions, line = ""): void {
  (options.json ? process.stderr : process.stdout).write(`${line}\n`);
}

export function reportError(error: unknown, options: OutputOptions): number {
  const err = asHotpatchError(error, "E_IO");
  if (!(error instanceof HotpatchError) && !(error instanceof Error && "code" in error)) {
    // An unexpected exception: keep its stack for whoever debugs it.
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  if (options.json) printJson({ error: err.toJSON() });
  else process.stderr.write(`hotpatch: ${err.message}\n`);
  return err.code === "E_USAGE" ? EXIT_USAGE : EXIT_ERROR;
}

/**
 * Wraps a command's action: its return value is the exit status, and any
 * error is reported by the conventions above.
 */
export function guarded<A extends unknown[]>(
  setExit: (code: number) => void,
  action: (...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const options = args.find((a) => a !== null && typeof a === "object" && !Array.isArray(a)) as OutputOptions | undefined;
    try {
      setExit((await action(...args)) ?? EXIT_OK);
    } catch (error) {
      setExit(reportError(error, options ?? {}));
    }
  };
}
