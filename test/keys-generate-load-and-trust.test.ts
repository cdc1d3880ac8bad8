import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keyId, loadPrivateKey, TrustStore, writeKeyPair } from "../engine/patch/index.ts";
import { generateKeyPair, loadPublicKey, rawKeyId } from "../engine/patch/keys.ts";
import { refusal } from "./refusal.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hotpatch-keys-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function rsaPems(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 1024,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
}

describe("generateKeyPair", () => {
  it("returns a fresh ed25519 pair as PKCS#8 and SPKI PEM that sign and verify together", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(a.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
    const message = Buffer.from("hello");
    expect(verify(null, message, a.publicKeyPem, sign(null, message, a.privateKeyPem))).toBe(true);
  });
});

describe("writeKeyPair", () => {
  it("creates the directory, writes private.pem with mode 0600 and public.pem, and returns the key id", () => {
    const target = join(dir, "nested", "keys");
    const written = writeKeyPair(target);
    expect(written.privateKeyPath).toBe(join(target, "private.pem"));
    expect(written.publicKeyPath).toBe(join(target, "public.pem"));
    expect(statSync(written.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(written.keyId).toBe(keyId(loadPublicKey(written.publicKeyPath)));
    expect(written.keyId).toBe(keyId(loadPrivateKey(written.privateKeyPath)));
  });

  it("refuses with E_IO to overwrite an existing key and leaves it untouched", () => {
    writeKeyPair(dir);
    const before = readFileSync(join(dir, "private.pem"), "utf8");
    refusal(() => writeKeyPair(dir), "E_IO");
    expect(readFileSync(join(dir, "private.pem"), "utf8")).toBe(before);
  });

  it("refuses with E_IO when only public.pem exists, writing nothing", () => {
    writeFileSync(join(dir, "public.pem"), "old");
    expect(() => writeKeyPair(dir)).toThrow(/E_IO: .*public\.pem: refusing to overwrite/);
    expect(() => statSync(join(dir, "private.pem"))).toThrow();
  });
});

describe("loading keys", () => {
  it("fails with E_IO when the key file is missing, naming the path", () => {
    const missing = join(dir, "nope.pem");
    refusal(() => loadPrivateKey(missing), "E_IO");
    refusal(() => loadPublicKey(missing), "E_IO");
    expect(() => loadPublicKey(missing)).toThrow(missing);
  });

  it("fails with E_KEY when the file is not a key or cannot be read as one", () => {
    const garbage = join(dir, "garbage.pem");
    writeFileSync(garbage, "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n");
    refusal(() => loadPrivateKey(garbage), "E_KEY");
    refusal(() => loadPublicKey(garbage), "E_KEY");
    const directory = join(dir, "adir");
    mkdirSync(directory);
    refusal(() => loadPrivateKey(directory), "E_KEY");
  });

  it("fails with E_KEY for keys that are not ed25519", () => {
    const rsa = rsaPems();
    writeFileSync(join(dir, "rsa.pem"), rsa.privateKey);
    writeFileSync(join(dir, "rsa.pub"), rsa.publicKey);
    expect(() => loadPrivateKey(join(dir, "rsa.pem"))).toThrow(/E_KEY: .*expected an ed25519 key, found rsa/);
    expect(() => loadPublicKey(join(dir, "rsa.pub"))).toThrow(/E_KEY: .*expected an ed25519 key, found rsa/);
  });

  it("refuses a private key where a public key is expected, and the reverse", () => {
    const { privateKeyPath, publicKeyPath } = writeKeyPair(dir);
    refusal(() => loadPublicKey(privateKeyPath), "E_KEY");
    refusal(() => loadPrivateKey(publicKeyPath), "E_KEY");
  });
});

describe("keyId", () => {
  it("is the hex SHA-256 of the public key's SPKI DER, the same from the private key", () => {
    const { privateKeyPath, publicKeyPath } = writeKeyPair(dir);
    const publicKey = loadPublicKey(publicKeyPath);
    const expected = createHash("sha256")
      .update(publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    expect(keyId(publicKey)).toBe(expected);
    expect(keyId(publicKey)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyId(loadPrivateKey(privateKeyPath))).toBe(expected);
    expect(rawKeyId(publicKey).toString("hex")).toBe(expected);
  });

  it("differs between key pairs", () => {
    const a = createPublicKey(generateKeyPair().publicKeyPem);
    const b = createPublicKey(generateKeyPair().publicKeyPem);
    expect(keyId(a)).not.toBe(keyId(b));
  });
});

describe("TrustStore", () => {
  it("is built from public key files and finds keys by id", () => {
    const first = writeKeyPair(join(dir, "a"));
    const second = writeKeyPair(join(dir, "b"));
    const store = TrustStore.fromFiles([first.publicKeyPath, second.publicKeyPath]);
    expect(store.size).toBe(2);
    expect(store.has(first.keyId)).toBe(true);
    expect(store.has(first.keyId.toUpperCase())).toBe(true);
    expect(store.get(second.keyId)?.asymmetricKeyType).toBe("ed25519");
    expect(store.has("0".repeat(64))).toBe(false);
    expect(store.get("0".repeat(64))).toBeUndefined();
    expect(store.keyIds().sort()).toEqual([first.keyId, second.keyId].sort());
  });

  it("keeps the parsed key object it was given", () => {
    const key = createPublicKey(generateKeyPair().publicKeyPem);
    const store = new TrustStore([key]);
    expect(store.get(keyId(key))).toBe(key);
    expect(store.add(key)).toBe(keyId(key));
    expect(store.size).toBe(1);
  });

  it("refuses private keys and keys that are not ed25519", () => {
    const store = new TrustStore();
    const pair = generateKeyPairSync("ed25519");
    refusal(() => store.add(pair.privateKey), "E_KEY");
    refusal(() => store.add(createPublicKey(rsaPems().publicKey)), "E_KEY");
    expect(store.size).toBe(0);
  });

  it("fails to build when a listed file is missing", () => {
    refusal(() => TrustStore.fromFiles([join(dir, "missing.pem")]), "E_IO");
  });
});
