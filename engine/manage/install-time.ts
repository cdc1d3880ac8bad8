/**
 * The emulated time an update takes, so maintenance windows can really be
 * exceeded. Documented in docs/update-management.md ("Install time model"); the real work
 * (applying a package, restarting processes) is also measured, separately.
 *
 * - hotpatch: HOTPATCH_BASE_MINUTES plus one second per KiB of package;
 * - baseline or cumulative update (a new image): IMAGE_BASE_MINUTES plus
 *   one second per KiB of image;
 * - other reboot-requiring update (.NET, drivers): OTHER_MINUTES;
 * - each reboot: REBOOT_MINUTES of downtime.
 */
import type { UpdateKind } from "./classification.ts";

export const HOTPATCH_BASE_MINUTES = 2;
export const IMAGE_BASE_MINUTES = 20;
export const OTHER_MINUTES = 12;
export const REBOOT_MINUTES = 8;

const MINUTE = 60_000;

/** Emulated install time in milliseconds; `bytes` is the package or image size (0 when none). */
export function installMillis(kind: UpdateKind, hasImage: boolean, bytes: number): number {
  const perKiB = Math.ceil(bytes / 1024) * 1000;
  if (kind === "hotpatch") return HOTPATCH_BASE_MINUTES * MINUTE + perKiB;
  if (hasImage) return IMAGE_BASE_MINUTES * MINUTE + perKiB;
  return OTHER_MINUTES * MINUTE;
}

export const REBOOT_MILLIS = REBOOT_MINUTES * MINUTE;
