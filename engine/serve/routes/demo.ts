/**
 * The teaching demo's endpoints (demo-story.ts), on a server started with
 * `hotpatch demo --portal`:
 * - `GET /hotpatch/demo` → `{ available, running, done, error?, steps }`, the
 *   steps told so far (a tab opened late catches up; the rest arrive as
 *   `demo.step` events);
 * - `POST /hotpatch/demo/run` → 202 and the story starts; 409 Conflict while it
 *   runs; 404 on a server not started for the demo.
 */
import type { FastifyInstance } from "fastify";
import { ArmError } from "../arm-error.ts";
import type { ServeContext } from "../context.ts";

export function registerDemoRoutes(app: FastifyInstance, context: ServeContext): void {
  app.get("/hotpatch/demo", async () => {
    const demo = context.demo;
    if (demo === undefined) return { available: false, running: false, done: false, steps: [] };
    return { available: true, running: demo.running, done: demo.done, ...(demo.error === undefined ? {} : { error: demo.error }), steps: demo.steps };
  });

  app.post("/hotpatch/demo/run", async (_request, reply) => {
    const demo = context.demo;
    if (demo === undefined) throw new ArmError(404, "NotFound", "This server was not started for the demo: run `hotpatch demo --portal`.");
    if (!demo.start()) throw new ArmError(409, "Conflict", "The demo is running already; wait for its last step.");
    return reply.status(202).send({ running: true });
  });
}
