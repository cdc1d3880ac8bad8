/**
 * The one way a test expects a refusal: run the function, check that it
 * throws a HotpatchError (engine/errors.ts) with the given code, and return
 * that error so the test can go on to check its message or context.
 * `refusal` is for synchronous calls, `asyncRefusal` for calls that return a
 * promise, and `acceptedOrRefused` for fuzzing loops, where a call may also
 * succeed but anything it throws must be that refusal.
 */
import { expect } from "vitest";
import { type ErrorCode, HotpatchError } from "../engine/errors.ts";

export function refusal(fn: () => unknown, code: ErrorCode): HotpatchError {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return expectRefusal(error, code);
  }
  if (result instanceof Promise) throw new Error("refusal() was given an asynchronous call: use asyncRefusal()");
  throw new Error(`expected a refusal with ${code}, but the call succeeded`);
}

export async function asyncRefusal(fn: () => Promise<unknown>, code: ErrorCode): Promise<HotpatchError> {
  try {
    await fn();
  } catch (error) {
    return expectRefusal(error, code);
  }
  throw new Error(`expected a refusal with ${code}, but the call succeeded`);
}

/** True when `fn` returned; false when it threw, which must then be a refusal with `code`. */
export function acceptedOrRefused(fn: () => unknown, code: ErrorCode): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    expectRefusal(error, code);
    return false;
  }
}

function expectRefusal(error: unknown, code: ErrorCode): HotpatchError {
  expect(error).toBeInstanceOf(HotpatchError);
  expect((error as HotpatchError).code).toBe(code);
  return error as HotpatchError;
}
