/**
 * The patch builder: base + target → a signed hotpatch package, or the
 * reasons why the change needs a baseline.
 *
 * Stages: build the base image (or read it) → build the target with the
 * base's slot plan → classify → cut the code page → sign. The target build
 * keeps every known function in its base slot, so the bodies in the code page
 * already call the running process's functions through the right slots.
 */
import type { KeyObject } from "node:crypto";
import { HotpatchError } from "../errors.ts";
import { buildImage, buildImageFromPath, type Image, isImage, keyFunction, loadGuest, slotPlanOf } from "../image/build.ts";
import { encodePackage, type PatchManifest } from "../patch/format.ts";
import { extractCodePage } from "../wasm/codepage.ts";
import { type Classification, classify, type FunctionChange } from "./classify.ts";

export interface PatchBuildRequest {
  /** Base: an AssemblyScript source, a `.wasm`, or an image file (or an image already built). */
  base: string | Image;
  /** Target: an AssemblyScript source or a `.wasm`. */
  target: string;
  id: string;
  title?: string;
  classification?: string;
  key: KeyObject;
}

export type PatchBuildResult =
  | { kind: "hotpatch"; id: string; functions: FunctionChange[]; reasons: []; manifest: PatchManifest; package: Uint8Array; base: Image }
  | { kind: "requires-baseline"; id: string; functions: FunctionChange[]; reasons: string[]; base: Image }
  | { kind: "no-change"; id: string; functions: []; reasons: []; base: Image };

export const codePageExportName = (slot: number) => `fn:${slot}`;

export async function buildPatch(request: PatchBuildRequest): Promise<PatchBuildResult> {
  const base = typeof request.base === "string" ? await buildImageFromPath(request.base) : request.base;
  const guest = await loadGuest(request.target);
  if (isImage(guest)) {
    throw new HotpatchError("E_USAGE", "the target must be a source or a plain .wasm, not an image", { path: request.target, patch: request.id });
  }
  const target = buildImage(guest, slotPlanOf(base.linkMap));
  const { changes, reasons }: Classification = classify(base.linkMap, target.linkMap);
  if (reasons.length > 0) return { kind: "requires-baseline", id: request.id, functions: changes, reasons, base };
  if (changes.length === 0) return { kind: "no-change", id: request.id, functions: [], reasons: [], base };

  const code = extractCodePage(target.module, keyFunction(guest.namePrefix), {
    slots: changes.map((c) => ({ slot: c.slot, export: codePageExportName(c.slot) })),
    globalExports: new Map(base.linkMap.globals.map((g) => [g.key, g.export])),
    tableExports: base.linkMap.tables.map((t) => t.export),
    memoryExport: base.linkMap.memory.export,
  });
  const manifest: PatchManifest = {
    format: 1,
    id: request.id,
    title: request.title ?? `Hotpatch ${request.id} for ${base.linkMap.source.name}`,
    classification: request.classification ?? "Security",
    kind: "hotpatch",
    target: { buildId: base.linkMap.buildId },
    functions: changes.map((c) => ({
      key: c.key,
      slot: c.slot,
      signature: c.signature,
      oldFingerprint: c.oldFingerprint,
      newFingerprint: c.newFingerprint,
      export: codePageExportName(c.slot),
    })),
    helpers: changes.filter((c) => c.change === "new").map((c) => c.key),
  };
  const bytes = encodePackage({ manifest, code }, request.key);
  return { kind: "hotpatch", id: request.id, functions: changes, reasons: [], manifest, package: bytes, base };
}
