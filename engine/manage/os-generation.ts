/**
 * The Windows Server generations the emulator runs, and what differs between
 * their release lines.
 *
 * Contracts:
 * - A generation is "2022" (Windows Server 2022 Datacenter: Azure Edition,
 *   build line 20348.x) or "2025" (Windows Server 2025 Datacenter: Azure
 *   Edition, build line 26100.x). Anything else is refused with E_USAGE.
 * - A VM's generation is derived from its image: a SKU starting with "2025-"
 *   is 2025, every other SKU is 2022 (the VM record keeps only the image).
 * - Per generation (calendar.ts applies them):
 *   - synthetic build rule: N = anchor + 50 x (months since the anchor month);
 *     2022 is anchored at 2024-09 = 20348.2700, 2025 at 2025-01 = 26100.2894
 *     (the real January 2025 baseline), so N stays below 65536 up to 2099;
 *   - synthetic KB rule: "KB5" + YY + MM + two digits, the OS release
 *     ending in `os` and the .NET update in `dotnet`: 00 / 10 for 2022 (as
 *     before), 50 / 60 for 2025, so the two lines never share a KB number.
 */
import { HotpatchError } from "../errors.ts";

export type OsGeneration = "2022" | "2025";

export const OS_GENERATIONS: readonly OsGeneration[] = ["2022", "2025"];
export const DEFAULT_OS: OsGeneration = "2022";

export interface OsLine {
  os: OsGeneration;
  /** "Windows Server 2025". */
  product: string;
  /** "Windows Server 2025 Datacenter: Azure Edition". */
  edition: string;
  buildMajor: number;
  /** Synthetic build rule anchor: the month (year, 1-12) whose N is `minor`. */
  anchor: { year: number; month: number; minor: number };
  buildStep: number;
  /** The last two digits of the synthetic KB numbers. */
  kbSuffix: { os: string; dotnet: string };
}

export const OS_LINES: Readonly<Record<OsGeneration, OsLine>> = {
  "2022": {
    os: "2022",
    product: "Windows Server 2022",
    edition: "Windows Server 2022 Datacenter: Azure Edition",
    buildMajor: 20348,
    anchor: { year: 2024, month: 9, minor: 2700 },
    buildStep: 50,
    kbSuffix: { os: "00", dotnet: "10" },
  },
  "2025": {
    os: "2025",
    product: "Windows Server 2025",
    edition: "Windows Server 2025 Datacenter: Azure Edition",
    buildMajor: 26100,
    anchor: { year: 2025, month: 1, minor: 2894 },
    buildStep: 50,
    kbSuffix: { os: "50", dotnet: "60" },
  },
};

/** Parses "2022" or "2025" (E_USAGE otherwise). */
export function parseOsGeneration(text: string): OsGeneration {
  const os = OS_GENERATIONS.find((g) => g === text.trim());
  if (os === undefined) throw new HotpatchError("E_USAGE", `"${text}" is not a Windows Server generation (expected ${OS_GENERATIONS.join(" or ")})`);
  return os;
}

/** The generation of an image SKU: "2025-…" is 2025, anything else 2022. */
export function osOfSku(sku: string): OsGeneration {
  return sku.toLowerCase().startsWith("2025-") ? "2025" : "2022";
}

/** The generation of an image reference `publisher:offer:sku[:version]`. */
export function osOfImage(image: string): OsGeneration {
  return osOfSku(image.split(":")[2] ?? "");
}
