/**
 * The portal's pages (portal-auth.ts says how a browser signs in):
 * - `GET /?token=…`: the portal token for a session cookie, then a 303 to `/`;
 *   a wrong token gets the sign-in page with a 401;
 * - `GET /`: the portal (an HTML shell that loads the bundle) with a session
 *   cookie, else the sign-in page, which asks for the token;
 * - `GET /portal/app.js`, `/portal/app.css`: the bundle (portal-bundle.ts),
 *   no session needed (it holds no data).
 * Everything the portal shows it reads from the API and the emulator's
 * endpoints, as any client does.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ServeContext } from "../context.ts";
import { PORTAL_COOKIE } from "../portal-auth.ts";
import { portalBundle } from "../portal-bundle.ts";

const HTML = "text/html; charset=utf-8";

export function registerPortal(app: FastifyInstance, context: ServeContext): void {
  app.get<{ Querystring: { token?: string } }>("/", async (request, reply) => {
    noStore(reply);
    const token = request.query.token;
    if (token !== undefined) {
      const session = context.portal.login(token);
      if (session === undefined) return reply.status(401).type(HTML).send(signInPage("That is not this server's portal token."));
      reply.setCookie(PORTAL_COOKIE, session, { httpOnly: true, secure: true, sameSite: "strict", path: "/" });
      return reply.redirect("/", 303);
    }
    if (!context.portal.isSession(request.cookies[PORTAL_COOKIE])) return reply.type(HTML).send(signInPage());
    return reply.type(HTML).send(APP_SHELL);
  });

  app.get("/portal/app.js", async (_request, reply) => reply.type("text/javascript; charset=utf-8").send((await portalBundle()).js));
  app.get("/portal/app.css", async (_request, reply) => reply.type("text/css; charset=utf-8").send((await portalBundle()).css));
}

function noStore(reply: FastifyReply): void {
  reply.header("cache-control", "no-store");
}

const APP_SHELL = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wasm-hotpatch portal</title><link rel="stylesheet" href="/portal/app.css"></head>
<body><div id="app"></div><script type="module" src="/portal/app.js"></script></body></html>`;

function signInPage(problem?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · wasm-hotpatch portal</title>
<style>body{font:15px system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#1b1b1f}input{font:inherit;width:100%;padding:.4rem;margin:.5rem 0}button{font:inherit;padding:.4rem 1rem}.problem{color:#a4262c}</style></head>
<body><h1>wasm-hotpatch portal</h1>
<p>Open the URL that <code>hotpatch serve</code> printed after <code>Portal:</code>, or paste its token.</p>
${problem === undefined ? "" : `<p class="problem" role="alert">${escapeHtml(problem)}</p>`}
<form method="get" action="/"><label for="token">Portal token</label><input id="token" name="token" autocomplete="off" required><button type="submit">Sign in</button></form></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
