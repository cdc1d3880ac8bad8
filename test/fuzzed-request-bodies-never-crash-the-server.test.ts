/**
 * Fuzzed request bodies never crash the server: every route that takes a body
 * (PUT resource group, PUT virtualMachine, POST assessPatches, POST
 * installPatches, POST /hotpatch/clock/advance, POST /hotpatch/catalog/unplanned,
 * POST /hotpatch/vms/{vm}/uninstall, and Microsoft.Maintenance's PUT
 * maintenanceConfiguration, configurationAssignment, dynamic scope and
 * applyUpdates, and PUT /hotpatch/maintenanceWebhooks/{name}) gets wrong types at every field it reads
 * (engine/serve/routes/*.ts, vm-resource.ts), unknown fields, strings up to and
 * beyond the body limit, thousands of levels of nesting, arbitrary JSON values,
 * bytes that are not JSON, other content types, and valid bodies with one
 * field changed or removed.
 *
 * Properties, for every answer: the status is 2xx or 4xx (never 5xx, and the
 * server's onInternalError hook saw nothing); a body over BODY_LIMIT gets 413
 * (or 415 when no parser takes its content type: fastify checks that first)
 * and one within it never does; every 4xx is ARM's error body
 * `{ error: { code, message } }` as JSON, without a stack trace; the server
 * answers a plain GET right after; a refused PUT of a group or a VM, a refused
 * clock advance and a refused unplanned month change nothing that is read back;
 * the long-running operations started by accepted bodies end without a 5xx.
 *
 * Most properties use fastify's `inject` (no socket). One smaller property
 * sends the same bodies over real HTTPS to `startServer`. Clock advances whose
 * end lies past what a JavaScript Date holds are checked in a worker thread
 * with a deadline (the `sandbox` below): a server that loops on them blocks
 * its event loop, and only a separate thread can notice and report it.
 *
 * The state: clock 2026-01-25T12:00Z, one VM (vm1, made 2026-01-20 on the
 * January baseline), so the VM routes reach their body validation and an
 * accepted install finds nothing to do (no guest build in the fuzz loop). The
 * fuzz never generates rebootSetting AlwaysReboot, .NET KBs or advances longer
 * than minutes: those are valid and only slow (a guest boot takes seconds).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVm, listVms, putConfiguration, Session, Store, setClock } from "../engine/manage/index.ts";
import { mintToken } from "../engine/serve/auth.ts";
import { adoptCliVms } from "../engine/serve/resources.ts";
import { BODY_LIMIT, buildApp, createContext, type RunningServer, startServer } from "../engine/serve/server.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SUB = "00000000-0000-0000-0000-000000000000";
const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const NOW = "2026-01-25T12:00:00Z";
const VM_CREATED = "2026-01-20T12:00:00Z";
const COMPUTE = "api-version=2026-03-01";
const RESOURCES = "api-version=2025-04-01";
const VM = `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Compute/virtualMachines/vm1`;
const FUZZ_SUB = "sub-fuzz";
const GROUP = `/subscriptions/${FUZZ_SUB}/resourcegroups/rg-fuzz?${RESOURCES}`;
const VM_LIST = `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines?${COMPUTE}`;
const GROUP_LIST = `/subscriptions/${FUZZ_SUB}/resourcegroups?${RESOURCES}`;
/** One past the last whole day a Date holds when added to NOW (8.64e15 ms is the largest Date). */
const FIRST_DAY_PAST_DATES = Math.floor((8.64e15 - Date.parse(NOW)) / 86_400_000) + 1;
const SEED = 20260125;

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------
// The routes, their valid bodies and the fields they read

interface Field {
  path: string;
  /** Strings near the valid ones (other enum members, other spellings, edge formats). */
  near?: readonly unknown[];
}

interface Route {
  name: string;
  method: "PUT" | "POST";
  url: string;
  valid: Json;
  fields: readonly Field[];
}

const W = "properties.osProfile.windowsConfiguration";
const P = `${W}.patchSettings`;
const B = `${P}.automaticByPlatformSettings`;
const I = "properties.storageProfile.imageReference";
const WP = "windowsParameters";

const MAINTENANCE = "api-version=2023-04-01";
const CONFIG = `/subscriptions/${SUB}/resourceGroups/hotpatch/providers/Microsoft.Maintenance/maintenanceConfigurations`;
const MW = "properties.maintenanceWindow";
const MP = "properties.installPatches";

