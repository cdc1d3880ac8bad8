import { describe, expect, it } from "vitest";
import { isAvailabilityFirst, orchestrationSource, POLICY_SOURCES, validateHotpatchPatchMode, validatePatchModeChange } from "../engine/manage/eligibility.ts";
import { parseHost } from "../engine/manage/host.ts";
import { defaultPatchMode, parsePatchMode, parsePolicySource, PATCH_MODES, type PatchMode, patchModesFor } from "../engine/manage/patch-mode.ts";
import { refusal } from "./refusal.ts";

describe("patch modes", () => {
  it("parses names case-insensitively and refuses others", () => {
    expect(parsePatchMode("automaticbyplatform")).toBe("AutomaticByPlatform");
    expect(parsePatchMode(" MANUAL ")).toBe("Manual");
    expect(refusal(() => parsePatchMode("Auto"), "E_USAGE").message).toContain("AutomaticByPlatform, AutomaticByOS, Manual, ImageDefault");
  });

  it("calls only AutomaticByPlatform availability-first", () => {
    const expected: Record<PatchMode, boolean> = {
      AutomaticByPlatform: true,
      AutomaticByOS: false,
      Manual: false,
      ImageDefault: false,
    };
    for (const mode of PATCH_MODES) expect(isAvailabilityFirst(mode), mode).toBe(expected[mode]);
  });

  it("defaults to AutomaticByOS on Windows and ImageDefault on Linux", () => {
    expect(defaultPatchMode()).toBe("AutomaticByOS");
    expect(defaultPatchMode("linux")).toBe("ImageDefault");
    expect(patchModesFor("windows")).toEqual(["AutomaticByPlatform", "AutomaticByOS", "Manual"]);
    expect(patchModesFor("linux")).toEqual(["AutomaticByPlatform", "ImageDefault"]);
  });

  it.each([
    ["AutomaticByOS", "Manual"],
    ["Manual", "AutomaticByOS"],
  ] as const)("refuses switching directly from %s to %s", (from, to) => {
    expect(refusal(() => validatePatchModeChange(from, to), "E_USAGE").message).toContain("AutomaticByPlatform first");
  });

  it.each([
    ["AutomaticByOS", "AutomaticByPlatform"],
    ["AutomaticByPlatform", "Manual"],
    ["Manual", "AutomaticByPlatform"],
    ["AutomaticByPlatform", "AutomaticByOS"],
    ["Manual", "Manual"],
    ["AutomaticByOS", "AutomaticByOS"],
  ] as const)("allows %s -> %s on Windows", (from, to) => {
    expect(() => validatePatchModeChange(from, to)).not.toThrow();
  });

  it("refuses modes the OS does not offer", () => {
    refusal(() => validatePatchModeChange("AutomaticByOS", "ImageDefault"), "E_USAGE");
    refusal(() => validatePatchModeChange("ImageDefault", "Manual", "linux"), "E_USAGE");
    expect(() => validatePatchModeChange("ImageDefault", "AutomaticByPlatform", "linux")).not.toThrow();
  });

  it("requires AutomaticByPlatform for hotpatch on Azure only", () => {
    expect(() => validateHotpatchPatchMode("azure", "AutomaticByPlatform")).not.toThrow();
    for (const mode of ["AutomaticByOS", "Manual", "ImageDefault"] as const) {
      expect(refusal(() => validateHotpatchPatchMode("azure", mode), "E_USAGE").message).toContain(mode);
    }
    expect(() => validateHotpatchPatchMode("azure-stack-hci", "AutomaticByOS")).not.toThrow();
  });
});

describe("orchestration sources", () => {
  it("takes settings from the Azure platform on Azure", () => {
    expect(orchestrationSource("azure")).toMatchObject({ host: "azure", source: "AzurePlatform" });
  });

  it("refuses a policy source on Azure", () => {
    expect(refusal(() => orchestrationSource("azure", "GroupPolicy"), "E_USAGE").message).toContain("Azure Stack HCI");
  });

  it("requires a policy source on Azure Stack HCI", () => {
    expect(refusal(() => orchestrationSource("azure-stack-hci"), "E_USAGE").message).toContain("GroupPolicy, WindowsUpdateClientSettings, SCONFIG, ThirdParty");
  });

  it.each([
    ["GroupPolicy", "Group Policy"],
    ["WindowsUpdateClientSettings", "Windows Update client settings"],
    ["SCONFIG", "Server Core"],
    ["ThirdParty", "third-party patch manager"],
  ])("takes settings from %s on Azure Stack HCI", (source, words) => {
    const answer = orchestrationSource("azure-stack-hci", source);
    expect(answer).toMatchObject({ host: "azure-stack-hci", source });
    expect(answer.description).toContain(words);
  });

  it("parses policy sources and hosts case-insensitively and refuses others", () => {
    expect(POLICY_SOURCES).toHaveLength(4);
    expect(orchestrationSource("azure-stack-hci", "sconfig").source).toBe("SCONFIG");
    expect(parsePolicySource("groupPOLICY")).toBe("GroupPolicy");
    refusal(() => orchestrationSource("azure-stack-hci", "WSUS"), "E_USAGE");
    expect(parseHost("Azure-Stack-HCI")).toBe("azure-stack-hci");
    refusal(() => parseHost("on-premises"), "E_USAGE");
    refusal(() => orchestrationSource("gcp" as "azure"), "E_USAGE");
  });
});
