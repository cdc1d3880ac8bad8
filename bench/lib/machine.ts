/** The machine and versions a run was measured on, recorded in every result. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGES = ["assemblyscript", "@assemblyscript/loader", "binaryen", "benchmark", "hdr-histogram-js", "tsx", "commander"];

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  loadAverageAtStart: number[];
  node: string;
  v8: string;
  packages: Record<string, string>;
  project: { version: string; commit: string | null; dirty: boolean | null };
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")).version;
  } catch {
    return "missing";
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  const status = git(["status", "--porcelain"]);
  return {
    cpuModel: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
    project: {
      version: JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).version,
      commit: git(["rev-parse", "--short", "HEAD"]),
      dirty: status === null ? null : status.length > 0,
    },
  };
}