const ROUTES: readonly Route[] = [
  {
    name: "PUT resource group",
    method: "PUT",
    url: GROUP,
    valid: { location: "eastus", tags: { env: "fuzz" } },
    fields: [{ path: "location", near: ["", " ", "EastUS", "westeurope"] }, { path: "tags" }, { path: "tags.env" }, { path: "tags.hotpatch-window" }],
  },
  {
    name: "PUT virtualMachine",
    method: "PUT",
    url: `${VM}?${COMPUTE}`,
    valid: {
      location: "eastus",
      tags: { env: "fuzz" },
      properties: {
        hardwareProfile: { vmSize: "Standard_D2s_v5" },
        storageProfile: { imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition-core", version: "latest" } },
        osProfile: {
          computerName: "vm1",
          adminUsername: "azureuser",
          adminPassword: "P@ssw0rd-fuzz",
          windowsConfiguration: {
            provisionVMAgent: true,
            enableAutomaticUpdates: true,
            patchSettings: {
              patchMode: "AutomaticByPlatform",
              enableHotpatching: true,
              assessmentMode: "ImageDefault",
              automaticByPlatformSettings: { rebootSetting: "IfRequired", bypassPlatformSafetyChecksOnUserSchedule: false },
            },
          },
        },
      },
    },
    fields: [
      { path: "location", near: ["", "westus"] },
      { path: "zones", near: [["1"], ["4"], ["1", "2", "3", "1"], []] },
      { path: "zones.0", near: ["1", "0", ""] },
      { path: "tags" },
      { path: "tags.hotpatch-timezone", near: ["Europe/Berlin", "Mars/Olympus", "", "UTC+5"] },
      { path: "tags.hotpatch-window", near: ["22:00-06:00", "25:00-26:00", "22:00", ""] },
      { path: "tags.hotpatch-processes", near: ["1", "16", "17", "0", "000", "016", "1.5", "-1", "9999"] },
      { path: "properties" },
      { path: "properties.hardwareProfile" },
      { path: "properties.hardwareProfile.vmSize" },
      { path: "properties.storageProfile" },
      { path: I },
      { path: `${I}.publisher`, near: ["", "MicrosoftWindowsDesktop"] },
      { path: `${I}.offer` },
      { path: `${I}.sku`, near: ["2022-datacenter-azure-edition", "2019-datacenter"] },
      { path: `${I}.version`, near: ["LATEST", "20348.1.1", ""] },
      { path: "properties.osProfile" },
      { path: "properties.osProfile.computerName" },
      { path: "properties.osProfile.adminUsername" },
      { path: "properties.osProfile.adminPassword" },
      { path: W },
      { path: `${W}.provisionVMAgent`, near: ["true", 1] },
      { path: `${W}.enableAutomaticUpdates`, near: ["false", 0] },
      { path: P },
      { path: `${P}.patchMode`, near: ["Manual", "AutomaticByOS", "automaticbyplatform", "ImageDefault", ""] },
      { path: `${P}.enableHotpatching`, near: [false, "true"] },
      { path: `${P}.assessmentMode`, near: ["AutomaticByPlatform", "imagedefault", "Manual"] },
      { path: B },
      { path: `${B}.rebootSetting`, near: ["Never", "Always", "unknown", "IfRequiredReboot"] },
      { path: `${B}.bypassPlatformSafetyChecksOnUserSchedule`, near: [true, "false"] },
    ],
  },
  { name: "POST assessPatches", method: "POST", url: `${VM}/assessPatches?${COMPUTE}`, valid: {}, fields: [] },
  {
    name: "POST installPatches",
    method: "POST",
    url: `${VM}/installPatches?${COMPUTE}`,
    valid: { maximumDuration: "PT2H", rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"], excludeKbsRequiringReboot: false } },
    fields: [
      { path: "maximumDuration", near: ["PT0S", "P0D", "-PT1H", "P1Y", "PT1.5H", "P99999999999D", "P100000000D", "pt1m", "P1DT", ""] },
      { path: "rebootSetting", near: ["NeverReboot", "ifrequired", "Never", "Always", "IfRequiredReboot", ""] },
      { path: WP },
      { path: `${WP}.classificationsToInclude`, near: [[], ["Critical,Security"], ["critical", "UPDATES"], ["UpdateRollUp", "FeaturePack", "ServicePack", "Definition", "Tools"]] },
      { path: `${WP}.classificationsToInclude.0`, near: ["Other", "", "Security "] },
      { path: `${WP}.kbNumbersToInclude`, near: [["KB5260100"], ["5260100"], ["KB5260200"], ["kb9999999"], [" KB5260100 "]] },
      { path: `${WP}.kbNumbersToExclude`, near: [["KB5260100"], ["5260200"], [""]] },
      { path: `${WP}.excludeKbsRequiringReboot`, near: [true, "true"] },
      { path: `${WP}.maxPatchPublishDate`, near: ["2026-01-01", "2026-02-30", "2026-13-01", "2026-01-01T00:00:00Z", "2026-01-01T25:00", "9999-12-31", "0000-01-01"] },
    ],
  },
  {
    name: "POST /hotpatch/clock/advance",
    method: "POST",
    url: "/hotpatch/clock/advance",
    valid: { duration: "PT1M" },
    fields: [{ path: "duration", near: ["PT0S", "P0D", "-PT1M", "P1Y", "P1M", "PT1.5M", "pt1m", "P1DT", "P", "PT", "PT0.0001S", "P99999999999D", ""] }],
  },
  {
    name: "POST /hotpatch/catalog/unplanned",
    method: "POST",
    url: "/hotpatch/catalog/unplanned",
    valid: { month: "2026-04" },
    fields: [{ path: "month", near: ["2026-13", "2026-00", "2026-1", "2026-01", "1999-01", "2100-01", "0000-01", "2026-04 ", ""] }],
  },
  {
    name: "POST /hotpatch/vms/{vm}/uninstall",
    method: "POST",
    url: "/hotpatch/vms/vm1/uninstall",
    valid: { kbId: "KB5260100" },
    fields: [{ path: "kbId", near: ["5260100", "kb5260100", "KB5260200", "", " "] }],
  },
  {
    name: "PUT maintenanceConfiguration",
    method: "PUT",
    url: `${CONFIG}/fz-new?${MAINTENANCE}`,
    valid: {
      location: "eastus",
      properties: {
        maintenanceScope: "InGuestPatch",
        extensionProperties: { InGuestPatchMode: "User" },
        maintenanceWindow: { startDateTime: "2026-01-31 22:00", duration: "03:00", timeZone: "W. Europe Standard Time", recurEvery: "Week Saturday" },
        installPatches: { rebootSetting: "IfRequired", windowsParameters: { classificationsToInclude: ["Critical", "Security"], kbNumbersToExclude: ["KB5260110"] } },
      },
    },
    fields: [
      { path: "location" },
      { path: "properties.maintenanceScope", near: ["Host", "inguestpatch", ""] },
      { path: "properties.extensionProperties.InGuestPatchMode", near: ["Platform", "user", ""] },
      { path: `${MW}.startDateTime`, near: ["2026-02-30 22:00", "2026-01-31T22:00", "2026-01-31 24:00", "31/01/2026 22:00", "0000-01-01 00:00", ""] },
      { path: `${MW}.duration`, near: ["03:55", "03:56", "04:00", "00:00", "3:00", "03:60", "99:99", ""] },
      { path: `${MW}.timeZone`, near: ["UTC", "Pacific Standard Time", "pacific standard time", "Europe/Berlin", "Mars Standard Time", ""] },
      { path: `${MW}.expirationDateTime`, near: ["2026-12-31 23:59", "2026-01-01 00:00", "9999-12-31 23:59", "2026-13-01 00:00", null, ""] },
      { path: `${MW}.recurEvery`, near: ["Day", "3Days", "0Days", "Week Saturday,Sunday", "Month day31", "Month day32", "Month Fifth Monday", "Month Last Sunday Offset-7", "1000000000Months", "12Months day31", ""] },
      { path: `${MP}.rebootSetting`, near: ["Never", "AlwaysReboot", "Sometimes", ""] },
      { path: `${MP}.windowsParameters.classificationsToInclude`, near: [[], ["Other"], ["critical"]] },
      { path: `${MP}.windowsParameters.kbNumbersToExclude`, near: [["5260110"], ["KB1"], [""]] },
      { path: `${MP}.windowsParameters.excludeKbsRequiringReboot`, near: [true, "true"] },
    ],
  },
  {
    name: "PUT configurationAssignment",
    method: "PUT",
    url: `${VM}/providers/Microsoft.Maintenance/configurationAssignments/fz?${MAINTENANCE}`,
    valid: { location: "eastus", properties: { maintenanceConfigurationId: `${CONFIG}/fz`, resourceId: VM } },
    fields: [
      { path: "properties.maintenanceConfigurationId", near: [`${CONFIG}/nope`, `${CONFIG}/fz/extra`, "/subscriptions/x", ""] },
      { path: "properties.resourceId", near: [`${VM}2`, "", VM.toUpperCase()] },
    ],
  },
  {
    name: "PUT dynamic scope",
    method: "PUT",
    url: `/subscriptions/${SUB}/providers/Microsoft.Maintenance/configurationAssignments/fz-scope?${MAINTENANCE}`,
    valid: { properties: { maintenanceConfigurationId: `${CONFIG}/fz`, filter: { resourceGroups: ["hotpatch"], tagSettings: { tags: { env: ["fuzz"] }, filterOperator: "All" } } } },
    fields: [
      { path: "properties.maintenanceConfigurationId", near: [`${CONFIG}/nope`, ""] },
      { path: "properties.filter", near: [{}, [], null] },
      { path: "properties.filter.resourceGroups", near: [[], [""], ["a", 1]] },
      { path: "properties.filter.osTypes", near: [["Windows"], ["windows"], ["BeOS"]] },
      { path: "properties.filter.resourceTypes", near: [["Microsoft.HybridCompute/machines"], ["Microsoft.Compute/disks"]] },
      { path: "properties.filter.tagSettings.tags", near: [{}, { env: [] }, { env: "fuzz" }] },
      { path: "properties.filter.tagSettings.filterOperator", near: ["Any", "any", "None"] },
    ],
  },
  {
    name: "PUT applyUpdates (cancel a run)",
    method: "PUT",
    url: `${CONFIG}/fz/providers/Microsoft.Maintenance/applyUpdates/20260131210000?${MAINTENANCE}`,
    valid: { properties: { status: "Cancel" } },
    fields: [{ path: "properties.status", near: ["Cancelled", "cancel", "Retry", ""] }],
  },
  {
    name: "PUT /hotpatch/maintenanceWebhooks/{name}",
    method: "PUT",
    url: "/hotpatch/maintenanceWebhooks/fz",
    valid: { url: "http://127.0.0.1:9/events", eventTypes: ["PreMaintenanceEvent"], maintenanceConfigurationId: `${CONFIG}/fz` },
    fields: [
      { path: "url", near: ["ftp://127.0.0.1/x", "not a url", "https://[::1]:9/", ""] },
      { path: "eventTypes", near: [[], ["Microsoft.Maintenance.PostMaintenanceEvent"], ["Reboot"]] },
      { path: "maintenanceConfigurationId", near: [`${CONFIG}/nope`, ""] },
    ],
  },
];

// ---------------------------------------------------------------------------
// Bodies

/** A value spliced into the JSON text as it is (deep nesting is built as text, not as objects). */
class RawJson {
  constructor(readonly text: string) {}
}

const deepText = (depth: number, kind: "array" | "object" | "mixed"): string => {
  if (kind === "array") return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  if (kind === "object") return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  return `${'[{"a":'.repeat(depth)}null${"}]".repeat(depth)}`;
};

const deep = (max: number) => fc.record({ depth: fc.integer({ min: 100, max }), kind: fc.constantFrom("array" as const, "object" as const, "mixed" as const) }).map(({ depth, kind }) => new RawJson(deepText(depth, kind)));

/** Strings around MAX_STRING (1024), around the body limit, and anywhere up to twice it; in one-, two-, three- and four-byte characters. */
const huge = fc
  .record({
    length: fc.oneof(fc.integer({ min: 1000, max: 1100 }), fc.integer({ min: BODY_LIMIT - 200, max: BODY_LIMIT + 50 }), fc.integer({ min: 1, max: 2 * BODY_LIMIT })),
    unit: fc.constantFrom("x", "é", "€", "😀", '"', "\\", "\u0000"),
  })
  .map(({ length, unit }) => unit.repeat(Math.max(1, Math.floor(length / unit.length))));

const scalarJunk = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom("", " ", "\u0000", "null", "true", "0", "-1", "1e309", "__proto__", "constructor"),
);

const junk = fc.oneof(
  { weight: 6, arbitrary: scalarJunk },
  { weight: 2, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) },
  { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { minKeys: 45, maxKeys: 60 }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 4 }), { minLength: 95, maxLength: 110 }) },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: deep(5000) },
);

