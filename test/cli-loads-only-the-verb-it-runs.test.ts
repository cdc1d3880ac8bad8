/**
 * The command line loads a verb's code only when that verb runs
 * (engine/cli/main.ts VERBS): `patch build` must not pay for the server, the
 * database or the fleet simulator at start-up. The table of verb names is
 * what decides which file to load, so it must say exactly what each file
 * registers; and help still lists every verb.
 */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { VERBS, verbsFor } from "../engine/cli/main.ts";
import { runCli } from "./cli-runner.ts";

const namesRegisteredBy = async (load: (typeof VERBS)[number]["load"]) => {
  const program = new Command("t");
  (await load())(program, () => {});
  return program.commands.map((c) => c.name());
};

describe("the command line's verbs", () => {
  it.each(VERBS.map((v) => [v.names.join(", "), v] as const))("%s: the file registers exactly the names the table lists", async (_, verb) => {
    expect(await namesRegisteredBy(verb.load)).toEqual(verb.names);
  });

  it("loads only the named verb for a command, and every verb otherwise", async () => {
    expect(await verbsFor(["patch", "build"])).toHaveLength(1);
    expect(await verbsFor(["rollback", "vm1"])).toHaveLength(1);
    expect(await verbsFor(["--help"])).toHaveLength(VERBS.length);
    expect(await verbsFor(["no-such-verb"])).toHaveLength(VERBS.length);
  });

  it("lists every verb in the help", async () => {
    const { stdout, stderr } = await runCli(["--help"]);
    const help = stdout + stderr;
    for (const name of VERBS.flatMap((v) => v.names)) expect(help).toMatch(new RegExp(`^\\s+${name}\\b`, "m"));
  });

  it("still reports an unknown verb as a usage error", async () => {
    expect((await runCli(["no-such-verb", "--json"])).status).not.toBe(0);
  });
});
