/**
 * The Azure SDK against `hotpatch serve`: create a hotpatch VM, assess it,
 * install its hotpatch live, read its patch status — the calls an Azure
 * patch-orchestration script makes, unchanged but for the endpoint.
 *
 *   npx hotpatch serve --now 2026-02-20T12:00:00Z &     # prints https://127.0.0.1:8443
 *   NODE_EXTRA_CA_CERTS=.hotpatch/serve-cert.pem HOTPATCH_TOKEN=$(npx hotpatch token) \
 *     npx tsx examples/sdk-install-hotpatch.ts https://127.0.0.1:8443
 *
 * The token comes from `hotpatch token` (the emulator checks its audience and
 * lifetime, not a signature); the certificate is the server's self-signed one.
 * test/sdk-example-runs-against-the-server.test.ts runs this file.
 */
import { ComputeManagementClient } from "@azure/arm-compute";
import { ResourceManagementClient } from "@azure/arm-resources";

const endpoint = process.argv[2] ?? "https://127.0.0.1:8443";
const token = process.env.HOTPATCH_TOKEN;
if (!token) throw new Error("set HOTPATCH_TOKEN=$(npx hotpatch token)");
const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) };
const subscription = "00000000-0000-0000-0000-000000000000";
const compute = new ComputeManagementClient(credential, subscription, { endpoint });
const resources = new ResourceManagementClient(credential, subscription, { endpoint, $host: endpoint });
const poll = { updateIntervalInMs: 100 };

/** The guest's request counter, from the emulator's processes endpoint (not ARM). */
async function requestsServed(vm: string): Promise<number> {
  const answer = await fetch(`${endpoint}/hotpatch/vms/${vm}/processes`, { headers: { authorization: `Bearer ${token}` } });
  const view = (await answer.json()) as { processes: { requests: number }[] };
  return view.processes.reduce((sum, p) => sum + p.requests, 0);
}

await resources.resourceGroups.createOrUpdate("demo", { location: "eastus" });
const vm = await compute.virtualMachines.createOrUpdate(
  "demo",
  "web01",
  {
    location: "eastus",
    storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" } },
    osProfile: {
      computerName: "web01",
      adminUsername: "azureuser",
      adminPassword: "not-stored-anywhere-1!",
      windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode: "AutomaticByPlatform", enableHotpatching: true } },
    },
  },
  poll,
);
console.log(`created ${vm.name}: ${vm.storageProfile?.imageReference?.sku} ${vm.storageProfile?.imageReference?.exactVersion}, hotpatch ${vm.osProfile?.windowsConfiguration?.patchSettings?.enableHotpatching}`);

const assessment = await compute.virtualMachines.assessPatches("demo", "web01", poll);
console.log(`assessPatches: ${assessment.status}, ${assessment.criticalAndSecurityPatchCount} critical/security, ${assessment.otherPatchCount} other`);
for (const p of assessment.availablePatches ?? []) console.log(`  ${p.kbId}  ${p.classifications?.join(",")}  ${p.rebootBehavior}  ${p.name}`);

const before = await requestsServed("web01");
const install = await compute.virtualMachines.installPatches(
  "demo",
  "web01",
  { maximumDuration: "PT1H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: true } },
  poll,
);
console.log(`installPatches: ${install.status}, ${install.installedPatchCount} installed, ${install.excludedPatchCount} excluded, reboot ${install.rebootStatus}`);
for (const p of install.patches ?? []) console.log(`  ${p.kbId}  ${p.installationState}`);
const after = await requestsServed("web01");
console.log(`requests served by the guest: ${before} before the install, ${after} after (no restart)`);

const view = await compute.virtualMachines.instanceView("demo", "web01");
const summary = view.patchStatus?.lastPatchInstallationSummary;
console.log(`instanceView: OS build ${view.osVersion}, last installation ${summary?.status} (${summary?.installedPatchCount} installed)`);
await compute.virtualMachines.delete("demo", "web01", poll);