const UNKNOWN_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "id", "name", "type", "", "location ", "Location", "PROPERTIES"];

function objectPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return [prefix, ...Object.entries(value as Json).flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

/** Sets `path` in a copy of `body` as an own property (so "__proto__" is a key, not the prototype), making the parents it needs. */
function setAt(body: Json, path: readonly string[], value: unknown): Json {
  const copy = structuredClone(body);
  let node: Record<string, unknown> = copy;
  path.slice(0, -1).forEach((key, i) => {
    const next = node[key];
    if (typeof next !== "object" || next === null) {
      const created = /^\d+$/.test(path[i + 1]) ? [] : {};
      Object.defineProperty(node, key, { value: created, enumerable: true, writable: true, configurable: true });
    }
    node = node[key] as Record<string, unknown>;
  });
  Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function deleteAt(body: Json, path: readonly string[]): Json {
  const copy = structuredClone(body);
  let node: Record<string, unknown> | undefined = copy;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
  if (node !== undefined) delete node[path[path.length - 1]];
  return copy;
}

/** JSON text of a value that may hold RawJson parts. */
function jsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return v;
  });
  return (text ?? "").replace(/"@@raw(\d+)@@"/g, (_m, i: string) => raws[Number(i)]);
}

interface Case {
  label: string;
  payload?: string | Buffer;
  contentType?: string;
}

