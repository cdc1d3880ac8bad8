/**
 * Real artifacts of the catalog, built by the engine and cached on disk.
 *
 * Contracts:
 * - A month's image is `buildImageFromPath` of its release source in the
 *   default image mode (DEFAULT_IMAGE_MODE, `inline`: VMs serve within a few
 *   % of a plain build); a hotpatch is `buildPatch(base = its baseline's
 *   image, target = its source)`, built in the base's mode and signed with
 *   the catalog's key. The builder's verdict is final:
 *   a hotpatch month that the builder classifies requires-baseline is an
 *   error (E_REQUIRES_BASELINE: declare the month an unplanned baseline).
 * - The cache lives in `<state folder>/artifacts/`, keyed by the SHA-256 of
 *   the sources, the image mode, the engine code that builds them
 *   (engine/image, wasm, builder, patch) and, for packages, the key id: a changed template or
 *   builder never reuses a stale build; a process whose engine files changed on disk after
 *   it loaded them writes no build to the cache. Files are written to a temporary name and
 *   renamed: a killed process never leaves a half-written artifact.
 * - The catalog's ed25519 key is created once per state file (meta) and is
 *   the only key VM processes trust. A throw-away state (`:memory:`, as
 *   `hotpatch simulate` uses) may take it from a key file kept beside the
 *   cache instead (`useCatalogKeyFile`), so its packages are cached too.
 * - `defects` (fault injection, release-source.ts), and the defects recorded
 *   in the state (release-defects.ts), stamp a defect into the sources of
 *   those months; the cache keys follow the sources, so a
 *   defective build never stands in for a sound one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPatch } from "../builder/index.ts";
import { HotpatchError } from "../errors.ts";
import { buildImageFromPath, DEFAULT_IMAGE_MODE, type Image } from "../image/index.ts";
import { keyId, TrustStore } from "../patch/index.ts";
import type { LineSpec, MonthId } from "./calendar.ts";
import { recordedDefect } from "./release-defects.ts";
import { RELEASE_FILE_NAME, type ReleaseDefect, releaseSource } from "./release-source.ts";
import type { Store } from "./store.ts";

const CATALOG_KEY = "catalog_private_key";
/** The mode of every release image (and so of every hotpatch built against one). */
const IMAGE_MODE = DEFAULT_IMAGE_MODE;

export interface HotpatchArtifact {
  kb: string;
  package: Uint8Array;
  functions: string[];
}

export class Artifacts {
  readonly dir: string;
  readonly trust: TrustStore;
  private readonly privateKey: KeyObject;
  private readonly keyId: string;
  private readonly images = new Map<string, Promise<Image>>();
  private readonly packages = new Map<string, Promise<HotpatchArtifact>>();

  constructor(
    private readonly store: Store,
    dir?: string,
    private readonly defects: Readonly<Record<MonthId, ReleaseDefect>> = {},
  ) {
    this.dir = dir ?? join(store.path === ":memory:" ? join(process.cwd(), ".hotpatch") : dirname(store.path), "artifacts");
    const { privateKey, publicKey } = catalogKey(store);
    this.privateKey = privateKey;
    this.keyId = keyId(publicKey);
    this.trust = new TrustStore([publicKey]);
  }

  /** The image of a month's OS release (a baseline, or a cumulative image for VMs without hotpatch). */
  image(month: MonthId, line: LineSpec): Promise<Image> {
    const source = this.source(month, line);
    let built = this.images.get(source.hash);
    if (!built) {
      built = this.buildImage(source);
      this.images.set(source.hash, built);
    }
    return built;
  }

  /** The signed hotpatch of a month against its baseline. */
  hotpatch(kb: string, month: MonthId, baselineMonth: MonthId, line: LineSpec): Promise<HotpatchArtifact> {
    const base = this.source(baselineMonth, line);
    const target = this.source(month, line);
    const cacheKey = `${kb}-${base.hash.slice(0, 16)}-${target.hash.slice(0, 16)}-${this.keyId.slice(0, 16)}`;
    let built = this.packages.get(cacheKey);
    if (!built) {
      built = this.buildHotpatch(kb, cacheKey, baselineMonth, target, line);
      this.packages.set(cacheKey, built);
    }
    return built;
  }

