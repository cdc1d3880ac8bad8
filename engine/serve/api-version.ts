/**
 * The api-versions each resource provider of the emulator answers, and ARM's
 * 400s for a request without one or with one it does not know.
 *
 * The Compute versions include the one @azure/arm-compute 24.x sends
 * (2026-03-01) and the 2024-11-01 stable line; the shapes the emulator
 * returns are the same for all of them (the patching fields did not change).
 */
import { ArmError } from "./arm-error.ts";

export const API_VERSIONS = {
  "Microsoft.Compute": ["2024-07-01", "2024-11-01", "2025-04-01", "2026-03-01"],
  "Microsoft.Resources": ["2021-04-01", "2022-09-01", "2024-03-01", "2024-11-01", "2025-04-01"],
  /** 2023-04-01 is the stable line of maintenance configurations; the previews carry the same shapes. */
  "Microsoft.Maintenance": ["2023-04-01", "2023-09-01-preview", "2023-10-01-preview"],
  /**
   * Arc-enabled servers and their license profiles: 2024-07-10 and 2025-01-13 are the stable
   * lines of azure-rest-api-specs (2025-01-13 the latest stable license profile, whose shapes
   * arc-resource.ts follows); the emulator answers the same shapes for both.
   */
  "Microsoft.HybridCompute": ["2024-07-10", "2025-01-13"],
  /** The emulator's own endpoints (/hotpatch/…) need none. */
} as const;

export type Provider = keyof typeof API_VERSIONS;

/** Throws ARM's 400 unless `apiVersion` is one `provider` answers for `resourceType`. */
export function checkApiVersion(provider: Provider, resourceType: string, apiVersion: unknown): void {
  if (apiVersion === undefined || apiVersion === "") {
    throw new ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
  }
  const versions: readonly string[] = API_VERSIONS[provider];
  if (typeof apiVersion !== "string" || !versions.includes(apiVersion)) {
    throw new ArmError(
      400,
      "NoRegisteredProviderFound",
      `No registered resource provider found for location 'global' and API version '${String(apiVersion)}' for type '${resourceType}'. ` +
        `The supported api-versions are '${versions.join(", ")}'.`,
    );
  }
}