const bytesOf = (payload: string | Buffer | undefined) => (payload === undefined ? 0 : typeof payload === "string" ? Buffer.byteLength(payload) : payload.length);

/** How a case prints in a counterexample: its payload cut short (a 2 MiB string would fill the report). */
function describeCase(c: Case): string {
  const text = c.payload === undefined ? "(no body)" : typeof c.payload === "string" ? c.payload : `bytes ${c.payload.toString("hex")}`;
  const shown = text.length > 300 ? `${text.slice(0, 150)}…[${text.length} chars]…${text.slice(-100)}` : text;
  return `${c.label}; content-type ${c.contentType ?? "(none)"}; ${bytesOf(c.payload)} bytes: ${shown}`;
}

const withToString = (c: Case): Case => Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) });

const contentType = fc.oneof(
  { weight: 20, arbitrary: fc.constant("application/json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom<string | undefined>(
      "application/json; charset=utf-8",
      "Application/JSON",
      "application/json; charset=latin1",
      "application/json; charset=utf-16",
      "application/json;;",
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/octet-stream",
      "multipart/form-data; boundary=x",
      "application/merge-patch+json",
      "",
      undefined,
    ),
  },
);

/** Every kind of body for one route. */
function bodies(route: Route, options: { maxDepth?: number } = {}): fc.Arbitrary<Case> {
  const validText = JSON.stringify(route.valid);
  const fieldPaths = route.fields.map((f) => f.path.split("."));
  const objects = objectPaths(route.valid);
  const json = (label: string) => (value: unknown) => ({ label, payload: jsonText(value) });

  type Body = { label: string; payload?: string | Buffer };
  const weighted = (weight: number, arbitrary: fc.Arbitrary<Body>) => ({ weight, arbitrary });
  const arbitraries = [
    // valid bodies with one field of a wrong type (or a near-valid string), or without it
    ...(route.fields.length === 0
      ? []
      : [
          weighted(
            12,
            fc
              .integer({ min: 0, max: route.fields.length - 1 })
              .chain((i) => fc.tuple(fc.constant(i), route.fields[i].near === undefined ? junk : fc.oneof(junk, fc.constantFrom(...route.fields[i].near!))))
              .map(([i, value]) => ({ label: `valid body, ${route.fields[i].path} set`, payload: jsonText(setAt(route.valid, fieldPaths[i], value)) })),
          ),
          weighted(
            2,
            fc.integer({ min: 0, max: route.fields.length - 1 }).map((i) => ({ label: `valid body without ${route.fields[i].path}`, payload: jsonText(deleteAt(route.valid, fieldPaths[i])) })),
          ),
        ]),
    // valid bodies with an unknown field
    weighted(
      3,
      fc
        .tuple(fc.constantFrom(...objects), fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ maxLength: 12 })), fc.oneof(fc.jsonValue({ maxDepth: 2 }), junk))
        .filter(([at, key]) => !route.fields.some((f) => f.path === [...at, key].join(".")))
        .map(([at, key, value]) => ({ label: `valid body, unknown ${[...at, key].join(".")}`, payload: jsonText(setAt(route.valid, [...at, key], value)) })),
    ),
    // anything as the whole body
    weighted(1, fc.anything({ maxDepth: 3 }).map(json("fc.anything"))),
    weighted(1, fc.jsonValue({ maxDepth: 4 }).map(json("fc.jsonValue"))),
    weighted(1, deep(options.maxDepth ?? 20_000).map(json("deep nesting"))),
    weighted(1, huge.map((s) => ({ label: "a huge string", payload: JSON.stringify(s) }))),
    // not JSON
    weighted(1, fc.uint8Array({ maxLength: 300 }).map((b) => ({ label: "random bytes", payload: Buffer.from(b) }))),
    weighted(1, fc.string({ unit: "binary", maxLength: 200 }).map((payload) => ({ label: "random text", payload }))),
    weighted(1, fc.integer({ min: 0, max: validText.length - 1 }).map((n) => ({ label: "valid body cut short", payload: validText.slice(0, n) }))),
    weighted(
      1,
      fc.tuple(fc.integer({ min: 0, max: validText.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const bytes = Buffer.from(validText);
        bytes[at] = byte;
        return { label: "valid body, one byte changed", payload: bytes };
      }),
    ),
    weighted(
      1,
      fc.constantFrom<Body>(
        { label: "empty", payload: "" },
        { label: "no body" },
        { label: "whitespace", payload: " \n\t " },
        { label: "byte order mark", payload: `\uFEFF${validText}` },
        { label: "two bodies", payload: `${validText}${validText}` },
        { label: "trailing garbage", payload: `${validText}x` },
        { label: "NaN", payload: '{"a":NaN}' },
        { label: "duplicate key", payload: validText.replace(/}$/, `${validText === "{}" ? "" : ","}"${route.fields[0]?.path.split(".")[0] ?? "x"}":7}`) },
        { label: "prototype", payload: '{"__proto__":{"polluted":true}}' },
        { label: "constructor", payload: '{"constructor":{"prototype":{"polluted":true}}}' },
        { label: "number", payload: "1e999999" },
        { label: "lone surrogate", payload: '{"a":"\\ud800"}' },
        { label: "invalid UTF-8", payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]) },
      ),
    ),
  ];
  return fc.tuple(fc.oneof(...arbitraries), contentType).map(([body, type]) => withToString({ ...body, contentType: type }));
}

