/**
 * How a browser signs in to the portal (the way Jupyter does it): the server
 * makes a random portal token at start and prints it in the portal's URL
 * (`Portal: https://…/?token=…`). Opening that URL exchanges the token for a
 * session cookie — HttpOnly, Secure, SameSite=Strict — and redirects to the
 * bare URL, so the token leaves the address bar; without a cookie the portal
 * asks for the token.
 *
 * What a session cookie allows (checked by server.ts for /subscriptions and
 * /hotpatch paths): every GET (pages, reads, the event stream, which
 * EventSource opens without custom headers), and other methods only with the
 * header `x-hotpatch-portal: 1`, which a cross-site form or image cannot send
 * and a cross-origin script cannot send without a CORS preflight that this
 * server never grants. API clients keep using bearer tokens.
 *
 * Sessions live in memory for the server's life; a restart signs browsers out.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

export const PORTAL_COOKIE = "hotpatch-portal";
export const PORTAL_HEADER = "x-hotpatch-portal";

export class PortalSessions {
  /** The token printed in the portal's URL. */
  readonly token = randomBytes(24).toString("base64url");
  private readonly sessions = new Set<string>();

  /** A new session id if `token` is the portal token, else undefined. */
  login(token: unknown): string | undefined {
    if (typeof token !== "string") return undefined;
    const given = Buffer.from(token);
    const expected = Buffer.from(this.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const session = randomBytes(24).toString("base64url");
    this.sessions.add(session);
    return session;
  }

  isSession(cookie: string | undefined): boolean {
    return cookie !== undefined && this.sessions.has(cookie);
  }
}
