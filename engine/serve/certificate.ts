/**
 * The server's TLS certificate: the one given (`--tls-cert`/`--tls-key`), or
 * a self-signed one created on first start beside the state file and reused
 * afterwards, so a client trusts it once.
 *
 * Contracts:
 * - Default paths: `<state dir>/serve-cert.pem` and `<state dir>/serve-key.pem`
 *   (the key written with mode 0600). Clients trust the certificate with
 *   `NODE_EXTRA_CA_CERTS=<state dir>/serve-cert.pem`, or the Azure SDK's
 *   `tlsOptions: { ca }`.
 * - The certificate names localhost, 127.0.0.1 and ::1 (and the host the
 *   server listens on, if it is another name or address, when it is created);
 *   valid for 825 days; RSA 2048, SHA-256 (selfsigned, node-forge).
 * - A given pair is read as it is; a missing or unreadable file is E_IO.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, join, resolve } from "node:path";
import { generate } from "selfsigned";
import { HotpatchError } from "../errors.ts";

export interface Certificate {
  cert: string;
  key: string;
  certPath: string;
  /** True when this start created it. */
  created: boolean;
}

export function defaultCertificatePaths(statePath: string): { certPath: string; keyPath: string } {
  const dir = statePath === ":memory:" ? resolve(".hotpatch") : dirname(resolve(statePath));
  return { certPath: join(dir, "serve-cert.pem"), keyPath: join(dir, "serve-key.pem") };
}

/** The given pair, or the default one (created if missing) for `statePath`. */
export async function loadCertificate(options: { statePath: string; host: string; certPath?: string; keyPath?: string; now: Date }): Promise<Certificate> {
  if ((options.certPath === undefined) !== (options.keyPath === undefined)) {
    throw new HotpatchError("E_USAGE", "--tls-cert and --tls-key go together: give both or neither");
  }
  if (options.certPath !== undefined && options.keyPath !== undefined) {
    return { cert: readPem(options.certPath), key: readPem(options.keyPath), certPath: resolve(options.certPath), created: false };
  }
  const { certPath, keyPath } = defaultCertificatePaths(options.statePath);
  if (existsSync(certPath) && existsSync(keyPath)) return { cert: readPem(certPath), key: readPem(keyPath), certPath, created: false };
  const pems = await generate([{ name: "commonName", value: "hotpatch serve" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: options.now,
    notAfterDate: new Date(options.now.getTime() + 825 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: altNames(options.host) },
    ],
  });
  try {
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot write the server's certificate to ${certPath}: ${(error as Error).message}`, { path: certPath });
  }
  return { cert: pems.cert, key: pems.private, certPath, created: true };
}

/** subjectAltName entries: type 2 a DNS name, 7 an IP address. */
type AltName = { type: 2; value: string } | { type: 7; ip: string };

function altNames(host: string): AltName[] {
  const names: AltName[] = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
  ];
  if (isIP(host) !== 0 && host !== "127.0.0.1" && host !== "::1") names.push({ type: 7, ip: host });
  else if (isIP(host) === 0 && host !== "localhost") names.push({ type: 2, value: host });
  return names;
}

function readPem(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new HotpatchError("E_IO", `cannot read ${path}: ${(error as Error).message}`, { path });
  }
}
