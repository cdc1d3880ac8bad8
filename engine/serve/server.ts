/**
 * `hotpatch serve`: one long-running process that holds a state file and
 * answers the ARM API (the Azure SDK drives it), the emulator's own endpoints
 * and the portal, over HTTPS on loopback by default.
 *
 * Start-up order (each step depends on the one before):
 *  1. take the state (state-lock.ts: E_STATE_BUSY while another server has it);
 *  2. open it, set the emulated clock (`--now` for a new state, else kept);
 *  3. close what a killed server left open: operations InProgress → Failed
 *     (OperationInterrupted), install runs InProgress → Failed, a fleet
 *     rollout Running → Halted (fleet.ts); give VMs made with the CLI their
 *     place in ARM (a fleet's members their fleet placement, fleet.ts; others
 *     group "hotpatch", resources.ts);
 *  4. load or create the TLS certificate, build the routes, listen;
 *  5. write the URL into the lock, so the CLI's refusal can name it;
 *  6. boot every VM's processes in the VM pool, where they serve load
 *     (live-vms.ts); requests are answered meanwhile (a boot runs in the
 *     serial queue).
 *
 * Stop (`close`, on SIGINT/SIGTERM in the CLI): stop accepting connections,
 * halt a running fleet rollout before its next round, let the queued changes finish (operations end Succeeded or Failed and are
 * recorded), end the VM pool, then give the state back. A SIGKILL skips all that; step 3 of
 * the next start repairs it.
 *
 * Request handling, for every route: `x-ms-request-id` and
 * `x-ms-correlation-request-id` on every answer; bodies over BODY_LIMIT get
 * 413; malformed JSON gets 400 InvalidRequestContent; every error is ARM's
 * error body (arm-error.ts). ARM paths are matched case-insensitively, and
 * a path starting with "//" as if it started with "/", as ARM does.
 */
import { randomUUID } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { fleetOf } from "../fleet/index.ts";
import { acquireState, closeInterrupted, commandTime, listVms, releaseState, Session, Store, setClock } from "../manage/index.ts";
import { localHost, type ProcessHost, type VmPool } from "../vms/index.ts";
import { ArmError, armErrorOf } from "./arm-error.ts";
import { checkBearer, WWW_AUTHENTICATE } from "./auth.ts";
import { loadCertificate } from "./certificate.ts";
import { emulatedNow, type ServeContext } from "./context.ts";
import { EventStream } from "./events.ts";
import { adoptFleetVms, repairFleet, SERVER_STOPPED } from "./fleet.ts";
import { DemoStory } from "./demo-story.ts";
import { Operations } from "./operations.ts";
import { PORTAL_COOKIE, PORTAL_HEADER, PortalSessions } from "./portal-auth.ts";
import { registerArcMachineRoutes } from "./routes/arc-machines.ts";
import { registerAvailabilitySetRoutes } from "./routes/availability-sets.ts";
import { registerDemoRoutes } from "./routes/demo.ts";
import { registerEmulatorRoutes } from "./routes/emulator.ts";
import { registerEmulatorUpdateRoutes } from "./routes/emulator-updates.ts";
import { registerEmulatorViewRoutes } from "./routes/emulator-views.ts";
import { registerFleetRoutes } from "./routes/fleet.ts";
import { registerMaintenanceRoutes } from "./routes/maintenance.ts";
import { registerPatchRoutes } from "./routes/patches.ts";
import { registerPortal } from "./routes/portal.ts";
import { registerResourceGroupRoutes } from "./routes/resource-groups.ts";
import { registerScaleSetRoutes } from "./routes/scale-sets.ts";
import { registerVirtualMachineRoutes } from "./routes/virtual-machines.ts";
import { bootAllVms, createVmPool } from "./live-vms.ts";
import { adoptCliVms, armPlacement } from "./resources.ts";
import { Serial } from "./serial.ts";

export const DEFAULT_PORT = 8443;
export const DEFAULT_HOST = "127.0.0.1";
/** Request bodies larger than this get 413. */
export const BODY_LIMIT = 1024 * 1024;

