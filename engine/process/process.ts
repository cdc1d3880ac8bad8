/**
 * A running guest process: one instance of an image, in the calling thread.
 *
 * It owns the instance and gives typed access to it — calls, memory, globals,
 * the request protocol of request-serving guests — and a view of its state
 * for inspection. It knows nothing about patches: the loader swaps entries of
 * `slots` and uses `codePageImports` to link code pages against this
 * instance. A worker-thread process hosts the same class inside a worker.
 */
import * as loader from "@assemblyscript/loader";
import { createHash } from "node:crypto";
import { HotpatchError, isHotpatchError } from "../errors.ts";
import type { LinkMap } from "../image/index.ts";
import { checkImportsSatisfiable, type HostOptions, hostImports, readAsString } from "./host.ts";

export interface RunnableImage {
  module: Uint8Array | WebAssembly.Module;
  linkMap: LinkMap;
}

export type CallResultKind = "number" | "bigint" | "string" | "void";

/** What `state()` reports: enough to prove a process unchanged or continued. */
export interface ProcessState {
  buildId: string;
  memoryBytes: number;
  memoryDigest: string;
  /** Values of every global of the image, by key (i64 values as decimal strings). */
  globals: Record<string, number | string>;
}

type Exports = Record<string, unknown>;

export class GuestProcess {
  readonly linkMap: LinkMap;
  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly slots: WebAssembly.Table;
  readonly memory: WebAssembly.Memory | undefined;
  /** Imports that a code page of this image links against (see engine/wasm/codepage.ts). */
  readonly codePageImports: WebAssembly.Imports;
  private readonly exportsRaw: Exports;
  private readonly runtime: { __getString?: (ptr: number) => string };

  private constructor(image: RunnableImage, options: HostOptions) {
    this.linkMap = image.linkMap;
    this.module = image.module instanceof WebAssembly.Module ? image.module : compileImage(image.module, image.linkMap);
    let memory: WebAssembly.Memory | undefined;
    const env = hostImports(options, () => memory);
    checkImportsSatisfiable(this.module, env, image.linkMap.source.name);
    let result: { instance: WebAssembly.Instance; exports: Exports };
    try {
      result = loader.instantiateSync(this.module, env) as unknown as typeof result;
    } catch (error) {
      throw guestError(error, "start");
    }
    this.instance = result.instance;
    this.exportsRaw = result.instance.exports as Exports;
    this.runtime = result.exports as { __getString?: (ptr: number) => string };
    const slotTable = this.exportsRaw[image.linkMap.slots.table];
    if (!(slotTable instanceof WebAssembly.Table)) {
      throw new HotpatchError("E_FORMAT", "the image does not export its slot table: it is not a hotpatch-enabled image", {
        path: image.linkMap.source.name,
      });
    }
    this.slots = slotTable;
    const memoryExport = image.linkMap.memory.export;
    memory = memoryExport ? (this.exportsRaw[memoryExport] as WebAssembly.Memory) : undefined;
    this.memory = memory;
    this.codePageImports = { ...env, hotpatch: hotpatchNamespace(this.exportsRaw) };
  }

  /** Instantiates the image; its start function runs now. */
  static start(image: RunnableImage, options: HostOptions = {}): GuestProcess {
    return new GuestProcess(image, options);
  }

  get buildId(): string {
    return this.linkMap.buildId;
  }

  /** Calls an exported function. i64 arguments and results are BigInts. */
  call(name: string, args: (number | bigint)[] = [], returns: CallResultKind = "number"): number | bigint | string | undefined {
    const fn = this.exportsRaw[name];
    if (typeof fn !== "function") {
      throw new HotpatchError("E_NO_EXPORT", `the process exports no function named ${name}`, { function: name });
    }
    let value: unknown;
    try {
      value = (fn as (...a: unknown[]) => unknown)(...args);
    } catch (error) {
      throw guestError(error, name);
    }
    switch (returns) {
      case "void":
        return undefined;
      case "string":
        return this.readString(Number(value));
      case "bigint":
        return typeof value === "bigint" ? value : BigInt(value as number);
      default:
        return typeof value === "bigint" ? Number(value) : (value as number);
    }
  }

