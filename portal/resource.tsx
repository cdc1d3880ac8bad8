/**
 * Loading what a view shows: the value, or the API's error in words (its
 * code and message), never a blank page; `refresh` loads it again (the views
 * call it on the server's events).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export function describeError(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

export function useResource<T>(load: () => Promise<T>, deps: unknown[]): { value?: T; problem?: string; refresh: () => void } {
  const [state, setState] = useState<{ value?: T; problem?: string; key: string }>({ key: "" });
  const latest = useRef(0);
  const key = JSON.stringify(deps);
  const refresh = useCallback(() => {
    const request = ++latest.current; // only the newest answer is shown: an older one arriving late is dropped
    load().then(
      (value) => request === latest.current && setState({ value, key }),
      (error) => request === latest.current && setState((s) => ({ ...(s.key === key ? { value: s.value } : {}), problem: describeError(error), key })),
    );
  }, deps);
  useEffect(refresh, [refresh]);
  // A value loaded for other deps (another VM) is never shown under these.
  return state.key === key ? { value: state.value, problem: state.problem, refresh } : { refresh };
}

/** A load error over a view that still shows its last value. */
export function Stale({ problem }: { problem?: string }) {
  return problem === undefined ? null : (
    <p class="problem" role="alert">
      {problem} (showing what was last loaded)
    </p>
  );
}

/** What a view shows while it has nothing: its load error, or that it is loading. */
export function Pending({ problem }: { problem?: string }) {
  return problem === undefined ? (
    <p>Loading…</p>
  ) : (
    <p class="problem" role="alert">
      {problem}
    </p>
  );
}