  private source(month: MonthId, line: LineSpec): { text: string; hash: string; path: string } {
    const text = releaseSource(month, line, this.defects[month] ?? recordedDefect(this.store, month));
    const hash = createHash("sha256").update(BUILDER_HASH).update(IMAGE_MODE).update(text).digest("hex");
    const path = join(this.dir, "src", hash.slice(0, 24), RELEASE_FILE_NAME);
    if (!existsSync(path)) writeAtomically(path, text);
    return { text, hash, path };
  }

  private async buildImage(source: { hash: string; path: string }): Promise<Image> {
    const cached = join(this.dir, "images", `${source.hash.slice(0, 24)}.image.wasm`);
    if (existsSync(cached)) return buildImageFromPath(cached);
    const image = await buildImageFromPath(source.path, { mode: IMAGE_MODE });
    writeAtomically(cached, image.bytes);
    return image;
  }

  private async buildHotpatch(
    kb: string,
    cacheKey: string,
    baselineMonth: MonthId,
    target: { path: string },
    line: LineSpec,
  ): Promise<HotpatchArtifact> {
    const file = join(this.dir, "packages", `${cacheKey}.hpk`);
    const meta = `${file}.json`;
    if (existsSync(file) && existsSync(meta)) {
      return { kb, package: new Uint8Array(readFileSync(file)), functions: JSON.parse(readFileSync(meta, "utf8")) as string[] };
    }
    const base = await this.image(baselineMonth, line);
    const result = await buildPatch({ base, target: target.path, id: kb, key: this.privateKey, classification: "Security", title: `Hotpatch ${kb}` });
    if (result.kind !== "hotpatch") {
      throw new HotpatchError(
        "E_REQUIRES_BASELINE",
        `the release cannot be a hotpatch against baseline ${baselineMonth}: ${result.kind === "no-change" ? "no code changed" : result.reasons.join("; ")}`,
        { patch: kb },
      );
    }
    const functions = result.functions.map((f) => f.key);
    writeAtomically(file, result.package);
    writeAtomically(meta, JSON.stringify(functions));
    return { kb, package: result.package, functions };
  }
}

/**
 * A hash of the engine code that turns sources into images and packages,
 * read from disk when this module is evaluated: right after that code was
 * loaded, so a cache entry is keyed by the code that built it even while
 * the engine's files are being edited by someone else (a hash taken later
 * could describe newer files than the code running).
 */
const BUILDER_HASH = hashBuilderCode();

function hashBuilderCode(): string {
  const hash = createHash("sha256");
  for (const folder of ["image", "wasm", "builder", "patch"]) {
    const dir = fileURLToPath(new URL(`../${folder}/`, import.meta.url));
    for (const name of readdirSync(dir).sort()) if (name.endsWith(".ts")) hash.update(name).update(readFileSync(join(dir, name)));
  }
  return hash.digest("hex");
}

/** The catalog's signing key, created on first use and kept in the state file. */
function catalogKey(store: Store): { privateKey: KeyObject; publicKey: KeyObject } {
  let pem = store.meta(CATALOG_KEY);
  if (pem === undefined) {
    const pair = generateKeyPairSync("ed25519");
    pem = pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    store.setMeta(CATALOG_KEY, pem);
  }
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * Makes `store` sign with the key in `file` (PKCS#8 PEM), creating the file on
 * first use; concurrent first uses agree on one key (the file is created by
 * a hard link, which fails if another process created it first). Call before
 * the store's artifacts are first used; a store that has a key keeps it.
 */
export function useCatalogKeyFile(store: Store, file: string): void {
  if (store.meta(CATALOG_KEY) !== undefined) return;
  if (!existsSync(file)) {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(temporary, pem, { mode: 0o600 });
      linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new HotpatchError("E_IO", `cannot write the catalog key: ${(error as Error).message}`, { path: file });
      }
    } finally {
      if (existsSync(temporary)) unlinkSync(temporary);
    }
  }
  try {
    store.setMeta(CATALOG_KEY, createPrivateKey(readFileSync(file, "utf8")).export({ format: "pem", type: "pkcs8" }).toString());
  } catch (error) {
    throw new HotpatchError("E_KEY", `cannot read the catalog key: ${(error as Error).message}`, { path: file });
  }
}

function writeAtomically(path: string, data: Uint8Array | string): void {
  // Engine files edited since this process loaded them: what it builds would be cached under a
  // key that no longer describes the code that built it, so it stays in memory only.
  if (path.endsWith(".wasm") || path.includes(".hpk")) {
    if (hashBuilderCode() !== BUILDER_HASH) return;
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot write an artifact: ${(error as Error).message}`, { path });
  }
}
