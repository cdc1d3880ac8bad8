/**
 * Where a Windows Server VM runs: in Azure, on Azure Stack HCI (a non-Azure
 * host, whose update orchestration comes from a local policy source), or on
 * a server of its own connected to Azure as an Arc-enabled server ("arc":
 * resource type Microsoft.HybridCompute/machines, patched by Azure Update
 * Manager, hotpatch through the machine's license profile; arc.ts).
 */
import { HotpatchError } from "../errors.ts";

export const HOSTS = ["azure", "azure-stack-hci", "arc"] as const;

export type Host = (typeof HOSTS)[number];

/** Parses a host name, case-insensitively; E_USAGE for anything else. */
export function parseHost(text: string): Host {
  const wanted = text.trim().toLowerCase();
  const found = HOSTS.find((h) => h === wanted);
  if (found === undefined) {
    throw new HotpatchError("E_USAGE", `unknown host "${text}" (expected one of ${HOSTS.join(", ")})`);
  }
  return found;
}
