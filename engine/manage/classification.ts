/**
 * Update classifications and update kinds.
 *
 * A classification says what an update is for (the Windows Update catalogue's
 * categories); a kind says how it is installed (hot, or with a reboot).
 * Automatic VM guest patching installs only Critical and Security updates.
 *
 * Parsers accept any letter case and return the canonical spelling; anything
 * else is refused with E_USAGE.
 */
import { HotpatchError } from "../errors.ts";

/** Every classification, in catalogue order (the order lists are returned in). */
export const CLASSIFICATIONS = [
  "Critical",
  "Security",
  "UpdateRollup",
  "FeaturePack",
  "ServicePack",
  "Definition",
  "Tools",
  "Updates",
] as const;

export type Classification = (typeof CLASSIFICATIONS)[number];

/** The classifications automatic VM guest patching installs. */
export const AUTO_INSTALL_CLASSIFICATIONS: readonly Classification[] = ["Critical", "Security"];

/**
 * How an update is installed:
 * - `hotpatch`: patched into running processes, no reboot;
 * - `baseline`: the latest cumulative update, reboot required;
 * - `non-hotpatch`: any other update that needs a reboot (non-security Windows
 *   updates, .NET updates, drivers and firmware).
 */
export const UPDATE_KINDS = ["hotpatch", "baseline", "non-hotpatch"] as const;

export type UpdateKind = (typeof UPDATE_KINDS)[number];

/** Parses one classification name, case-insensitively ("security" -> "Security"). */
export function parseClassification(text: string): Classification {
  const wanted = text.trim().toLowerCase();
  const found = CLASSIFICATIONS.find((c) => c.toLowerCase() === wanted);
  if (found === undefined) {
    throw new HotpatchError(
      "E_USAGE",
      `unknown update classification "${text}" (expected one of ${CLASSIFICATIONS.join(", ")})`,
    );
  }
  return found;
}

/**
 * Parses a comma-separated list ("Critical,Security"); spaces around items are
 * ignored. Returns the classifications de-duplicated, in catalogue order.
 * An empty list or an empty item is refused.
 */
export function parseClassificationList(text: string): Classification[] {
  if (text.trim() === "") {
    throw new HotpatchError("E_USAGE", "the classification list is empty");
  }
  const chosen = new Set<Classification>();
  for (const item of text.split(",")) {
    if (item.trim() === "") {
      throw new HotpatchError("E_USAGE", `the classification list "${text}" has an empty item`);
    }
    chosen.add(parseClassification(item));
  }
  return CLASSIFICATIONS.filter((c) => chosen.has(c));
}

/** True only for Critical and Security: the classifications automatic guest patching installs. */
export function isAutoInstallable(classification: Classification): boolean {
  return AUTO_INSTALL_CLASSIFICATIONS.includes(classification);
}

/** Parses an update kind, case-insensitively. */
export function parseUpdateKind(text: string): UpdateKind {
  const wanted = text.trim().toLowerCase();
  const found = UPDATE_KINDS.find((k) => k === wanted);
  if (found === undefined) {
    throw new HotpatchError("E_USAGE", `unknown update kind "${text}" (expected one of ${UPDATE_KINDS.join(", ")})`);
  }
  return found;
}

/** Whether installing an update of this kind needs a reboot: every kind except `hotpatch`. */
export function needsReboot(kind: UpdateKind): boolean {
  return kind !== "hotpatch";
}
