/**
 * Which images and deployments can run Hotpatch.
 *
 * Contracts:
 * - Hotpatch is supported only on these image combinations: publisher
 *   MicrosoftWindowsServer, offer WindowsServer, and one of the Windows
 *   Server 2022 SKUs (HOTPATCH_SKUS) or the Windows Server 2025 SKUs
 *   (HOTPATCH_SKUS_2025: Datacenter: Azure Edition, Desktop Experience and
 *   Core, each also smalldisk). Names compare without regard to letter case
 *   (as Azure does); any version. A refusal lists the SKUs of both.
 * - Container base images and custom images are never supported.
 * - Hotpatch is on by default on the `-core` SKUs of both generations (the
 *   image enables it) and selected by default in the portal on the others
 *   (2022's two `-hotpatch` SKUs, 2025's two Desktop Experience SKUs), as
 *   for 2022; Microsoft's Windows Server 2025 hotpatch documentation gives
 *   no other default, so this emulator keeps 2022's split.
 * - On Azure, hotpatch needs the patch mode AutomaticByPlatform.
 * - On an Arc-enabled server (host "arc") the image must instead be Windows
 *   Server 2025 Standard or Datacenter (arc.ts `arcImageReasons`: Azure
 *   Edition SKUs and other generations are refused); no patch mode is
 *   required, and hotpatch is never on by default (a machine enrols through
 *   its license profile). The machine's own prerequisites (VBS, OS build)
 *   and the enrolment's evaluation are arc.ts's.
 * - Scale sets with Uniform orchestration cannot be created on these images
 *   with Hotpatch enabled; Flexible orchestration can.
 * - `check*` functions return a verdict with reasons in plain words; bad input
 *   (unknown host, orchestration, malformed image reference) throws E_USAGE.
 */
import { HotpatchError } from "../errors.ts";
import { arcImageReasons } from "./arc.ts";
import { type Host, parseHost } from "./host.ts";
import type { PatchMode } from "./patch-mode.ts";

export type { Host } from "./host.ts";
export {
  isAvailabilityFirst,
  orchestrationSource,
  POLICY_SOURCES,
  type PolicySource,
  parsePolicySource,
  validateHotpatchPatchMode,
  validatePatchModeChange,
} from "./patch-mode.ts";

export const HOTPATCH_PUBLISHER = "MicrosoftWindowsServer";
export const HOTPATCH_OFFER = "WindowsServer";

/** The four supported SKUs; the `-core` ones enable hotpatch in the image itself. */
export const HOTPATCH_SKUS = [
  "2022-datacenter-azure-edition-core",
  "2022-datacenter-azure-edition-core-smalldisk",
  "2022-datacenter-azure-edition-hotpatch",
  "2022-datacenter-azure-edition-hotpatch-smalldisk",
] as const;

/** The four Windows Server 2025 SKUs; again the `-core` ones enable hotpatch in the image. */
export const HOTPATCH_SKUS_2025 = [
  "2025-datacenter-azure-edition",
  "2025-datacenter-azure-edition-smalldisk",
  "2025-datacenter-azure-edition-core",
  "2025-datacenter-azure-edition-core-smalldisk",
] as const;

/** Every SKU that supports hotpatch, 2022's first. */
export const ALL_HOTPATCH_SKUS: readonly string[] = [...HOTPATCH_SKUS, ...HOTPATCH_SKUS_2025];

/** A marketplace image: `publisher:offer:sku[:version]`. */
export interface ImageReference {
  publisher: string;
  offer: string;
  sku: string;
  /** "latest" when the reference names none. */
  version: string;
}

export interface EligibilityOptions {
  host: Host;
  containerBaseImage?: boolean;
  customImage?: boolean;
  /** Checked on Azure only (must be AutomaticByPlatform); ignored on Azure Stack HCI. */
  patchMode?: PatchMode;
}

export interface Eligibility {
  eligible: boolean;
  /** Why the image is not eligible; empty when it is. */
  reasons: string[];
  /** Hotpatch is on (or preselected) by default for this image; false when not eligible. */
  hotpatchDefault: boolean;
  /** How it is on by default: enabled in the image (core SKUs) or preselected in the portal (hotpatch SKUs). */
  defaultBy: "image" | "portal" | null;
}

