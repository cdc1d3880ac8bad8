/**
 * One fuzz case, run inside a fuzz worker (fuzz-worker.ts): a fresh process
 * of the package's image gets the (mutated) package. The outcome is
 * "refused" (a HotpatchError with a stable code, and the slot table and
 * memory exactly as before), "applied" (every slot the manifest names holds
 * new code, no other slot moved, and a revert restores table and memory
 * exactly), "partial" (anything else the table or memory shows), or "crash"
 * (an exception without a stable code).
 *
 * Stages reached, in order: parser, signature, manifest, codePage, compile,
 * linker, swap, applied (the checks stage.ts and linking.ts run, replayed
 * step by step to see how far a case gets).
 *
 * Worker contract: imports nothing that reaches binaryen.
 */
import { isHotpatchError } from "../errors.ts";
import type { LinkMap } from "../image/index.ts";
import { PatchLoader, stagePatch } from "../loader/index.ts";
import { decodePackage, type TrustStore, validateManifest, verifyPackage } from "../patch/index.ts";
import { GuestProcess } from "../process/index.ts";

export const STAGES = ["parser", "signature", "manifest", "codePage", "compile", "linker", "swap", "applied"] as const;
export type Stage = (typeof STAGES)[number];

export interface CaseResult {
  outcome: "refused" | "applied" | "partial" | "crash";
  /** The furthest stage reached. */
  stage: Stage;
  code?: string;
  detail?: string;
}

export interface FuzzTarget {
  module: WebAssembly.Module;
  linkMap: LinkMap;
}

export function runCase(target: FuzzTarget, bytes: Uint8Array, trust: TrustStore): CaseResult {
  const process = GuestProcess.start(target);
  const loader = new PatchLoader(process);
  const before = { entries: process.slotEntries(), state: JSON.stringify(process.state()) };
  let stage: Stage = "parser";
  const unchanged = (): string | undefined => {
    const entries = process.slotEntries();
    const moved = entries.map((e, slot) => (e === before.entries[slot] ? -1 : slot)).filter((s) => s >= 0);
    if (moved.length > 0) return `slots ${moved.join(", ")} changed`;
    if (JSON.stringify(process.state()) !== before.state) return "memory or globals changed";
    if (loader.installed().length > 0) return "the loader recorded a patch";
    return undefined;
  };
  try {
    const decoded = decodePackage(bytes);
    stage = "signature";
    verifyPackage(decoded, trust);
    stage = "manifest";
    validateManifest(decoded.manifest);
    stage = "codePage";
    let staged: ReturnType<typeof stagePatch>;
    try {
      staged = stagePatch(bytes, trust);
    } catch (error) {
      if (isHotpatchError(error) && error.code === "E_COMPILE") stage = "compile";
      throw error;
    }
    stage = "linker";
    const prepared = loader.prepare(staged);
    stage = "swap";
    loader.commit(prepared);
    stage = "applied";
    // Applied: exactly the manifest's slots hold new entries.
    const slots = new Set(staged.manifest.functions.map((f) => f.slot));
    const entries = process.slotEntries();
    const moved = entries.map((e, slot) => (e === before.entries[slot] ? -1 : slot)).filter((s) => s >= 0);
    const wrong = [...moved.filter((s) => !slots.has(s)), ...[...slots].filter((s) => entries[s] === before.entries[s] && before.entries[s] !== null)];
    if (wrong.length > 0) return { outcome: "partial", stage, detail: `applied, but slots ${wrong.join(", ")} are not as the manifest says` };
    loader.revert(staged.id);
    const left = unchanged();
    if (left) return { outcome: "partial", stage, detail: `the revert did not restore the process: ${left}` };
    return { outcome: "applied", stage };
  } catch (error) {
    if (!isHotpatchError(error)) {
      return { outcome: "crash", stage, detail: `exception without a stable code: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` };
    }
    const left = unchanged();
    if (left) return { outcome: "partial", stage, code: error.code, detail: `refused with ${error.code}, but ${left}` };
    return { outcome: "refused", stage, code: error.code };
  }
}
