/**
 * Bearer tokens, the way Azurite's basic OAuth mode checks them: the JWT is
 * decoded, its signature is NOT verified (the emulator has no identity
 * provider), its lifetime and audience are. This is for loopback and test
 * networks only: anyone who can reach the port can mint a token.
 *
 * Contracts:
 * - Accepted: `Authorization: Bearer <header>.<payload>.<signature>` whose
 *   payload has `aud` one of ARM_AUDIENCES (with or without the trailing
 *   slash), `exp` in the future and `nbf` (if present) in the past, on the
 *   wall clock given (real time: tokens are about the client's clock, not the
 *   emulated one).
 * - Refused with 401 and a `WWW-Authenticate: Bearer …` header: no header or
 *   not a Bearer one → AuthenticationFailed; a token that does not decode,
 *   has another audience or has expired → InvalidAuthenticationToken.
 * - `mintToken` makes a token that passes (`hotpatch token`): unsigned
 *   (`alg: none`), for the emulator's tenant and an emulator principal.
 */
import { randomUUID } from "node:crypto";
import { ArmError } from "./arm-error.ts";

export const ARM_AUDIENCES = ["https://management.azure.com/", "https://management.core.windows.net/"] as const;
/** The emulator's tenant, in every token it mints. */
export const EMULATOR_TENANT = "00000000-0000-0000-0000-00000000e1a7";
export const DEFAULT_TOKEN_SECONDS = 3600;

export const WWW_AUTHENTICATE = 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The access token is missing or invalid."';

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf?: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  name?: string;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token that the server accepts for `seconds` from `now` (wall clock). */
export function mintToken(now: Date, seconds = DEFAULT_TOKEN_SECONDS): string {
  const t = Math.floor(now.getTime() / 1000);
  const claims: TokenClaims = {
    aud: ARM_AUDIENCES[0],
    iss: `https://sts.windows.net/${EMULATOR_TENANT}/`,
    iat: t,
    nbf: t - 60,
    exp: t + seconds,
    tid: EMULATOR_TENANT,
    oid: randomUUID(),
    sub: "hotpatch-emulator",
    name: "hotpatch emulator",
  };
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
}

/** The claims of the request's bearer token, or a 401 ArmError (see the contract above). */
export function checkBearer(authorization: string | undefined, now: Date): TokenClaims {
  if (authorization === undefined || authorization.trim() === "") {
    throw unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
  }
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (match === null) throw unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.");
  const claims = decodeClaims(match[1]);
  const audience = typeof claims.aud === "string" ? claims.aud.replace(/\/?$/, "/") : undefined;
  if (audience === undefined || !(ARM_AUDIENCES as readonly string[]).includes(audience)) {
    throw unauthorized("InvalidAuthenticationToken", `The access token has an invalid audience '${String(claims.aud)}'; expected ${ARM_AUDIENCES.join(" or ")}.`);
  }
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= seconds) {
    const expiry = typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString() : "missing";
    throw unauthorized("InvalidAuthenticationToken", `The access token expiry UTC time '${expiry}' is earlier than current UTC time '${now.toISOString()}'.`);
  }
  if (typeof claims.nbf === "number" && claims.nbf > seconds) {
    throw unauthorized("InvalidAuthenticationToken", `The access token is not valid before '${new Date(claims.nbf * 1000).toISOString()}'.`);
  }
  return claims as TokenClaims;
}

function decodeClaims(token: string): Partial<Record<keyof TokenClaims, unknown>> {
  const parts = token.split(".");
  if (parts.length !== 3) throw unauthorized("InvalidAuthenticationToken", "The access token is invalid: it is not a JWT (three dot-separated parts).");
  try {
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as unknown;
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new Error("not an object");
    return claims as Partial<Record<keyof TokenClaims, unknown>>;
  } catch {
    throw unauthorized("InvalidAuthenticationToken", "The access token is invalid: its payload is not base64url-encoded JSON.");
  }
}

function unauthorized(code: string, message: string): ArmError {
  return new ArmError(401, code, message);
}
