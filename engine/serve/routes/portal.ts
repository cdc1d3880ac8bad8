/**
 * The portal's page at `/`: a placeholder until the portal lands; it names
 * the API's base URL and where the endpoints are documented.
 */
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context.ts";

export function registerPortal(app: FastifyInstance, context: ServeContext): void {
  app.get("/", async (_request, reply) => {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wasm-hotpatch</title></head>
<body><h1>wasm-hotpatch</h1><p>The portal is not here yet. The ARM API answers at <code>${escapeHtml(context.baseUrl)}/subscriptions/…</code>;
the emulator's endpoints at <code>${escapeHtml(context.baseUrl)}/hotpatch/…</code> (docs/api.md).</p></body></html>`;
    return reply.type("text/html; charset=utf-8").send(html);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
