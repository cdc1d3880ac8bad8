/** Microsoft.Compute virtual machines (filled in next). */
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../context.ts";

export function registerVirtualMachineRoutes(_app: FastifyInstance, _context: ServeContext): void {}