export interface ServeOptions {
  statePath: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** ISO instant: the emulated clock of a new state (as `--now` of the other commands). */
  now?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** The real time (injected; tests pass a fixed one). */
  wallClock?: () => Date;
  /** Seconds a client should wait between polls of an operation (the Retry-After header). */
  retryAfterSeconds?: number;
  /** Called for requests that failed with a 500, with the error (the body never carries it). */
  onInternalError?: (error: unknown) => void;
  /** Serve the teaching demo (`hotpatch demo --portal`): its steps this far apart, each also given to `narrate`. */
  demo?: { stepMillis: number; narrate?: (line: string) => void };
}

export interface RunningServer {
  /** The API's base URL, e.g. https://127.0.0.1:8443 */
  url: string;
  /** The portal's URL. */
  portalUrl: string;
  certPath: string;
  context: ServeContext;
  /** The worker threads the VMs' processes run in (live-vms.ts). */
  pool: VmPool;
  /** Resolves once the VMs that existed at start run their processes (live-vms.ts). */
  liveVmsBooted: Promise<void>;
  /** Graceful stop: finishes queued changes, records them, releases the state. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const wallClock = options.wallClock ?? (() => new Date());
  const host = options.host ?? "127.0.0.1";
  acquireState(options.statePath, "(starting)", wallClock());
  let store: Store | undefined;
  try {
    store = Store.open(options.statePath);
    const opened = store;
    store.tx(() => setClock(opened, commandTime(opened, options.now, wallClock)));
    const pool = createVmPool(() => context);
    const context = createContext(store, wallClock, pool);
    if (options.demo) context.demo = new DemoStory(context, options.demo.stepMillis, options.demo.narrate);
    repairAfterCrash(context);
    const certificate = await loadCertificate({ statePath: options.statePath, host, certPath: options.tlsCert, keyPath: options.tlsKey, now: wallClock() });
    const app = buildApp(context, { https: { cert: certificate.cert, key: certificate.key }, retryAfterSeconds: options.retryAfterSeconds ?? 1, onInternalError: options.onInternalError });
    await app.listen({ port: options.port ?? DEFAULT_PORT, host });
    const address = app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : options.port;
    context.baseUrl = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    acquireState(options.statePath, context.baseUrl, wallClock());
    const booted = bootAllVms(context);
    return {
      url: context.baseUrl,
      portalUrl: `${context.baseUrl}/?token=${context.portal.token}`,
      certPath: certificate.certPath,
      context,
      pool,
      liveVmsBooted: booted,
      close: async () => {
        context.stopping = SERVER_STOPPED;
        await app.close();
        await context.serial.idle();
        await pool.close();
        opened.close();
        releaseState(options.statePath);
      },
    };
  } catch (error) {
    store?.close();
    releaseState(options.statePath);
    throw error;
  }
}

/** The context of a server over an open store whose clock is set; VMs' processes run on `host` (default: this thread). */
export function createContext(store: Store, wallClock: () => Date, host?: ProcessHost): ServeContext {
  const serial = new Serial();
  const operations = new Operations(store, serial, () => emulatedNow(context));
  const session = new Session(store, { placement: armPlacement(store), ...(host === undefined ? {} : { host }) });
  const context: ServeContext = {
    store,
    session,
    serial,
    operations,
    events: new EventStream(),
    wallClock,
    bootErrors: new Map(),
    booted: new Set(),
    restarts: new Map(),
    host: host ?? localHost,
    storyVms: new Map(),
    portal: new PortalSessions(),
    baseUrl: "",
  };
  return context;
}

/** Step 3 of the start-up: what a killed server left InProgress ends Failed (a Running fleet rollout: Halted). */
function repairAfterCrash(context: ServeContext): void {
  const now = emulatedNow(context);
  context.operations.closeInterrupted();
  const vms = listVms(context.store);
  for (const vm of vms) closeInterrupted(context.session, vm.name, now);
  repairFleet(context);
  adoptFleetVms(context.store, fleetOf(context.session), now);
  adoptCliVms(context.store, vms, now);
}

export interface AppOptions {
  https?: { cert: string; key: string };
  retryAfterSeconds: number;
  onInternalError?: (error: unknown) => void;
}

/** The routes over a context (exported for tests that inject requests without a socket). */
export function buildApp(context: ServeContext, options: AppOptions): FastifyInstance {
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: BODY_LIMIT,
    exposeHeadRoutes: false,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    logger: false,
    genReqId: () => randomUUID(),
    // The generic resources client joins "/" and a resource id that starts with "/": ARM takes "//subscriptions/…" as "/subscriptions/…".
    rewriteUrl: (request) => (request.url ?? "/").replace(/^\/{2,}/, "/"),
  }) as unknown as FastifyInstance;
  app.register(fastifyCookie);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-ms-request-id", request.id);
    reply.header("x-ms-correlation-request-id", headerOf(request, "x-ms-correlation-request-id") ?? request.id);
    const client = headerOf(request, "x-ms-client-request-id");
    if (client !== undefined) reply.header("x-ms-client-request-id", client);
    if (!PUBLIC_ROUTES.has(request.routeOptions.url ?? "")) authenticate(app, context, request);
  });
  app.setErrorHandler((error, _request, reply) => sendError(reply, fromFastify(error), options.onInternalError, error));
  app.setNotFoundHandler((request, reply) => sendError(reply, new ArmError(404, "NotFound", `No route matches ${request.method} ${request.url.split("?")[0]}.`)));
  registerResourceGroupRoutes(app, context);
  registerVirtualMachineRoutes(app, context);
  registerArcMachineRoutes(app, context);
  registerAvailabilitySetRoutes(app, context);
  registerScaleSetRoutes(app, context);
  registerPatchRoutes(app, context, { retryAfterSeconds: options.retryAfterSeconds });
  registerMaintenanceRoutes(app, context);
  registerEmulatorRoutes(app, context);
  registerEmulatorUpdateRoutes(app, context);
  registerEmulatorViewRoutes(app, context);
  registerFleetRoutes(app, context);
  registerDemoRoutes(app, context);
  registerPortal(app, context);
  return app;
}

