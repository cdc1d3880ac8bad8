/**
 * Ed25519 signing keys and the set of keys a process trusts.
 *
 * Keys are stored as PEM: the private key as PKCS#8, the public key as SPKI.
 * A key's id is the hex SHA-256 of its public key's SPKI DER encoding; the
 * package format carries the same 32 bytes raw.
 *
 * Loaded keys are kept as parsed `KeyObject`s: PEM parsing costs far more
 * than an ed25519 verification, so nothing on the apply path parses PEM.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HotpatchError } from "../errors.ts";

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519", {
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * Generates a key pair into `dir` (created if missing) as `private.pem`
 * (mode 0600) and `public.pem`. Refuses with E_IO to overwrite an existing
 * key file: losing a signing key is not something to do by accident.
 */
export function writeKeyPair(dir: string): { privateKeyPath: string; publicKeyPath: string; keyId: string } {
  const privateKeyPath = join(dir, "private.pem");
  const publicKeyPath = join(dir, "public.pem");
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (existsSync(path)) throw new HotpatchError("E_IO", "refusing to overwrite an existing key file", { path });
  }
  const pair = generateKeyPair();
  try {
    mkdirSync(dir, { recursive: true });
    // "wx" also refuses a file that appeared meanwhile; the mode applies at creation, so the key is never world-readable.
    writeFileSync(privateKeyPath, pair.privateKeyPem, { mode: 0o600, flag: "wx" });
    writeFileSync(publicKeyPath, pair.publicKeyPem, { mode: 0o644, flag: "wx" });
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot write key pair (${describe(error)})`, { path: dir });
  }
  return { privateKeyPath, publicKeyPath, keyId: keyId(createPublicKey(pair.publicKeyPem)) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new HotpatchError("E_IO", "key file does not exist", { path });
    }
    throw new HotpatchError("E_KEY", `cannot read key file (${describe(error)})`, { path });
  }
}

function requireEd25519(key: KeyObject, path?: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") {
    throw new HotpatchError("E_KEY", `expected an ed25519 key, found ${key.asymmetricKeyType ?? key.type}`, { path });
  }
  return key;
}

/** Parses a PKCS#8 PEM ed25519 private key. E_IO if the file is missing, E_KEY otherwise. */
export function loadPrivateKey(path: string): KeyObject {
  const pem = readKeyFile(path);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new HotpatchError("E_KEY", `not a PEM private key (${describe(error)})`, { path });
  }
  return requireEd25519(key, path);
}

/**
 * Parses an SPKI PEM ed25519 public key. A private key file is refused (E_KEY)
 * even though a public key could be derived from it: trust lists must not
 * point at secrets.
 */
export function loadPublicKey(path: string): KeyObject {
  const pem = readKeyFile(path);
  if (!pem.includes("-----BEGIN PUBLIC KEY-----")) {
    throw new HotpatchError("E_KEY", "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)", { path });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new HotpatchError("E_KEY", `not a PEM public key (${describe(error)})`, { path });
  }
  return requireEd25519(key, path);
}

/** The 32-byte key id: SHA-256 of the SPKI DER of the public key (derived if `key` is private). */
export function rawKeyId(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  if (publicKey.type !== "public") throw new HotpatchError("E_KEY", `a ${key.type} key has no key id`);
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest();
}

/** `rawKeyId` as 64 lowercase hex characters. */
export function keyId(key: KeyObject): string {
  return rawKeyId(key).toString("hex");
}

/** The public keys a process accepts patches from, indexed by key id. */
export class TrustStore {
  readonly #keys = new Map<string, KeyObject>();

  constructor(publicKeys: Iterable<KeyObject> = []) {
    for (const key of publicKeys) this.add(key);
  }

  /** Loads each path with `loadPublicKey`; the first bad file fails the whole store. */
  static fromFiles(paths: Iterable<string>): TrustStore {
    const store = new TrustStore();
    for (const path of paths) store.add(loadPublicKey(path));
    return store;
  }

  /** Trusts `publicKey` (ed25519, public) and returns its key id. Adding a key twice is harmless. */
  add(publicKey: KeyObject): string {
    if (publicKey.type !== "public") throw new HotpatchError("E_KEY", `a trust store holds public keys, not ${publicKey.type} keys`);
    requireEd25519(publicKey);
    const id = keyId(publicKey);
    this.#keys.set(id, publicKey);
    return id;
  }

  has(id: string): boolean {
    return this.#keys.has(id.toLowerCase());
  }

  get(id: string): KeyObject | undefined {
    return this.#keys.get(id.toLowerCase());
  }

  get size(): number {
    return this.#keys.size;
  }

  keyIds(): string[] {
    return [...this.#keys.keys()];
  }
}
