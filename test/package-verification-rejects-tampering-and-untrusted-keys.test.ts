import { describe, expect, it } from "vitest";
import type { HotpatchError } from "../engine/errors.ts";
import type { DecodedPackage } from "../engine/patch/package.ts";
import { decodePackage, encodePackage, keyId, resignPackage, TrustStore, verifyPackage } from "../engine/patch/index.ts";
import { newKey, sampleCode, sampleManifest, samplePackage } from "./package-fixtures.ts";
import { refusal } from "./refusal.ts";

const signer = newKey();
const trust = new TrustStore([signer.publicKey]);

function manifestRange(bytes: Uint8Array): [number, number] {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return [12, 12 + length];
}

describe("verifyPackage", () => {
  it("accepts a package signed by a trusted key", () => {
    expect(() => verifyPackage(decodePackage(samplePackage(signer)), trust)).not.toThrow();
  });

  it("fails with E_SIGNATURE when one bit of the manifest is flipped", () => {
    const bytes = samplePackage(signer);
    const [start] = manifestRange(bytes);
    // Flip the low bit of a digit inside "KB5036001" so the JSON stays valid.
    const at = Buffer.from(bytes).indexOf("5036001", start) + 6;
    bytes[at] ^= 0x01;
    const decoded = decodePackage(bytes);
    expect(decoded.manifest.id).toBe("KB5036000");
    const error = refusal(() => verifyPackage(decoded, trust), "E_SIGNATURE");
    expect(error.message).toContain("patch KB5036000");
  });

  it("fails with E_SIGNATURE for a flipped bit anywhere in the signed part or the signature", () => {
    const original = samplePackage(signer);
    let verified = 0;
    for (let at = 0; at < original.length; at++) {
      if (at >= original.length - 96 && at < original.length - 64) continue; // the key id: see below
      const bytes = original.slice();
      bytes[at] ^= 0x10;
      let decoded: DecodedPackage;
      try {
        decoded = decodePackage(bytes);
      } catch (error) {
        expect((error as HotpatchError).code, `bit at ${at}`).toBe("E_FORMAT");
        continue;
      }
      refusal(() => verifyPackage(decoded, trust), "E_SIGNATURE");
      verified++;
    }
    expect(verified).toBeGreaterThan(0);
  });

  it("fails with E_UNTRUSTED_KEY when the key id in the signature block is changed", () => {
    const bytes = samplePackage(signer);
    bytes[bytes.length - 96] ^= 0x01;
    refusal(() => verifyPackage(decodePackage(bytes), trust), "E_UNTRUSTED_KEY");
  });

  it("fails with E_UNTRUSTED_KEY for a package signed by another key, naming the key id and the patch", () => {
    const stranger = newKey();
    const error = refusal(() => verifyPackage(decodePackage(samplePackage(stranger)), trust), "E_UNTRUSTED_KEY");
    expect(error.message).toContain("patch KB5036001");
    expect(error.message).toContain(keyId(stranger.publicKey).slice(0, 16));
    expect(error.message).not.toContain(keyId(stranger.publicKey).slice(0, 17));
  });

  it("fails with E_SIGNATURE when a trusted key id is paired with another key's signature", () => {
    const stranger = newKey();
    const forged = samplePackage(stranger);
    const genuine = samplePackage(signer);
    forged.set(genuine.subarray(genuine.length - 96, genuine.length - 64), forged.length - 96);
    refusal(() => verifyPackage(decodePackage(forged), trust), "E_SIGNATURE");
  });

  it("trusts a package once its signer's key is added", () => {
    const other = newKey();
    const decoded = decodePackage(samplePackage(other));
    const store = new TrustStore([signer.publicKey]);
    refusal(() => verifyPackage(decoded, store), "E_UNTRUSTED_KEY");
    store.add(other.publicKey);
    expect(() => verifyPackage(decoded, store)).not.toThrow();
  });

  it("omits the patch from the message when the manifest has no string id", () => {
    const stranger = newKey();
    const manifest = { ...sampleManifest(), id: 5 } as unknown as ReturnType<typeof sampleManifest>;
    const bytes = encodePackage({ manifest, code: sampleCode() }, stranger.privateKey, { validate: false });
    expect(refusal(() => verifyPackage(decodePackage(bytes), trust), "E_UNTRUSTED_KEY").message).toMatch(/^E_UNTRUSTED_KEY: signed by key [0-9a-f]{16},/);
  });
});

describe("resignPackage", () => {
  it("makes a package with a mutated manifest verify again", () => {
    const bytes = samplePackage(signer);
    const at = Buffer.from(bytes).indexOf("Fix");
    bytes[at] = "M".charCodeAt(0);
    refusal(() => verifyPackage(decodePackage(bytes), trust), "E_SIGNATURE");
    const resigned = resignPackage(bytes, signer.privateKey);
    expect(resigned.length).toBe(bytes.length);
    const decoded = decodePackage(resigned);
    expect(decoded.manifest.title).toBe("Mix off-by-one in checksum");
    expect(() => verifyPackage(decoded, trust)).not.toThrow();
  });

  it("signs with the new key, so the key id changes to it", () => {
    const other = newKey();
    const decoded = decodePackage(resignPackage(samplePackage(signer), other.privateKey));
    expect(decoded.keyId).toBe(keyId(other.publicKey));
    expect(() => verifyPackage(decoded, new TrustStore([other.publicKey]))).not.toThrow();
  });

  it("keeps bytes that follow the signature block, so decoding still reports them", () => {
    const bytes = samplePackage(signer);
    const longer = new Uint8Array(bytes.length + 5);
    longer.set(bytes);
    const resigned = resignPackage(longer, signer.privateKey);
    expect(resigned.length).toBe(longer.length);
    expect(() => decodePackage(resigned)).toThrow(/5 trailing bytes/);
  });

  it("signs a header mutation such as version 2, which decoding then refuses as E_FORMAT", () => {
    const bytes = samplePackage(signer);
    bytes[4] = 2;
    const resigned = resignPackage(bytes, signer.privateKey);
    expect(resigned.length).toBe(bytes.length);
    expect(() => decodePackage(resigned)).toThrow(/E_FORMAT: .*version 2/);
  });

  it("completes a truncated signature block", () => {
    const bytes = samplePackage(signer);
    const resigned = resignPackage(bytes.subarray(0, bytes.length - 10), signer.privateKey);
    expect(resigned.length).toBe(bytes.length);
    expect(() => verifyPackage(decodePackage(resigned), trust)).not.toThrow();
  });

  it("replaces the last 96 bytes when the length fields do not fit", () => {
    const bytes = samplePackage(signer);
    new DataView(bytes.buffer).setUint32(8, 0xffff, true);
    const resigned = resignPackage(bytes, signer.privateKey);
    expect(resigned.length).toBe(bytes.length);
    expect(resigned.subarray(0, bytes.length - 96)).toEqual(bytes.subarray(0, bytes.length - 96));
    expect(() => decodePackage(resigned)).toThrow(/E_FORMAT/);
  });
});
