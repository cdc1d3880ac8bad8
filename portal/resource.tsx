/**
 * Loading what a view shows: the value, or the API's error in words (its
 * code and message), never a blank page; `refresh` loads it again (the views
 * call it on the server's events).
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export function describeError(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

export function useResource<T>(load: () => Promise<T>, deps: unknown[]): { value?: T; problem?: string; refresh: () => void } {
  const [value, setValue] = useState<T>();
  const [problem, setProblem] = useState<string>();
  const refresh = useCallback(() => {
    load().then(
      (v) => {
        setValue(v);
        setProblem(undefined);
      },
      (error) => setProblem(describeError(error)),
    );
  }, deps);
  useEffect(refresh, [refresh]);
  return { value, problem, refresh };
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
