/**
 * Staging a patch: everything that can be checked without the running
 * process — container format, signature against trusted keys, manifest
 * fields, the code page's shape and export signatures — and compilation.
 * Like kpatch's "load" step, it can run ahead of time; `enable` (loader.ts)
 * then only links and swaps.
 *
 * Checks run in this order and stop at the first failure, each with its own
 * code: E_FORMAT (container) → E_UNTRUSTED_KEY / E_SIGNATURE → E_FORMAT
 * (manifest) → E_FORMAT (code page shape) → E_SLOT_SIGNATURE (exports) →
 * E_COMPILE.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/plan.ts";
import { decodePackage, type PatchManifest, validateManifest, verifyPackage } from "../patch/format.ts";
import type { TrustStore } from "../patch/keys.ts";
import { exportedFunctionSignature, formatSignature, type ModuleSummary, readModuleSummary } from "../wasm/sections.ts";

export interface StagedPatch {
  id: string;
  manifest: PatchManifest;
  code: WebAssembly.Module;
  /** The code page's imports, for the link check. */
  imports: ModuleSummary["imports"];
  keyId: string;
  packageBytes: Uint8Array;
}

export interface StageOptions {
  /** Skip the signature check (benchmarks measure its cost apart). Never used by the CLI. */
  skipSignature?: boolean;
}

export function stagePatch(bytes: Uint8Array, trust: TrustStore, options: StageOptions = {}): StagedPatch {
  const { decoded, manifest, summary } = checkPackage(bytes, trust, options);
  let code: WebAssembly.Module;
  try {
    code = new WebAssembly.Module(decoded.code);
  } catch (error) {
    throw new HotpatchError("E_COMPILE", `the code page does not compile: ${(error as Error).message}`, { patch: manifest.id });
  }
  return { id: manifest.id, manifest, code, imports: summary.imports, keyId: decoded.keyId, packageBytes: bytes };
}

export async function stagePatchAsync(bytes: Uint8Array, trust: TrustStore, options: StageOptions = {}): Promise<StagedPatch> {
  const { decoded, manifest, summary } = checkPackage(bytes, trust, options);
  let code: WebAssembly.Module;
  try {
    code = await WebAssembly.compile(decoded.code);
  } catch (error) {
    throw new HotpatchError("E_COMPILE", `the code page does not compile: ${(error as Error).message}`, { patch: manifest.id });
  }
  return { id: manifest.id, manifest, code, imports: summary.imports, keyId: decoded.keyId, packageBytes: bytes };
}

function checkPackage(bytes: Uint8Array, trust: TrustStore, options: StageOptions) {
  faults.hit("package.read");
  const decoded = decodePackage(bytes);
  faults.hit("signature.verify");
  if (!options.skipSignature) verifyPackage(decoded, trust);
  const manifest = validateManifest(decoded.manifest);
  const summary = readModuleSummary(decoded.code, { patch: manifest.id });
  checkCodePageShape(summary, manifest);
  faults.hit("compile", { patch: manifest.id });
  return { decoded, manifest, summary };
}

/** A code page may only bring functions: anything that would write into the process at instantiation is refused. */
function checkCodePageShape(summary: ModuleSummary, manifest: PatchManifest): void {
  const refuse = (what: string) => {
    throw new HotpatchError("E_FORMAT", `the code page ${what}; a code page may only define functions`, { patch: manifest.id });
  };
  if (summary.hasStart) refuse("has a start function");
  if (summary.dataSegmentCount > 0) refuse(`has ${summary.dataSegmentCount} data segment(s)`);
  if (summary.elementSegmentCount > 0) refuse(`has ${summary.elementSegmentCount} element segment(s)`);
  if (summary.definedMemoryCount > 0) refuse("defines its own memory");
  if (summary.definedTableCount > 0) refuse("defines its own table");
  for (const fn of manifest.functions) {
    const signature = exportedFunctionSignature(summary, fn.export);
    if (!signature) {
      throw new HotpatchError("E_FORMAT", `the code page does not export ${fn.export}`, { patch: manifest.id, function: fn.key });
    }
    const actual = formatSignature(signature);
    if (actual !== fn.signature) {
      throw new HotpatchError("E_SLOT_SIGNATURE", `the replacement has signature ${actual} but the manifest declares ${fn.signature}`, {
        patch: manifest.id,
        function: fn.key,
      });
    }
  }
}
