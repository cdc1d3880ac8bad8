/**
 * The patches a scenario applies, built before anything runs: good ones from
 * an AssemblyScript source (relative to the scenario), faulty ones by kind
 * (faulty-patches.ts; package faults are made from a good fix of kvstore v1,
 * built once, when the first one needs it).
 *
 * Contract: one package per patch id, built at its first apply action, in
 * action order (the map keeps that order); every package is signed with the
 * run's key. A source that does not build as a hotpatch of the image throws
 * E_USAGE naming the action.
 */
import type { KeyObject } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import type { Image } from "../image/index.ts";
import { FAULTY_KINDS, type FaultyKind, faultyPatch } from "./faulty-patches.ts";
import type { Scenario } from "./scenario.ts";

const GOOD_FIX = fileURLToPath(new URL("../../assembly/kvstore/v2.ts", import.meta.url));

export interface ScenarioPackage {
  bytes: Uint8Array;
  /** "good", or the faulty kind. */
  kind: string;
}

export interface PackageBuild {
  scenario: Scenario;
  /** The scenario file, as given (for errors), and its folder. */
  path: string;
  dir: string;
  image: Image;
  key: KeyObject;
}

/** The packages by patch id, in the order of their first apply action. */
export async function buildPackages({ scenario, path, dir, image, key }: PackageBuild): Promise<Map<string, ScenarioPackage>> {
  const packages = new Map<string, ScenarioPackage>();
  let good: Uint8Array | undefined;
  for (const [i, a] of scenario.actions.entries()) {
    if (a.apply === undefined || packages.has(a.apply)) continue;
    if (a.source !== undefined) {
      const built = await buildPatch({ base: image, target: resolve(dir, a.source), id: a.apply, key });
      if (built.kind !== "hotpatch") throw new HotpatchError("E_USAGE", `actions[${i}]: ${a.source} is not a hotpatch of the image (${built.kind})`, { path });
      packages.set(a.apply, { bytes: built.package, kind: "good" });
    } else {
      const kind = a.faulty!;
      if (!(FAULTY_KINDS[kind] as FaultyKind).source && good === undefined) {
        const built = await buildPatch({ base: image, target: GOOD_FIX, id: "KB5036001", key });
        good = built.kind === "hotpatch" ? built.package : undefined;
      }
      const bytes = await faultyPatch({ kind, base: image, good: good ?? new Uint8Array(), key, id: a.apply, seed: scenario.seed + i });
      packages.set(a.apply, { bytes, kind });
    }
  }
  return packages;
}

/** The ids of the faulty packages, in map order. */
export function faultyPatchIds(packages: ReadonlyMap<string, ScenarioPackage>): string[] {
  return [...packages].filter(([, p]) => p.kind !== "good").map(([id]) => id);
}
