/**
 * `hotpatch token`: prints a bearer token that `hotpatch serve` accepts (an
 * unsigned JWT for ARM's audience; the emulator checks lifetime and audience,
 * not signatures — loopback and test networks only).
 */
import type { Command } from "commander";
import { DEFAULT_TOKEN_SECONDS, mintToken } from "../serve/index.ts";
import { parseDuration } from "../manage/index.ts";
import { guarded, printJson } from "./output.ts";

export function registerToken(program: Command, setExit: (code: number) => void): void {
  program
    .command("token")
    .description("print a bearer token for hotpatch serve's API")
    .option("--expires-in <ISO 8601>", "the token's lifetime", `PT${DEFAULT_TOKEN_SECONDS}S`)
    .option("--json", "print { accessToken, expiresOn } as JSON")
    .action(
      guarded(setExit, (options: { expiresIn: string; json?: boolean }) => {
        const seconds = Math.floor(parseDuration(options.expiresIn) / 1000);
        const now = new Date();
        const token = mintToken(now, seconds);
        if (options.json) printJson({ accessToken: token, expiresOn: new Date(now.getTime() + seconds * 1000).toISOString(), tokenType: "Bearer" });
        else process.stdout.write(`${token}\n`);
        return 0;
      }),
    );
}
