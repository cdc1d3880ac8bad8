/** Test helper: runs `fn`, asserts it throws a HotpatchError with code E_USAGE, and returns that error. */
import { expect } from "vitest";
import { HotpatchError } from "../engine/errors.ts";

export function usageError(fn: () => unknown): HotpatchError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HotpatchError);
    expect((error as HotpatchError).code).toBe("E_USAGE");
    return error as HotpatchError;
  }
  throw new Error("expected E_USAGE, but the call succeeded");
}
