/** `hotpatch keys generate --out <dir>`: an ed25519 signing key pair. */
import type { Command } from "commander";
import { writeKeyPair } from "../patch/index.ts";
import { guarded, printJson, say } from "./output.ts";

export function registerKeys(program: Command, setExit: (code: number) => void): void {
  const keys = program.command("keys").description("manage patch signing keys");
  keys
    .command("generate")
    .description("write private.pem and public.pem (ed25519) into a folder")
    .requiredOption("--out <dir>", "folder for the key pair (created if missing; existing keys are never overwritten)")
    .option("--json", "print the result as JSON")
    .action(
      guarded(setExit, (options: { out: string; json?: boolean }) => {
        const written = writeKeyPair(options.out);
        if (options.json) printJson(written);
        else say(options, `wrote ${written.privateKeyPath} and ${written.publicKeyPath} (key id ${written.keyId.slice(0, 16)}…)`);
        return 0;
      }),
    );
}
