/**
 * What every ARM request meets before its route: the bearer token (decoded,
 * not verified, as Azurite's basic OAuth does: audience and lifetime), the
 * api-version, the body's size and syntax — each refusal in ARM's error body,
 * and the server still answering afterwards.
 */
import { afterAll, describe, expect, it } from "vitest";
import { setClock, Store } from "../engine/manage/index.ts";
import { checkBearer, mintToken } from "../engine/serve/auth.ts";
import { buildApp, createContext } from "../engine/serve/server.ts";

const store = Store.open(":memory:");
store.tx(() => setClock(store, new Date("2026-01-05T12:00:00Z")));
const app = buildApp(createContext(store, () => new Date()), { retryAfterSeconds: 0 });
afterAll(async () => {
  await app.close();
  store.close();
});

const GROUP = "/subscriptions/sub-1/resourcegroups/rg?api-version=2025-04-01";
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const claims = (payload: Record<string, unknown>) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.`;

describe("the bearer token", () => {
  const now = new Date("2026-12-02T10:00:00Z");
  it("accepts a minted token until it expires, for either ARM audience", () => {
    expect(checkBearer(`Bearer ${mintToken(now, 60)}`, now).aud).toBe("https://management.azure.com/");
    expect(() => checkBearer(`Bearer ${mintToken(now, 60)}`, new Date(now.getTime() + 61_000))).toThrow(/expiry UTC time/);
    const exp = now.getTime() / 1000 + 60;
    expect(checkBearer(`Bearer ${claims({ aud: "https://management.core.windows.net", exp })}`, now).exp).toBe(exp);
  });

  it("refuses other audiences, tokens not yet valid, and what is not a JWT", () => {
    const exp = now.getTime() / 1000 + 60;
    expect(() => checkBearer(`Bearer ${claims({ aud: "https://graph.microsoft.com/", exp })}`, now)).toThrow(/invalid audience/);
    expect(() => checkBearer(`Bearer ${claims({ aud: "https://management.azure.com/", exp, nbf: exp })}`, now)).toThrow(/not valid before/);
    expect(() => checkBearer("Bearer abc", now)).toThrow(/not a JWT/);
    expect(() => checkBearer("Bearer a.!!!.b", now)).toThrow(/base64url/);
    expect(() => checkBearer("Basic dXNlcjpwYXNz", now)).toThrow(/invalid format/);
  });
});

describe("an ARM request", () => {
  it("without a token gets 401 AuthenticationFailed with WWW-Authenticate; a bad token 401 InvalidAuthenticationToken", async () => {
    const none = await app.inject({ method: "GET", url: GROUP });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("AuthenticationFailed");
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer /);
    const expired = await app.inject({ method: "GET", url: GROUP, headers: auth(mintToken(new Date(Date.now() - 7_200_000), 60)) });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe("InvalidAuthenticationToken");
  });

  it("without an api-version, or with one the provider does not have, gets ARM's 400", async () => {
    const token = auth(mintToken(new Date()));
    const missing = await app.inject({ method: "GET", url: "/subscriptions/sub-1/resourcegroups/rg", headers: token });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
    const unknown = await app.inject({ method: "GET", url: "/subscriptions/sub-1/resourcegroups/rg?api-version=2099-01-01", headers: token });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe("NoRegisteredProviderFound");
    expect(unknown.json().error.message).toContain("2025-04-01");
  });

  it("with malformed JSON, a wrong type, an oversized or deeply nested body gets a 4xx error body and changes nothing", async () => {
    const headers = { ...auth(mintToken(new Date())), "content-type": "application/json" };
    const bad = await app.inject({ method: "PUT", url: GROUP, headers, payload: '{"location":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("InvalidRequestContent");
    const wrongType = await app.inject({ method: "PUT", url: GROUP, headers, payload: { location: 7 } });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error).toMatchObject({ code: "InvalidParameter", target: "location" });
    const notObject = await app.inject({ method: "PUT", url: GROUP, headers, payload: "[1,2]" });
    expect(notObject.json().error.code).toBe("InvalidRequestContent");
    const huge = await app.inject({ method: "PUT", url: GROUP, headers, payload: JSON.stringify({ location: "x".repeat(2 * 1024 * 1024) }) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe("RequestEntityTooLarge");
    const deep = await app.inject({ method: "PUT", url: GROUP, headers, payload: `${"[".repeat(100_000)}${"]".repeat(100_000)}` });
    expect(deep.statusCode).toBe(400);
    const longTag = await app.inject({ method: "PUT", url: GROUP, headers, payload: { location: "eastus", tags: { a: "v".repeat(300) } } });
    expect(longTag.json().error).toMatchObject({ code: "InvalidParameter", target: "tags.a" });
    expect((await app.inject({ method: "GET", url: GROUP, headers })).json().error.code).toBe("ResourceGroupNotFound");
  });

  it("needs a token however its path is spelled: percent-encoded, upper case, or a path nobody serves", async () => {
    for (const [method, url] of [
      ["GET", "/%68otpatch/clock"],
      ["POST", "/%73ubscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/assessPatches?api-version=2025-04-01"],
      ["DELETE", "/%73ubscriptions/sub-1/resourcegroups/rg?api-version=2025-04-01"],
      ["GET", "/HOTPATCH/clock"],
      ["GET", "/nowhere"],
    ] as const) {
      const answer = await app.inject({ method, url, headers: { "content-type": "text/plain" }, payload: method === "GET" ? undefined : "x" });
      expect([url, answer.statusCode, answer.json().error.code]).toEqual([url, 401, "AuthenticationFailed"]);
    }
  });

  it("to a path nobody serves gets 404 with an error body; paths match case-insensitively", async () => {
    const headers = { ...auth(mintToken(new Date())), "content-type": "application/json" };
    const nowhere = await app.inject({ method: "GET", url: "/subscriptions/sub-1/nowhere?api-version=2025-04-01", headers });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json().error.code).toBe("NotFound");
    expect((await app.inject({ method: "PUT", url: "/SUBSCRIPTIONS/sub-1/resourceGroups/RG?api-version=2025-04-01", headers, payload: { location: "eastus" } })).statusCode).toBe(201);
    const got = await app.inject({ method: "GET", url: "/subscriptions/sub-1/resourcegroups/rg?api-version=2025-04-01", headers });
    expect(got.json()).toMatchObject({ name: "RG", id: "/subscriptions/sub-1/resourceGroups/RG" });
  });
});