// ---------------------------------------------------------------------------
// The answers

interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** The Azure-AsyncOperation header of a 202 (inject only). */
  asyncOperation?: string;
}

/** What every answer to a fuzzed body must be. */
function checkAnswer(c: Case, answer: Answer): void {
  const where = `${describeCase(c)} → ${answer.status} ${answer.body.slice(0, 300)}`;
  const ok = (answer.status >= 200 && answer.status < 300) || (answer.status >= 400 && answer.status < 500);
  if (!ok) throw new Error(`not 2xx/4xx: ${where}`);
  // Over the limit: 413, or 415 first when no parser takes the content type (fastify checks the type before reading).
  if (bytesOf(c.payload) > BODY_LIMIT && answer.status !== 413 && answer.status !== 415) throw new Error(`a body over BODY_LIMIT without 413: ${where}`);
  if (bytesOf(c.payload) <= BODY_LIMIT && answer.status === 413) throw new Error(`413 for a body within BODY_LIMIT: ${where}`);
  if (answer.body.includes("\n    at ")) throw new Error(`a stack trace in the body: ${where}`);
  if (answer.status < 400) return;
  if (!/^application\/json/.test(answer.contentType)) throw new Error(`a 4xx without JSON content-type (${answer.contentType}): ${where}`);
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`a 4xx body that is not JSON: ${where}`);
  }
  if (typeof parsed.error?.code !== "string" || parsed.error.code === "" || typeof parsed.error.message !== "string") throw new Error(`a 4xx without ARM's error body: ${where}`);
  if (answer.status === 413 && parsed.error.code !== "RequestEntityTooLarge") throw new Error(`413 with code ${parsed.error.code}: ${where}`);
}

