/**
 * The host imports a guest process gets: the usual AssemblyScript ones
 * (`env.abort`, `env.trace`, `env.seed`) and `env.safepoint`, which a
 * long-running guest request calls inside its loop (a no-op unless hooked). A module that imports anything else
 * cannot run here and is refused with E_LINK naming the import.
 */
import { HotpatchError } from "../errors.ts";

export interface HostOptions {
  /** Value returned by `env.seed` (AssemblyScript seeds Math.random with it). Fixed for determinism. */
  seed?: number;
  /** Receives `trace(...)` output of the guest; ignored by default. */
  trace?: (message: string, values: number[]) => void;
  /**
   * Runs when the guest calls `env.safepoint()`, with guest frames on the
   * stack: the worker runs pending transitions here (engine/worker/worker-main.ts).
   */
  safepoint?: () => void;
}

export const DEFAULT_SEED = 0x5eed;

/** Reads an AssemblyScript string (UTF-16LE, byte length in the word before it). */
export function readAsString(memory: WebAssembly.Memory | undefined, pointer: number): string {
  if (!memory || pointer <= 4 || pointer >= memory.buffer.byteLength) return "";
  const view = new DataView(memory.buffer);
  const byteLength = view.getUint32(pointer - 4, true);
  if (pointer + byteLength > memory.buffer.byteLength) return "";
  return Buffer.from(memory.buffer, pointer, byteLength).toString("utf16le");
}

/**
 * Builds the `env` namespace. `memory` is looked up lazily: abort can run
 * during instantiation, before the instance (and its memory) is returned.
 */
export function hostImports(options: HostOptions, memory: () => WebAssembly.Memory | undefined): WebAssembly.Imports {
  return {
    env: {
      abort(message: number, file: number, line: number, column: number) {
        const text = readAsString(memory(), message) || "abort";
        const where = readAsString(memory(), file);
        throw new HotpatchError("E_GUEST_ABORT", `${text}${where ? ` at ${where}:${line}:${column}` : ""}`);
      },
      trace(message: number, count: number, ...values: number[]) {
        options.trace?.(readAsString(memory(), message), values.slice(0, count));
      },
      seed() {
        return options.seed ?? DEFAULT_SEED;
      },
      safepoint() {
        options.safepoint?.();
      },
    },
  };
}

/** Refuses modules whose imports the host cannot satisfy. */
export function checkImportsSatisfiable(module: WebAssembly.Module, imports: WebAssembly.Imports, name: string): void {
  for (const imp of WebAssembly.Module.imports(module)) {
    const namespace = imports[imp.module] as Record<string, unknown> | undefined;
    if (!namespace || !(imp.name in namespace)) {
      throw new HotpatchError("E_LINK", `the module imports ${imp.module}.${imp.name} (${imp.kind}), which this host does not provide`, {
        path: name,
      });
    }
  }
}