/**
 * A bearer token, or the portal's session cookie (portal-auth.ts): enough for a GET, and for other
 * methods with the portal's header. The cookie plugin parses cookies after this hook, so it is read here.
 */
function authenticate(app: FastifyInstance, context: ServeContext, request: FastifyRequest): void {
  const authorization = headerOf(request, "authorization");
  if (authorization === undefined) {
    const session = app.parseCookie(headerOf(request, "cookie") ?? "")[PORTAL_COOKIE];
    if (context.portal.isSession(session) && (request.method === "GET" || headerOf(request, PORTAL_HEADER) === "1")) return;
  }
  checkBearer(authorization, context.wallClock());
}

/**
 * The routes anyone may reach: the portal's page (it has its own sign-in) and its bundle. Every
 * other route, and every path no route matches, needs a bearer token or the portal's session. The
 * check is on the route the router matched (its pattern), not on the raw URL, so an encoded path
 * (`/%73ubscriptions/…`, which the router decodes) cannot slip past it.
 */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(["/", "/portal/app.js", "/portal/app.css"]);

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Fastify's own errors (body parsing, size) as ARM errors. */
function fromFastify(error: unknown): ArmError {
  if (error instanceof ArmError) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ArmError(413, "RequestEntityTooLarge", `The request body is larger than ${BODY_LIMIT} bytes.`);
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ArmError(415, "UnsupportedMediaType", "The request body must be application/json.");
  if (code === "FST_ERR_CTP_EMPTY_JSON_BODY" || code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError || (error as { statusCode?: number }).statusCode === 400) {
    return new ArmError(400, "InvalidRequestContent", `The request content was invalid and could not be deserialized: ${message}`);
  }
  return armErrorOf(error);
}

function sendError(reply: FastifyReply, error: ArmError, onInternalError?: (error: unknown) => void, cause?: unknown): FastifyReply {
  if (error.status >= 500) onInternalError?.(cause ?? error);
  if (error.status === 401) reply.header("www-authenticate", WWW_AUTHENTICATE);
  return reply.status(error.status).type("application/json; charset=utf-8").send(error.body());
}