// ---------------------------------------------------------------------------
// The state and the in-process app

let dir: string;
let store: Store;
let context: ReturnType<typeof createContext>;
let app: ReturnType<typeof buildApp>;
const internalErrors: unknown[] = [];
const operationUrls: string[] = [];
let token: string;
let https: RunningServer | undefined;

/** A new state file holding vm1 (made with the management plane, as the CLI makes it; the server places it in group "hotpatch") and the maintenance configuration fz. */
function makeState(statePath: string): void {
  const s = Store.open(statePath);
  createVm(s, { name: "vm1", image: CORE }, new Date(VM_CREATED), []);
  const window = { startDateTime: "2026-01-31 22:00", duration: "03:00", timeZone: "W. Europe Standard Time", recurEvery: "Week Saturday" };
  putConfiguration(new Session(s), { subscription: SUB, resourceGroup: "hotpatch", name: "fz" }, { location: "eastus", maintenanceWindow: window }, new Date(VM_CREATED));
  s.close();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-fuzz-bodies-"));
  // The HTTPS server starts first: its VM boots in the pool while the inject properties run.
  makeState(join(dir, "https.db"));
  https = await startServer({ statePath: join(dir, "https.db"), port: 0, now: NOW, retryAfterSeconds: 0, onInternalError: (e) => internalErrors.push(e) });
  makeState(join(dir, "inject.db"));
  store = Store.open(join(dir, "inject.db"));
  store.tx(() => setClock(store, new Date(NOW)));
  adoptCliVms(store, listVms(store), new Date(NOW));
  context = createContext(store, () => new Date());
  app = buildApp(context, { retryAfterSeconds: 0, onInternalError: (e) => internalErrors.push(e) });
  token = mintToken(new Date(), 3600);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await context?.serial.idle();
  store?.close();
  await https?.close();
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function inject(method: "GET" | "PUT" | "POST", url: string, c: Case = { label: "" }): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (c.contentType !== undefined) headers["content-type"] = c.contentType;
  const r = await app.inject({ method, url, headers, ...(c.payload === undefined ? {} : { payload: c.payload }) });
  const operation = r.headers["azure-asyncoperation"];
  return { status: r.statusCode, contentType: String(r.headers["content-type"] ?? ""), body: r.body, ...(operation === undefined ? {} : { asyncOperation: String(operation) }) };
}

