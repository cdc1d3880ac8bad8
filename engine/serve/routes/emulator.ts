/** The emulator's own endpoints under /hotpatch/ (filled in next). */
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context.ts";

export function registerEmulatorRoutes(_app: FastifyInstance, _context: ServeContext): void {}
