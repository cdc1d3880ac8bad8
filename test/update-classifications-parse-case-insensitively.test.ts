import { describe, expect, it } from "vitest";
import { type Classification, CLASSIFICATIONS, isAutoInstallable, needsReboot, parseClassification, parseUpdateKind } from "../engine/manage/classification.ts";
import { parseClassificationList } from "../engine/manage/index.ts";
import { refusal } from "./refusal.ts";

describe("update classifications", () => {
  it("lists the eight classifications", () => {
    expect([...CLASSIFICATIONS]).toEqual([
      "Critical", "Security", "UpdateRollup", "FeaturePack", "ServicePack", "Definition", "Tools", "Updates",
    ]);
  });

  it.each([
    ["security", "Security"],
    [" CRITICAL ", "Critical"],
    ["updaterollup", "UpdateRollup"],
    ["FEATUREPACK", "FeaturePack"],
    ["servicePack", "ServicePack"],
    ["definition", "Definition"],
    ["tools", "Tools"],
    ["Updates", "Updates"],
  ])("parses %j as %s", (input, canonical) => {
    expect(parseClassification(input)).toBe(canonical);
  });

  it.each(["Important", "", "Update", "Security Updates"])("refuses %j", (input) => {
    const error = refusal(() => parseClassification(input), "E_USAGE");
    expect(error.message).toContain("Critical, Security, UpdateRollup");
  });

  it("parses a list into catalogue order without duplicates", () => {
    expect(parseClassificationList("Critical,Security")).toEqual(["Critical", "Security"]);
    expect(parseClassificationList("tools, security ,critical")).toEqual(["Critical", "Security", "Tools"]);
    expect(parseClassificationList("Security,security,SECURITY")).toEqual(["Security"]);
  });

  it.each(["", "  ", "Critical,,Security", "Critical,", "Critical,Bogus"])("refuses the list %j", (input) => {
    refusal(() => parseClassificationList(input), "E_USAGE");
  });

  it("auto-installs only Critical and Security", () => {
    const table: Record<Classification, boolean> = {
      Critical: true,
      Security: true,
      UpdateRollup: false,
      FeaturePack: false,
      ServicePack: false,
      Definition: false,
      Tools: false,
      Updates: false,
    };
    for (const c of CLASSIFICATIONS) expect(isAutoInstallable(c), c).toBe(table[c]);
  });
});

describe("update kinds", () => {
  it("needs a reboot for everything but a hotpatch", () => {
    expect(needsReboot("hotpatch")).toBe(false);
    expect(needsReboot("baseline")).toBe(true);
    expect(needsReboot("non-hotpatch")).toBe(true);
  });

  it("parses kinds case-insensitively and refuses others", () => {
    expect(parseUpdateKind("HOTPATCH")).toBe("hotpatch");
    expect(parseUpdateKind("Non-Hotpatch")).toBe("non-hotpatch");
    refusal(() => parseUpdateKind("reboot"), "E_USAGE");
  });
});