async function read(url: string): Promise<string> {
  const answer = await inject("GET", url);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** What a refusal on this route must leave as it was, read through the API. */
const READBACK: Record<string, readonly string[]> = {
  "PUT resource group": [GROUP_LIST],
  "PUT virtualMachine": [VM_LIST, `${VM}?${COMPUTE}`],
  "POST /hotpatch/clock/advance": ["/hotpatch/clock"],
  "POST /hotpatch/catalog/unplanned": ["/hotpatch/catalog"],
  "PUT maintenanceConfiguration": [`/subscriptions/${SUB}/providers/Microsoft.Maintenance/maintenanceConfigurations?${MAINTENANCE}`],
  "PUT configurationAssignment": [`${VM}/providers/Microsoft.Maintenance/configurationAssignments?${MAINTENANCE}`],
  "PUT dynamic scope": [`/subscriptions/${SUB}/providers/Microsoft.Maintenance/configurationAssignments?${MAINTENANCE}`],
  "PUT applyUpdates (cancel a run)": [`${CONFIG}/fz/providers/Microsoft.Maintenance/applyUpdates?${MAINTENANCE}`],
  "PUT /hotpatch/maintenanceWebhooks/{name}": ["/hotpatch/maintenanceWebhooks"],
};

function expectNoInternalErrors(c: Case): void {
  if (internalErrors.length > 0) {
    const error = internalErrors.splice(0)[0];
    throw new Error(`onInternalError for ${describeCase(c)}: ${(error as Error)?.stack ?? String(error)}`);
  }
}

// numRuns per route: enough to hit every field with every kind of value, and the file stays near 20 s on 2 cores.
const RUNS: Record<string, number> = {
  "PUT resource group": 200,
  "PUT virtualMachine": 500,
  "POST assessPatches": 120,
  "POST installPatches": 400,
  "POST /hotpatch/clock/advance": 200,
  "POST /hotpatch/catalog/unplanned": 150,
  "POST /hotpatch/vms/{vm}/uninstall": 150,
  "PUT maintenanceConfiguration": 300,
  "PUT configurationAssignment": 120,
  "PUT dynamic scope": 150,
  "PUT applyUpdates (cancel a run)": 80,
  "PUT /hotpatch/maintenanceWebhooks/{name}": 120,
};

describe("fuzzed bodies through inject", () => {
  ROUTES.forEach((route, i) => {
    it(`${route.name}: 2xx or an ARM 4xx, never 5xx; a refusal changes nothing; the server answers after`, async () => {
      const readback = READBACK[route.name] ?? [];
      await fc.assert(
        fc.asyncProperty(bodies(route), async (c) => {
          await context.serial.idle();
          const before = await Promise.all(readback.map(read));
          const answer = await inject(route.method, route.url, c);
          expectNoInternalErrors(c);
          checkAnswer(c, answer);
          if (answer.asyncOperation !== undefined) operationUrls.push(answer.asyncOperation.replace(/^https?:\/\/[^/]*/, ""));
          if (answer.status >= 400) {
            await context.serial.idle();
            const after = await Promise.all(readback.map(read));
            if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`a refused request changed the state: ${describeCase(c)} → ${answer.status} ${answer.body}`);
          }
          expect((await inject("GET", "/hotpatch/clock")).status).toBe(200);
        }),
        { seed: SEED + i, numRuns: RUNS[route.name] },
      );
    });
  });

  it("the operations the accepted bodies started end Succeeded or Failed with a 4xx, never a 5xx", async () => {
    await context.serial.idle();
    expect(operationUrls.length).toBeGreaterThan(0);
    for (const url of operationUrls) {
      const answer = await inject("GET", url);
      expect(answer.status, `${url}: ${answer.body}`).toBeLessThan(500);
      expect(JSON.parse(answer.body).status, url).toMatch(/^(Succeeded|Failed)$/);
    }
    expect(internalErrors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Clock advances past the Date range, in a worker thread with a deadline

const SANDBOX_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
const req = createRequire(join(workerData.root, "package.json"));
const load = (p) => import(pathToFileURL(req.resolve(p)).href);
const engine = (p) => import(pathToFileURL(join(workerData.root, p)).href);
(async () => {
  // As bin/hotpatch.mjs: the two large modules natively first, then tsx for the engine's TypeScript.
  await Promise.all([load("binaryen"), load("assemblyscript/dist/asc.js")]);
  const tsxJson = req.resolve("tsx/package.json");
  (await import(pathToFileURL(join(tsxJson, "..", req(tsxJson).exports["./esm/api"].import.default)).href)).register();
  const { createVm, listVms, setClock, Store } = await engine("engine/manage/index.ts");
  const { adoptCliVms } = await engine("engine/serve/resources.ts");
  const { mintToken } = await engine("engine/serve/auth.ts");
  const { buildApp, createContext } = await engine("engine/serve/server.ts");
  const store = Store.open(":memory:");
  store.tx(() => setClock(store, new Date(workerData.now)));
  createVm(store, { name: "vm1", image: workerData.image }, new Date(workerData.vmCreated), []);
  adoptCliVms(store, listVms(store), new Date(workerData.now));
  const internal = [];
  const app = buildApp(createContext(store, () => new Date()), { retryAfterSeconds: 0, onInternalError: (e) => internal.push(String(e && e.stack || e)) });
  const headers = { authorization: "Bearer " + mintToken(new Date(), 3600), "content-type": "application/json" };
  parentPort.on("message", async ({ id, payload }) => {
    const r = await app.inject({ method: "POST", url: "/hotpatch/clock/advance", headers, payload });
    const clock = await app.inject({ method: "GET", url: "/hotpatch/clock", headers });
    parentPort.postMessage({ id, status: r.statusCode, contentType: String(r.headers["content-type"] || ""), body: r.body.slice(0, 4000), clock: clock.body, internal: internal.splice(0) });
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }));
`;

interface SandboxAnswer extends Answer {
  clock: string;
  internal: string[];
}

/** A server over its own in-memory state in a worker thread; a request that gets no answer before the deadline ends the worker (the next request starts a new one). */
class Sandbox {
  private worker?: Worker;
  private ready?: Promise<Worker>;
  private next = 0;

  private start(): Promise<Worker> {
    this.ready ??= new Promise((resolve, reject) => {
      const worker = new Worker(SANDBOX_CODE, { eval: true, workerData: { root: ROOT, now: NOW, vmCreated: VM_CREATED, image: CORE } });
      worker.once("message", (m: { ready?: boolean; failed?: string }) => (m.ready ? resolve(worker) : reject(new Error(`the sandbox did not start: ${m.failed}`))));
      worker.once("error", reject);
      this.worker = worker;
    });
    return this.ready;
  }

  async ask(payload: string, deadlineMillis: number): Promise<SandboxAnswer> {
    const worker = await this.start();
    const id = this.next++;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<SandboxAnswer>((resolve, reject) => {
        const onMessage = (m: SandboxAnswer & { id: number }) => {
          if (m.id !== id) return;
          worker.off("message", onMessage);
          resolve(m);
        };
        worker.on("message", onMessage);
        worker.postMessage({ id, payload });
        timer = setTimeout(() => {
          worker.off("message", onMessage);
          void this.close();
          reject(new Error(`no answer within ${deadlineMillis} ms to POST /hotpatch/clock/advance ${payload} (the server's event loop is blocked)`));
        }, deadlineMillis);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    await worker?.terminate();
  }
}

let sandbox: Sandbox | undefined;

describe("clock advances whose end no Date holds", () => {
  it("are refused with an ARM 4xx within 5 s, and the clock stays where it was", async () => {
    sandbox = new Sandbox();
    const maxDays = Math.floor(Number.MAX_SAFE_INTEGER / 86_400_000) + 10;
    const duration = fc.oneof(
      fc.integer({ min: FIRST_DAY_PAST_DATES, max: maxDays }).map((d) => `P${d}D`),
      fc.integer({ min: FIRST_DAY_PAST_DATES, max: maxDays }).map((d) => `PT${d * 24}H`),
      fc.integer({ min: Math.ceil(FIRST_DAY_PAST_DATES / 7), max: Math.floor(maxDays / 7) }).map((w) => `P${w}W`),
      fc.integer({ min: FIRST_DAY_PAST_DATES, max: maxDays }).map((d) => `P${d - 1}DT23H59M60S`),
      fc.bigInt({ min: BigInt(FIRST_DAY_PAST_DATES) * 86_400n, max: 10n ** 30n }).map((s) => `PT${s}S`),
    );
    const first = await sandbox.ask(JSON.stringify({ duration: "PT1M" }), 30_000);
    expect(first.status).toBe(200);
    let clock = first.clock;
    await fc.assert(
      fc.asyncProperty(duration, async (text) => {
        const c: Case = { label: `duration ${text}`, payload: JSON.stringify({ duration: text }), contentType: "application/json" };
        const answer = await sandbox!.ask(c.payload as string, 5_000);
        if (answer.internal.length > 0) throw new Error(`onInternalError for ${describeCase(c)}: ${answer.internal[0]}`);
        checkAnswer(c, answer);
        expect(answer.status, `${text} → ${answer.status} ${answer.body}`).toBeGreaterThanOrEqual(400);
        expect(answer.clock).toBe(clock);
        clock = answer.clock;
      }),
      // A failure here costs a worker (and a 5 s wait): report the first one rather than shrink.
      { seed: SEED + 100, numRuns: 25, endOnFailure: true },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------
// The same bodies over real HTTPS

describe("fuzzed bodies over HTTPS", () => {
  it("the running server answers every one with 2xx or an ARM 4xx, and a GET afterwards", async () => {
    const server = https!;
    const ca = readFileSync(server.certPath, "utf8");
    const agent = new Agent({ keepAlive: true, ca });
    const send = (method: string, path: string, c: Case = { label: "" }) =>
      new Promise<Answer>((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${mintToken(new Date())}` };
        if (c.contentType !== undefined) headers["content-type"] = c.contentType;
        const req = request(new URL(path, server.url), { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => resolve({ status: res.statusCode!, contentType: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks).toString("utf8") }));
        });
        req.on("error", reject);
        req.end(c.payload);
      });
    const routes = ROUTES.map((route) => bodies(route, { maxDepth: 5000 }).map((c) => ({ route, c })));
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(...routes), async ({ route, c }) => {
          const answer = await send(route.method, route.url, c);
          expectNoInternalErrors(c);
          checkAnswer(c, answer);
          expect((await send("GET", "/hotpatch/clock")).status).toBe(200);
        }),
        { seed: SEED + 200, numRuns: 80 },
      );
      expect((await send("GET", VM_LIST)).status).toBe(200);
    } finally {
      agent.destroy();
    }
  }, 60_000);
});
