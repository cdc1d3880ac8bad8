/**
 * The emulator's own endpoints of `hotpatch serve`: the emulated clock (read,
 * advanced as `hotpatch clock advance` does) and the Server-Sent Events stream
 * that reports it, which ends when the server stops.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mintToken } from "../engine/serve/auth.ts";
import { startServer } from "../engine/serve/server.ts";
import { call } from "./serve-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "hotpatch-emulator-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the emulator's endpoints", () => {
  it("show and advance the clock, stream what happened, and end the stream at a graceful stop", async () => {
    const server = await startServer({ statePath: join(dir, "state.db"), port: 0, now: "2026-01-05T12:00:00Z" });
    const target = { url: server.url, ca: readFileSync(server.certPath, "utf8") };
    const events: string[] = [];
    let streamEnded!: () => void;
    const ended = new Promise<void>((resolve) => {
      streamEnded = resolve;
    });
    const stream = request(new URL("/hotpatch/events", server.url), { ca: target.ca, headers: { authorization: `Bearer ${mintToken(new Date())}` } }, (res) => {
      expect(res.headers["content-type"]).toContain("text/event-stream");
      res.on("data", (d) => events.push(String(d)));
      res.on("end", streamEnded);
    });
    stream.end();

    expect((await call(target, "GET", "/hotpatch/clock")).json()).toEqual({ clock: "2026-01-05T12:00:00Z" });
    expect((await call(target, "GET", "/hotpatch/clock", { token: null })).status).toBe(401);
    const advanced = await call(target, "POST", "/hotpatch/clock/advance", { body: { duration: "P1D" } });
    expect(advanced.status).toBe(200);
    expect(advanced.json()).toMatchObject({ from: "2026-01-05T12:00:00Z", to: "2026-01-06T12:00:00Z" });
    expect((await call(target, "GET", "/hotpatch/clock")).json()).toEqual({ clock: "2026-01-06T12:00:00Z" });
    const bad = await call(target, "POST", "/hotpatch/clock/advance", { body: { duration: "tomorrow" } });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe("InvalidParameter");

    await expect.poll(() => events.join("")).toContain("event: clock");
    expect(events.join("")).toContain('"to":"2026-01-06T12:00:00Z"');
    await server.close();
    await ended;
  }, 30_000);
});
