/**
 * Read-only views of the management plane for the portal (and any client);
 * not ARM: no api-version, the same bearer token or the portal's session.
 * Each is what a CLI verb prints, as JSON:
 * - `GET /hotpatch/images` → the marketplace images the create form offers,
 *   each with its hotpatch eligibility and the reasons when it has none;
 * - `GET /hotpatch/vms/{vm}/updates` → `hotpatch status`: hotpatch status
 *   (and why it is disabled), OS build, baseline, the last assessment's
 *   recommended updates (`pending`: Critical and Security) and the other
 *   classifications (`compliance`) without what was installed since it ran
 *   (listed in `installedSinceAssessment`), the last installation's summary;
 * - `GET /hotpatch/vms/{vm}/history?days=30` → `hotpatch history`;
 * - `GET /hotpatch/vms/{vm}/hotfixes` → `hotpatch get-hotfix` (Get-HotFix's rows);
 * - `GET /hotpatch/schedule?year=YYYY` → the year's releases and every VM's
 *   installs in it; `GET /hotpatch/schedule.svg?year=YYYY` → the calendar as SVG.
 */
import type { FastifyInstance } from "fastify";
import {
  checkHotpatchEligibility,
  getHotFix,
  historyView,
  ALL_HOTPATCH_SKUS,
  listVms,
  releaseSchedule,
  renderScheduleSvg,
  type VmRecord,
  vmStatus,
} from "../../manage/index.ts";
import { ArmError } from "../arm-error.ts";
import { emulatedNow, type ServeContext } from "../context.ts";

/** The images the create form lists: the hotpatch SKUs of 2022 and 2025, then some that cannot run hotpatch. */
const OTHER_SKUS = ["2022-datacenter-azure-edition", "2022-datacenter", "2019-datacenter"];

export function registerEmulatorViewRoutes(app: FastifyInstance, context: ServeContext): void {
  app.get("/hotpatch/images", async () =>
    [...ALL_HOTPATCH_SKUS, ...OTHER_SKUS].map((sku) => {
      const image = `MicrosoftWindowsServer:WindowsServer:${sku}:latest`;
      const verdict = checkHotpatchEligibility(image, { host: "azure" });
      return { image, publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku, hotpatch: { eligible: verdict.eligible, defaultBy: verdict.defaultBy, reasons: verdict.reasons } };
    }),
  );

  app.get<{ Params: { vmName: string } }>("/hotpatch/vms/:vmName/updates", async (request) => {
    const vm = knownVm(context, request.params.vmName);
    const status = vmStatus(context.session, vm.name);
    const installed = new Set(context.session.installedUpdates(vm.name).map((u) => u.kb));
    const notInstalled = (p: { kbId: string }) => !installed.has(p.kbId);
    return {
      ...status,
      pending: status.pending.filter(notInstalled),
      compliance: status.compliance.filter(notInstalled),
      installedSinceAssessment: [...status.pending, ...status.compliance].filter((p) => !notInstalled(p)).map((p) => p.kbId),
      hotpatchDisabledBecause: status.hotpatchStatus === "Enabled" ? [] : vm.host === "arc" ? status.hotpatchReasons : disabledBecause(vm),
    };
  });

  app.get<{ Params: { vmName: string }; Querystring: { days?: string } }>("/hotpatch/vms/:vmName/history", async (request) => {
    const vm = knownVm(context, request.params.vmName);
    const days = request.query.days;
    if (days !== undefined && !/^\d{1,4}$/.test(days)) throw new ArmError(400, "InvalidParameter", `'days' must be a whole number of days from 1 to 3650, not '${String(days).slice(0, 20)}'.`, "days");
    return historyView(context.store, vm.name, emulatedNow(context), days === undefined ? undefined : Number(days));
  });

  app.get<{ Params: { vmName: string } }>("/hotpatch/vms/:vmName/hotfixes", async (request) => getHotFix(context.session, knownVm(context, request.params.vmName).name));

  app.get<{ Querystring: { year?: string } }>("/hotpatch/schedule", async (request) => {
    const year = yearOf(context, request.query.year);
    const installs = listVms(context.store).flatMap((vm) =>
      historyView(context.store, vm.name, new Date(Date.UTC(year + 1, 0, 1)), 366)
        .entries.filter((e) => e.operation === "Install" && e.result === "Succeeded" && e.startedAt.startsWith(String(year)))
        .map((e) => ({ vm: vm.name, kb: e.kb, kind: e.kind, month: e.startedAt.slice(0, 7), at: e.startedAt, trigger: e.trigger })),
    );
    return { year, releases: releaseSchedule({ year, unplanned: context.session.unplanned.filter((m) => m.startsWith(String(year))) }), installs };
  });

  app.get<{ Querystring: { year?: string } }>("/hotpatch/schedule.svg", async (request, reply) => {
    const year = yearOf(context, request.query.year);
    const svg = renderScheduleSvg(releaseSchedule({ year, unplanned: context.session.unplanned.filter((m) => m.startsWith(String(year))) }));
    return reply.type("image/svg+xml; charset=utf-8").send(svg);
  });
}

function knownVm(context: ServeContext, name: string): VmRecord {
  const vm = context.store.vm<VmRecord>(name);
  if (vm === undefined) throw new ArmError(404, "ResourceNotFound", `The virtual machine '${name}' was not found in the emulator's state.`);
  return vm;
}

/** Why a VM runs without hotpatch: its image's reasons, or the setting. */
function disabledBecause(vm: VmRecord): string[] {
  const verdict = checkHotpatchEligibility(vm.image, { host: vm.host });
  return verdict.eligible ? ["enableHotpatching is off for this VM"] : verdict.reasons;
}

function yearOf(context: ServeContext, value: string | undefined): number {
  if (value === undefined) return emulatedNow(context).getUTCFullYear();
  if (!/^\d{4}$/.test(value)) throw new ArmError(400, "InvalidParameter", `'year' must be a year as YYYY, not '${value.slice(0, 20)}'.`, "year");
  return Number(value);
}
