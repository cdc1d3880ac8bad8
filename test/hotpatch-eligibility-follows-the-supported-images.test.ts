import { describe, expect, it } from "vitest";
import { checkHotpatchEligibility, checkScaleSet, formatImageReference, parseImageReference } from "../engine/manage/eligibility.ts";
import { refusal } from "./refusal.ts";

const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";

describe("parseImageReference", () => {
  it("defaults the version to latest", () => {
    expect(parseImageReference(CORE)).toEqual({
      publisher: "MicrosoftWindowsServer",
      offer: "WindowsServer",
      sku: "2022-datacenter-azure-edition-core",
      version: "latest",
    });
  });

  it("keeps an explicit version and formats back", () => {
    const ref = parseImageReference(`${CORE}:20348.2700.240905`);
    expect(ref.version).toBe("20348.2700.240905");
    expect(formatImageReference(ref)).toBe(`${CORE}:20348.2700.240905`);
  });

  it.each(["", "a:b", "a:b:c:d:e", "a::c", ":b:c", "a:b:c:", "a b:c:d", "a:b:c d", "MicrosoftWindowsServer/WindowsServer/x"])(
    "refuses %j",
    (urn) => {
      expect(refusal(() => parseImageReference(urn), "E_USAGE").message).toContain("publisher:offer:sku[:version]");
    },
  );
});

describe("checkHotpatchEligibility", () => {
  it.each([
    ["2022-datacenter-azure-edition-core", "image"],
    ["2022-datacenter-azure-edition-core-smalldisk", "image"],
    ["2022-datacenter-azure-edition-hotpatch", "portal"],
    ["2022-datacenter-azure-edition-hotpatch-smalldisk", "portal"],
  ])("accepts %s on both hosts, on by default via the %s", (sku, defaultBy) => {
    for (const host of ["azure", "azure-stack-hci"] as const) {
      expect(checkHotpatchEligibility(`MicrosoftWindowsServer:WindowsServer:${sku}:latest`, { host })).toEqual({
        eligible: true,
        reasons: [],
        hotpatchDefault: true,
        defaultBy,
      });
    }
  });

  it("accepts a parsed reference and names in another letter case", () => {
    expect(checkHotpatchEligibility(parseImageReference(CORE), { host: "azure" }).eligible).toBe(true);
    const lower = "microsoftwindowsserver:windowsserver:2022-Datacenter-Azure-Edition-Core";
    expect(checkHotpatchEligibility(lower, { host: "azure" })).toMatchObject({ eligible: true, defaultBy: "image" });
  });

  it.each([
    "2022-datacenter-azure-edition",
    "2022-datacenter-azure-edition-smalldisk",
    "2022-datacenter",
    "2022-datacenter-core",
    "2019-datacenter-core",
    "2025-datacenter",
  ])("refuses the SKU %s", (sku) => {
    const verdict = checkHotpatchEligibility(`MicrosoftWindowsServer:WindowsServer:${sku}`, { host: "azure" });
    expect(verdict.eligible).toBe(false);
    expect(verdict.hotpatchDefault).toBe(false);
    expect(verdict.defaultBy).toBeNull();
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toContain(`the SKU ${sku} does not support hotpatch`);
  });

  it("refuses another publisher and offer, giving every reason", () => {
    const verdict = checkHotpatchEligibility("Canonical:0001-com-ubuntu-server-jammy:22_04-lts", { host: "azure" });
    expect(verdict.eligible).toBe(false);
    expect(verdict.reasons).toHaveLength(3);
    expect(verdict.reasons.join("\n")).toMatch(/publisher is Canonical/);
    expect(verdict.reasons.join("\n")).toMatch(/offer is 0001-com-ubuntu-server-jammy/);
  });

  it("refuses the right SKU under another offer", () => {
    const verdict = checkHotpatchEligibility(
      "MicrosoftWindowsServer:WindowsServer-HUB:2022-datacenter-azure-edition-core",
      { host: "azure" },
    );
    expect(verdict.eligible).toBe(false);
    expect(verdict.reasons).toEqual([expect.stringContaining("WindowsServer-HUB")]);
  });

  it("refuses container base images and custom images even with a supported SKU", () => {
    const container = checkHotpatchEligibility(CORE, { host: "azure", containerBaseImage: true });
    expect(container).toMatchObject({ eligible: false, hotpatchDefault: false });
    expect(container.reasons).toEqual([expect.stringContaining("container base images are not supported")]);
    const custom = checkHotpatchEligibility(CORE, { host: "azure-stack-hci", customImage: true });
    expect(custom.reasons).toEqual([expect.stringContaining("custom images are not supported")]);
    const both = checkHotpatchEligibility(CORE, { host: "azure", containerBaseImage: true, customImage: true });
    expect(both.reasons).toHaveLength(2);
    expect(checkHotpatchEligibility(CORE, { host: "azure", containerBaseImage: false, customImage: false }).eligible).toBe(true);
  });

  it("requires AutomaticByPlatform on Azure but not on Azure Stack HCI", () => {
    const byOs = checkHotpatchEligibility(CORE, { host: "azure", patchMode: "AutomaticByOS" });
    expect(byOs.eligible).toBe(false);
    expect(byOs.reasons).toEqual([expect.stringContaining("requires AutomaticByPlatform")]);
    expect(checkHotpatchEligibility(CORE, { host: "azure", patchMode: "AutomaticByPlatform" }).eligible).toBe(true);
    expect(checkHotpatchEligibility(CORE, { host: "azure-stack-hci", patchMode: "AutomaticByOS" }).eligible).toBe(true);
  });

  it("refuses an unknown host or a malformed image as bad input", () => {
    refusal(() => checkHotpatchEligibility(CORE, { host: "aws" as "azure" }), "E_USAGE");
    refusal(() => checkHotpatchEligibility("not-an-image", { host: "azure" }), "E_USAGE");
  });
});

describe("checkScaleSet", () => {
  it("refuses Uniform orchestration with a hotpatch image", () => {
    const verdict = checkScaleSet({ orchestration: "Uniform", image: CORE, hotpatch: true });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toEqual([expect.stringMatching(/Uniform orchestration.*use Flexible/)]);
  });

  it("allows Flexible orchestration with a hotpatch image", () => {
    const hotpatchSku = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-hotpatch-smalldisk";
    expect(checkScaleSet({ orchestration: "Flexible", image: hotpatchSku, hotpatch: true })).toEqual({
      allowed: true,
      reasons: [],
    });
  });

  it("allows Uniform orchestration when hotpatch is off", () => {
    expect(checkScaleSet({ orchestration: "Uniform", image: CORE, hotpatch: false }).allowed).toBe(true);
  });

  it("refuses hotpatch on an unsupported image whatever the orchestration", () => {
    const verdict = checkScaleSet({
      orchestration: "Flexible",
      image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter",
      hotpatch: true,
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toEqual([expect.stringContaining("2022-datacenter does not support hotpatch")]);
  });

  it("refuses an unknown orchestration or malformed image as bad input", () => {
    refusal(() => checkScaleSet({ orchestration: "Mixed" as "Uniform", image: CORE, hotpatch: true }), "E_USAGE");
    refusal(() => checkScaleSet({ orchestration: "Flexible", image: "a:b", hotpatch: false }), "E_USAGE");
  });
});
