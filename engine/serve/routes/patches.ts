/** assessPatches / installPatches as ARM long-running operations (filled in next). */
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context.ts";

export function registerPatchRoutes(_app: FastifyInstance, _context: ServeContext, _options: { retryAfterSeconds: number }): void {}
