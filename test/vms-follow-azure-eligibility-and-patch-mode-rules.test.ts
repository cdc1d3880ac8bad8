import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applicableUpdates, findUpdate } from "../engine/manage/catalog.ts";
import { commandTime, createVm, declareUnplanned, getVm, listVms, setClock, setVm, Store } from "../engine/manage/index.ts";
import { refusal } from "./refusal.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
const HOTPATCH_SKU = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-hotpatch-smalldisk:latest";
const STANDARD = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition";
const JAN20 = new Date("2027-01-20T12:00:00Z");

const dirs: string[] = [];
function freshStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), "hotpatch-vm-"));
  dirs.push(dir);
  return Store.open(join(dir, "state.db"));
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("creating VMs (S3, S8, S9)", () => {
  it("turns hotpatch on by default for the Azure Edition Core image, with AutomaticByPlatform", () => {
    const store = freshStore();
    const vm = createVm(store, { name: "web1", image: CORE }, JAN20, []);
    expect(vm).toMatchObject({ hotpatch: true, patchMode: "AutomaticByPlatform", timeZone: "UTC", window: "22:00-06:00", processes: 2 });
    expect(vm.imageMonth).toBe("2027-01"); // the January 2027 baseline was released on 2027-01-12
    expect(createVm(store, { name: "web2", image: HOTPATCH_SKU }, JAN20, []).hotpatch).toBe(true);
  });

  it("leaves hotpatch off, with AutomaticByOS, on an image that does not support it", () => {
    const vm = createVm(freshStore(), { name: "std", image: STANDARD }, JAN20, []);
    expect(vm).toMatchObject({ hotpatch: false, patchMode: "AutomaticByOS" });
  });

  it("refuses hotpatch on other images, container base images and custom images, with the reason", () => {
    const store = freshStore();
    refusal(() => createVm(store, { name: "a", image: STANDARD, hotpatch: true }, JAN20, []), "E_NOT_ELIGIBLE");
    refusal(() => createVm(store, { name: "b", image: CORE, containerBaseImage: true, hotpatch: true }, JAN20, []), "E_NOT_ELIGIBLE");
    refusal(() => createVm(store, { name: "c", image: CORE, customImage: true, hotpatch: true }, JAN20, []), "E_NOT_ELIGIBLE");
    expect(() => createVm(store, { name: "d", image: "Canonical:ubuntu:22_04-lts", hotpatch: true }, JAN20, [])).toThrow(/publisher is Canonical/);
    expect(listVms(store)).toEqual([]);
    // Without --hotpatch, an ineligible image simply gets hotpatch off.
    expect(createVm(store, { name: "e", image: CORE, containerBaseImage: true }, JAN20, []).hotpatch).toBe(false);
  });

  it("refuses a Uniform scale set on a hotpatch image, and allows Flexible", () => {
    const store = freshStore();
    expect(() => createVm(store, { name: "ss1", image: CORE, scaleSet: "Uniform" }, JAN20, [])).toThrow(/Uniform orchestration/);
    expect(createVm(store, { name: "ss2", image: CORE, scaleSet: "Flexible" }, JAN20, []).scaleSet).toBe("Flexible");
    expect(createVm(store, { name: "ss3", image: CORE, scaleSet: "Uniform", hotpatch: false }, JAN20, []).hotpatch).toBe(false);
  });

  it("takes orchestration from a policy source on Azure Stack HCI, and requires one", () => {
    const store = freshStore();
    const vm = createVm(store, { name: "hci1", image: CORE, host: "azure-stack-hci", policySource: "sconfig" }, JAN20, []);
    expect(vm).toMatchObject({ host: "azure-stack-hci", policySource: "SCONFIG", patchMode: null, hotpatch: true });
    refusal(() => createVm(store, { name: "hci2", image: CORE, host: "azure-stack-hci" }, JAN20, []), "E_USAGE");
    refusal(() => createVm(store, { name: "az1", image: CORE, policySource: "GroupPolicy" }, JAN20, []), "E_USAGE");
  });

  it("refuses bad names, zones, windows and duplicates", () => {
    const store = freshStore();
    createVm(store, { name: "web1", image: CORE }, JAN20, []);
    refusal(() => createVm(store, { name: "web1", image: CORE }, JAN20, []), "E_VM_EXISTS");
    refusal(() => createVm(store, { name: "1bad", image: CORE }, JAN20, []), "E_USAGE");
    refusal(() => createVm(store, { name: "x", image: CORE, timeZone: "Mars/Olympus" }, JAN20, []), "E_USAGE");
    refusal(() => createVm(store, { name: "y", image: CORE, window: "25:00-06:00" }, JAN20, []), "E_USAGE");
    refusal(() => createVm(store, { name: "z", image: CORE, processes: 0 }, JAN20, []), "E_USAGE");
    expect(listVms(store).map((v) => v.name)).toEqual(["web1"]);
  });
});