export type Orchestration = "Uniform" | "Flexible";

export interface ScaleSetVerdict {
  allowed: boolean;
  reasons: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `publisher:offer:sku[:version]`; each part non-empty, made of letters, digits, `.`, `_`, `-`. */
export function parseImageReference(urn: string): ImageReference {
  const parts = urn.split(":");
  if (parts.length < 3 || parts.length > 4 || parts.some((p) => !NAME.test(p))) {
    throw new HotpatchError(
      "E_USAGE",
      `"${urn}" is not an image reference (expected publisher:offer:sku[:version], e.g. ` +
        `${HOTPATCH_PUBLISHER}:${HOTPATCH_OFFER}:${HOTPATCH_SKUS[0]}:latest)`,
    );
  }
  const [publisher, offer, sku, version = "latest"] = parts;
  return { publisher, offer, sku, version };
}

/** Formats an image reference as `publisher:offer:sku:version`. */
export function formatImageReference(image: ImageReference): string {
  return `${image.publisher}:${image.offer}:${image.sku}:${image.version}`;
}

/** Whether the image can run Hotpatch on the host, and why not. */
export function checkHotpatchEligibility(image: ImageReference | string, options: EligibilityOptions): Eligibility {
  const ref = typeof image === "string" ? parseImageReference(image) : image;
  const host = parseHost(options.host);
  const reasons: string[] = [];
  if (options.containerBaseImage === true) {
    reasons.push("container base images are not supported for hotpatch");
  }
  if (options.customImage === true) {
    reasons.push("custom images are not supported for hotpatch; use a marketplace Azure Edition image");
  }
  if (!same(ref.publisher, HOTPATCH_PUBLISHER)) {
    reasons.push(`the publisher is ${ref.publisher}, but hotpatch images are published by ${HOTPATCH_PUBLISHER}`);
  }
  if (!same(ref.offer, HOTPATCH_OFFER)) {
    reasons.push(`the offer is ${ref.offer}, but hotpatch needs the ${HOTPATCH_OFFER} offer`);
  }
  if (host === "arc") {
    reasons.push(...arcImageReasons(ref.sku));
    return { eligible: reasons.length === 0, reasons, hotpatchDefault: false, defaultBy: null };
  }
  const sku = ALL_HOTPATCH_SKUS.find((s) => same(s, ref.sku));
  if (sku === undefined) {
    reasons.push(
      `the SKU ${ref.sku} does not support hotpatch (supported: Windows Server 2022 ${HOTPATCH_SKUS.join(", ")}; Windows Server 2025 ${HOTPATCH_SKUS_2025.join(", ")})`,
    );
  }
  if (host === "azure" && options.patchMode !== undefined && options.patchMode !== "AutomaticByPlatform") {
    reasons.push(`the patch mode is ${options.patchMode}, but hotpatch on Azure requires AutomaticByPlatform`);
  }
  const eligible = reasons.length === 0;
  const defaultBy = !eligible || sku === undefined ? null : sku.includes("-core") ? "image" : "portal";
  return { eligible, reasons, hotpatchDefault: defaultBy !== null, defaultBy };
}

/**
 * Whether a scale set may be created. With `hotpatch` on, the image must be
 * eligible (on Azure) and the orchestration must be Flexible. With `hotpatch`
 * off, any image and orchestration are allowed.
 */
export function checkScaleSet(options: {
  orchestration: Orchestration;
  image: ImageReference | string;
  hotpatch: boolean;
}): ScaleSetVerdict {
  if (options.orchestration !== "Uniform" && options.orchestration !== "Flexible") {
    throw new HotpatchError(
      "E_USAGE",
      `unknown scale set orchestration "${options.orchestration}" (expected Uniform or Flexible)`,
    );
  }
  const image = typeof options.image === "string" ? parseImageReference(options.image) : options.image;
  if (!options.hotpatch) return { allowed: true, reasons: [] };
  const reasons = [...checkHotpatchEligibility(image, { host: "azure" }).reasons];
  if (options.orchestration === "Uniform") {
    reasons.push(
      "scale sets with Uniform orchestration cannot be created on Azure Edition images with Hotpatch enabled; use Flexible orchestration",
    );
  }
  return { allowed: reasons.length === 0, reasons };
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
