/**
 * Shared set-up for management-plane tests: a fresh state file per test in a
 * temporary folder, and one artifact cache for every test file (builds are
 * keyed by source and builder hash, written atomically, so files can share it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Faults, Session, Store } from "../engine/manage/index.ts";

export const CORE = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core";
export const STANDARD = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition";
export const SHARED_ARTIFACTS = join(tmpdir(), "wasm-hotpatch-test-artifacts");

const folders: string[] = [];

export function tempFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "hotpatch-manage-"));
  folders.push(dir);
  return dir;
}

export function removeTempFolders(): void {
  for (const d of folders.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function freshSession(faults?: Faults): Session {
  return new Session(Store.open(join(tempFolder(), "state.db")), { artifactsDir: SHARED_ARTIFACTS, seed: 7, faults });
}