describe("changing patch settings", () => {
  it("refuses a switch between AutomaticByOS and Manual, and allows it through AutomaticByPlatform", () => {
    const store = freshStore();
    createVm(store, { name: "std", image: STANDARD }, JAN20, []);
    refusal(() => setVm(store, "std", { patchMode: "Manual" }), "E_USAGE");
    expect(setVm(store, "std", { patchMode: "AutomaticByPlatform" }).patchMode).toBe("AutomaticByPlatform");
    expect(setVm(store, "std", { patchMode: "Manual" }).patchMode).toBe("Manual");
  });

  it("keeps hotpatch and AutomaticByPlatform together on Azure", () => {
    const store = freshStore();
    createVm(store, { name: "web1", image: CORE }, JAN20, []);
    refusal(() => setVm(store, "web1", { patchMode: "AutomaticByOS" }), "E_NOT_ELIGIBLE");
    expect(setVm(store, "web1", { hotpatch: false, patchMode: "AutomaticByOS" })).toMatchObject({ hotpatch: false, patchMode: "AutomaticByOS" });
    refusal(() => setVm(store, "web1", { hotpatch: true }), "E_NOT_ELIGIBLE");
    expect(getVm(store, "web1").hotpatch).toBe(false);
  });

  it("names an unknown VM", () => {
    refusal(() => setVm(freshStore(), "ghost", { timeZone: "UTC" }), "E_UNKNOWN_VM");
  });
});

describe("the state file", () => {
  it("keeps VMs across a reopen, and refuses a clock that goes backwards", () => {
    const store = freshStore();
    store.tx(() => {
      createVm(store, { name: "web1", image: CORE, timeZone: "Europe/Berlin" }, JAN20, []);
      setClock(store, JAN20);
    });
    store.close();
    const again = Store.open(store.path);
    expect(getVm(again, "web1").timeZone).toBe("Europe/Berlin");
    expect(commandTime(again, undefined, () => new Date(0)).toISOString()).toBe(JAN20.toISOString());
    refusal(() => commandTime(again, "2027-01-01T00:00:00Z", () => new Date(0)), "E_CLOCK");
    refusal(() => commandTime(again, "2027-02-30T00:00:00Z", () => new Date(0)), "E_USAGE");
    again.close();
  });

  it("rolls a failed transaction back entirely", () => {
    const store = freshStore();
    expect(() =>
      store.tx(() => {
        createVm(store, { name: "web1", image: CORE }, JAN20, []);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(listVms(store)).toEqual([]);
    expect(store.installed("web1")).toEqual([]);
  });
});

describe("the catalog", () => {
  it("offers a hotpatch VM the month's hotpatch, and a VM without hotpatch the cumulative update", () => {
    const store = freshStore();
    const hot = createVm(store, { name: "hot", image: CORE }, JAN20, []);
    const std = createVm(store, { name: "std", image: STANDARD }, JAN20, []);
    const feb = new Date("2027-02-10T00:00:00Z");
    const kinds = (vm: typeof hot) => applicableUpdates(vm, [], feb, []).map((u) => `${u.kb}:${u.installKind}:${u.classification}`);
    expect(kinds(hot)).toEqual(["KB5270210:non-hotpatch:UpdateRollup", "KB5270200:hotpatch:Security"]);
    expect(kinds(std)).toEqual(["KB5270200:non-hotpatch:Security", "KB5270210:non-hotpatch:UpdateRollup"]);
  });

  it("offers the newest baseline first and the hotpatch built on it after, superseding older hotpatches", () => {
    const vm = createVm(freshStore(), { name: "hot", image: CORE }, JAN20, []);
    const may = applicableUpdates(vm, [], new Date("2027-05-12T00:00:00Z"), []).filter((u) => u.line === "os");
    expect(may.map((u) => [u.kb, u.installKind, u.dependsOn])).toEqual([
      ["KB5270400", "baseline", null],
      ["KB5270500", "hotpatch", "KB5270400"],
    ]);
  });

  it("makes a declared unplanned month a baseline, and refuses declaring one after its release", () => {
    const store = freshStore();
    expect(declareUnplanned(store, "2027-05", JAN20)).toEqual(["2027-05"]);
    expect(findUpdate("KB5270500", new Date("2027-05-12T00:00:00Z"), ["2027-05"])).toMatchObject({ kind: "baseline", planned: false });
    refusal(() => declareUnplanned(store, "2027-01", JAN20), "E_USAGE");
    refusal(() => declareUnplanned(store, "2027-04", JAN20), "E_USAGE"); // a planned baseline month
  });

  it("knows only released KBs", () => {
    expect(findUpdate("kb5270100", JAN20, []).kb).toBe("KB5270100");
    refusal(() => findUpdate("KB5270200", JAN20, []), "E_UNKNOWN_KB"); // released 2027-02-09
    refusal(() => findUpdate("KB123", JAN20, []), "E_UNKNOWN_KB");
    refusal(() => findUpdate("KB5271300", JAN20, []), "E_UNKNOWN_KB");
  });
});
