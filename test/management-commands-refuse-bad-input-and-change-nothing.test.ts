import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-runner.ts";
import { CORE, removeTempFolders, tempFolder } from "./manage-fixtures.ts";

afterAll(removeTempFolders);

describe("management commands with --json", () => {
  const state = join(tempFolder(), "state.db");
  const digest = () => createHash("sha256").update(readFileSync(state)).digest("hex");

  it("create a VM and print it as one JSON document", async () => {
    const { status, stdout } = await runCli(["vm", "create", "web1", "--image", CORE, "--state", state, "--now", "2027-01-20T12:00:00Z", "--json"]);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ name: "web1", hotpatch: true, osBuild: "20348.4100" });
  });

  const refusals: [string, string[], string][] = [
    ["an unknown VM", ["status", "ghost"], "E_UNKNOWN_VM"],
    ["an unknown KB", ["install", "web1", "--include", "KB5999999"], "E_UNKNOWN_KB"],
    ["a bad classification", ["install", "web1", "--classifications", "Security,Cosmetic"], "E_USAGE"],
    ["a malformed duration", ["install", "web1", "--max-duration", "2 hours"], "E_USAGE"],
    ["a bad reboot setting", ["install", "web1", "--reboot", "Sometimes"], "E_USAGE"],
    ["a malformed date", ["assess", "web1", "--now", "2027-13-01T00:00:00Z"], "E_USAGE"],
    ["a date before the clock", ["assess", "web1", "--now", "2026-01-01T00:00:00Z"], "E_CLOCK"],
    ["an impossible time zone", ["vm", "set", "web1", "--timezone", "Mars/Olympus"], "E_USAGE"],
    ["an ineligible image", ["vm", "create", "web2", "--image", "Canonical:ubuntu:22_04-lts", "--hotpatch", "on"], "E_NOT_ELIGIBLE"],
    ["a Uniform scale set", ["vm", "create", "web3", "--image", CORE, "--scale-set", "Uniform"], "E_NOT_ELIGIBLE"],
    ["hotpatch without AutomaticByPlatform", ["vm", "set", "web1", "--patch-mode", "AutomaticByOS"], "E_NOT_ELIGIBLE"],
    ["uninstalling what is not installed", ["uninstall", "web1", "KB5270200"], "E_UNKNOWN_KB"],
    ["a bad history window", ["history", "web1", "--days", "0"], "E_USAGE"],
    ["an unplanned baseline on a planned month", ["catalog", "unplanned", "2027-07"], "E_USAGE"],
  ];
  for (const [what, args, code] of refusals) {
    it(`refuse ${what} with ${code}, exit non-zero, and leave the state file as it was`, async () => {
      const before = digest();
      const { status, stdout } = await runCli([...args, "--state", state, "--json"]);
      expect(status).not.toBe(0);
      expect(JSON.parse(stdout).error.code).toBe(code);
      expect(digest()).toBe(before);
    });
  }

  const badPlans: [string, string][] = [
    ["text that is not JSON", "{seed: 1"],
    ["a plan without rules", '{"seed": 1}'],
    ["a rule naming an unknown point", '{"seed": 1, "rules": [{"point": "install.everything", "mode": "kill"}]}'],
    ["a rule with an unknown mode", '{"seed": 1, "rules": [{"point": "install.apply", "mode": "explode"}]}'],
  ];
  for (const [what, plan] of badPlans) {
    it(`refuse a HOTPATCH_FAULT_PLAN of ${what} with E_USAGE naming it, install nothing, and leave the state file as it was`, async () => {
      const before = digest();
      process.env.HOTPATCH_FAULT_PLAN = plan;
      try {
        const { status, stdout } = await runCli(["install", "web1", "--state", state, "--json"]);
        expect(status).not.toBe(0);
        expect(JSON.parse(stdout).error).toMatchObject({ code: "E_USAGE", message: expect.stringContaining("HOTPATCH_FAULT_PLAN") });
      } finally {
        delete process.env.HOTPATCH_FAULT_PLAN;
      }
      expect(digest()).toBe(before);
    });
  }

  it("print the schedule of a year with an unplanned baseline", async () => {
    const { status, stdout } = await runCli(["schedule", "--year", "2027", "--unplanned", "2027-05", "--json"]);
    expect(status).toBe(0);
    const months = JSON.parse(stdout).months as { month: string; type: string; planned: boolean; kb: string }[];
    expect(months.filter((m) => m.type === "baseline").map((m) => `${m.month}${m.planned ? "" : "!"}`)).toEqual(["2027-01", "2027-04", "2027-05!", "2027-07", "2027-10"]);
    expect(months[1]).toMatchObject({ month: "2027-02", type: "hotpatch", kb: "KB5270200" });
  });
});
