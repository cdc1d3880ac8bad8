/**
 * Azure regions the fleet model knows, with their region pairs (Microsoft's
 * published cross-region replication pairs; only symmetric pairs are listed:
 * a region whose pair does not name it back, such as westus3 → eastus, is left
 * out). Paired regions are never patched at the same time (plan.ts).
 */
import { HotpatchError } from "../errors.ts";

export const REGION_PAIRS: readonly (readonly [string, string])[] = [
  ["eastus", "westus"],
  ["eastus2", "centralus"],
  ["northcentralus", "southcentralus"],
  ["westus2", "westcentralus"],
  ["canadacentral", "canadaeast"],
  ["northeurope", "westeurope"],
  ["uksouth", "ukwest"],
  ["francecentral", "francesouth"],
  ["germanywestcentral", "germanynorth"],
  ["swedencentral", "swedensouth"],
  ["switzerlandnorth", "switzerlandwest"],
  ["norwayeast", "norwaywest"],
  ["japaneast", "japanwest"],
  ["koreacentral", "koreasouth"],
  ["southeastasia", "eastasia"],
  ["australiaeast", "australiasoutheast"],
  ["centralindia", "southindia"],
  ["southafricanorth", "southafricawest"],
  ["uaenorth", "uaecentral"],
];

const PAIR = new Map(REGION_PAIRS.flatMap(([a, b]) => [[a, b] as const, [b, a] as const]));

/** The region's pair; E_USAGE for a region the table does not have. */
export function pairOf(region: string): string {
  const pair = PAIR.get(region);
  if (pair === undefined) throw new HotpatchError("E_USAGE", `unknown region "${region}" (known: ${[...PAIR.keys()].sort().join(", ")})`);
  return pair;
}
