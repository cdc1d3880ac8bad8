/**
 * The portal's client of the server: the same ARM API and emulator endpoints
 * any client uses, authenticated by the session cookie plus the portal's
 * header (engine/serve/portal-auth.ts). Errors are ARM's error bodies, thrown
 * as ApiError with their code and message, which the views show as they are.
 */
export const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
export const API_VERSION = "api-version=2024-11-01";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
  ) {
    super(message);
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "x-hotpatch-portal": "1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; target?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `HTTP${response.status}`, error?.message ?? response.statusText, error?.target);
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

export async function get<T>(path: string): Promise<T> {
  return (await call<T>("GET", path)).body;
}

/** An ARM long-running operation: POST, then the Azure-AsyncOperation URL until it ends; its output, or its error thrown. */
export async function longRunning<T>(path: string, body?: unknown): Promise<T> {
  const accepted = await call<unknown>("POST", path, body ?? {});
  const statusUrl = accepted.headers.get("azure-asyncoperation");
  if (statusUrl === null) throw new ApiError(accepted.status, "NoOperation", "the server started no operation");
  const url = new URL(statusUrl);
  for (;;) {
    const status = await get<{ status: string; error?: { code: string; message: string }; properties?: { output: T } }>(url.pathname + url.search);
    if (status.status === "Succeeded") return status.properties!.output;
    if (status.status !== "InProgress") throw new ApiError(200, status.error?.code ?? status.status, status.error?.message ?? `the operation ended ${status.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function vmPath(group: string, vm: string): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${encodeURIComponent(group)}/providers/Microsoft.Compute/virtualMachines/${encodeURIComponent(vm)}`;
}

/** The resource group in a VM's ARM id. */
export function groupOf(id: string): string {
  return /\/resourceGroups\/([^/]+)\//i.exec(id)?.[1] ?? "hotpatch";
}