  readString(pointer: number): string {
    return this.runtime.__getString ? this.runtime.__getString(pointer) : readAsString(this.memory, pointer);
  }

  /** The value of an exported global, e.g. `input` — often an address. */
  exportedGlobal(name: string): number | bigint {
    const global = this.exportsRaw[name];
    if (!(global instanceof WebAssembly.Global)) {
      throw new HotpatchError("E_NO_EXPORT", `the process exports no global named ${name}`);
    }
    return global.value as number | bigint;
  }

  read(address: number, length: number): Uint8Array {
    this.checkRange(address, length);
    return new Uint8Array(this.memory!.buffer, address, length).slice();
  }

  write(address: number, bytes: Uint8Array): void {
    this.checkRange(address, bytes.length);
    new Uint8Array(this.memory!.buffer, address, bytes.length).set(bytes);
  }

  /** Zeroes `length` bytes at `address` in place (no buffer of zeros is allocated: a revert's switch calls it). */
  zero(address: number, length: number): void {
    this.checkRange(address, length);
    new Uint8Array(this.memory!.buffer, address, length).fill(0);
  }

  /**
   * The request protocol of request-serving guests: the request goes into the
   * buffer at global `input`, `handle(len)` returns the response length, and
   * the response is read from the buffer at global `output`.
   */
  request(bytes: Uint8Array): Uint8Array {
    const input = Number(this.exportedGlobal("input"));
    const output = Number(this.exportedGlobal("output"));
    this.write(input, bytes);
    const length = this.call("handle", [bytes.length]) as number;
    return this.read(output, length);
  }

  memoryDigest(): string {
    if (!this.memory) return "";
    return createHash("sha256").update(new Uint8Array(this.memory.buffer)).digest("hex");
  }

  state(): ProcessState {
    const globals: Record<string, number | string> = {};
    for (const g of this.linkMap.globals) {
      const value = (this.exportsRaw[g.export] as WebAssembly.Global).value as number | bigint;
      globals[g.key] = typeof value === "bigint" ? value.toString() : value;
    }
    return {
      buildId: this.buildId,
      memoryBytes: this.memory?.buffer.byteLength ?? 0,
      memoryDigest: this.memoryDigest(),
      globals,
    };
  }

  /** The current entries of the slot table (compare with `===` to prove nothing moved). */
  slotEntries(): unknown[] {
    const entries: unknown[] = [];
    for (let i = 0; i < this.slots.length; i++) entries.push(this.slots.get(i));
    return entries;
  }

  private checkRange(address: number, length: number): void {
    const size = this.memory?.buffer.byteLength ?? 0;
    if (!Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 || address + length > size) {
      throw new HotpatchError("E_BAD_ADDRESS", `range ${address}+${length} lies outside the process's ${size}-byte memory`);
    }
  }
}

export function compileImage(module: Uint8Array, linkMap: LinkMap): WebAssembly.Module {
  try {
    return new WebAssembly.Module(module as BufferSource);
  } catch (error) {
    throw new HotpatchError("E_FORMAT", `the image does not compile: ${(error as Error).message}`, { path: linkMap.source.name });
  }
}

/** Everything the image exports under `hotpatch:` becomes the code pages' `hotpatch` import namespace. */
function hotpatchNamespace(exports: Exports): WebAssembly.ModuleImports {
  const namespace: WebAssembly.ModuleImports = {};
  for (const [name, value] of Object.entries(exports)) {
    if (name.startsWith("hotpatch:")) namespace[name.slice("hotpatch:".length)] = value as WebAssembly.ImportValue;
  }
  return namespace;
}

function guestError(error: unknown, fn: string): HotpatchError {
  if (isHotpatchError(error)) {
    return error.context.function ? error : new HotpatchError(error.code, stripCode(error.message), { ...error.context, function: fn });
  }
  if (error instanceof WebAssembly.RuntimeError) {
    return new HotpatchError("E_GUEST_TRAP", error.message, { function: fn });
  }
  if (error instanceof RangeError) {
    // V8 reports guest stack exhaustion as a RangeError.
    return new HotpatchError("E_GUEST_TRAP", error.message, { function: fn });
  }
  throw error;
}

function stripCode(message: string): string {
  return message.replace(/^E_[A-Z_]+: /, "");
}
