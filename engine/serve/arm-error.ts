/**
 * ARM's error responses: `{ "error": { "code", "message", "target"? } }` with
 * an HTTP status, and the one table that maps every engine error code to
 * the ARM code (and status) a client of the API sees.
 *
 * Contracts:
 * - `ArmError` is what a route throws for a refusal it decides itself
 *   (validation, not found, conflict); `armErrorOf` turns anything thrown
 *   into one: an ArmError as it is, a HotpatchError through ENGINE_TO_ARM
 *   (the engine's message kept, so the patch, function or resource it names
 *   reaches the client), anything else as 500 InternalServerError (logged,
 *   never a stack trace in the body).
 * - The table is total over the engine's codes (the type checker says so):
 *   docs/api.md prints it.
 */
import { ERROR_CODES, type ErrorCode, isHotpatchError } from "../errors.ts";

export interface ArmErrorBody {
  error: { code: string; message: string; target?: string; details?: { code: string; message: string }[] };
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
  ) {
    super(message);
    this.name = "ArmError";
  }

  body(): ArmErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.target === undefined ? {} : { target: this.target }) } };
  }
}

/** How each engine code reaches an API client: HTTP status and ARM error code. */
export const ENGINE_TO_ARM: Record<ErrorCode, { status: number; code: string }> = {
  // Packages and images (reach the API only inside an install's per-patch errors)
  E_FORMAT: { status: 400, code: "InvalidParameter" },
  E_SIGNATURE: { status: 400, code: "InvalidParameter" },
  E_UNTRUSTED_KEY: { status: 400, code: "InvalidParameter" },
  E_KEY: { status: 400, code: "InvalidParameter" },
  E_TARGET_MISMATCH: { status: 409, code: "Conflict" },
  E_SLOT: { status: 409, code: "Conflict" },
  E_SLOT_SIGNATURE: { status: 409, code: "Conflict" },
  E_LINK: { status: 409, code: "Conflict" },
  E_COMPILE: { status: 400, code: "InvalidParameter" },
  E_INSTANTIATE: { status: 500, code: "InternalServerError" },
  E_ALREADY_APPLIED: { status: 409, code: "Conflict" },
  E_NOT_APPLIED: { status: 409, code: "Conflict" },
  E_NOT_ON_TOP: { status: 409, code: "Conflict" },
  E_DOWNGRADE: { status: 409, code: "Conflict" },
  E_ARENA_FULL: { status: 409, code: "Conflict" },
  E_VETOED: { status: 409, code: "Conflict" },
  E_STATE_VERSION: { status: 409, code: "Conflict" },
  E_STATE_DROPPED: { status: 409, code: "Conflict" },
  E_MIGRATION: { status: 409, code: "Conflict" },
  E_IRREVERSIBLE: { status: 409, code: "OperationNotAllowed" },
  E_BUILD: { status: 500, code: "InternalServerError" },
  E_REQUIRES_BASELINE: { status: 409, code: "Conflict" },
  E_NO_CHANGE: { status: 409, code: "Conflict" },
  // The running processes
  E_GUEST_TRAP: { status: 500, code: "VMAgentStatusCommunicationError" },
  E_GUEST_ABORT: { status: 500, code: "VMAgentStatusCommunicationError" },
  E_NO_EXPORT: { status: 500, code: "InternalServerError" },
  E_BAD_ADDRESS: { status: 500, code: "InternalServerError" },
  E_STALLED: { status: 409, code: "OperationNotAllowed" },
  E_TRANSITION_BUSY: { status: 409, code: "Conflict" },
  E_CRASHED: { status: 500, code: "VMAgentStatusCommunicationError" },
  E_EXPECTATION: { status: 500, code: "InternalServerError" },
  E_FAULT_INJECTED: { status: 500, code: "InternalServerError" },
  // The management plane
  E_UNKNOWN_VM: { status: 404, code: "ResourceNotFound" },
  E_VM_EXISTS: { status: 409, code: "Conflict" },
  E_UNKNOWN_KB: { status: 400, code: "InvalidParameter" },
  E_NOT_ELIGIBLE: { status: 400, code: "InvalidParameter" },
  E_NOT_LATEST: { status: 409, code: "OperationNotAllowed" },
  E_NOT_UNINSTALLABLE: { status: 409, code: "OperationNotAllowed" },
  E_CLOCK: { status: 400, code: "InvalidParameter" },
  E_DB: { status: 500, code: "InternalServerError" },
  E_SCHEDULE: { status: 409, code: "Conflict" },
  E_UNKNOWN_SCHEDULE: { status: 404, code: "ResourceNotFound" },
  E_STATE_BUSY: { status: 409, code: "Conflict" },
  E_USAGE: { status: 400, code: "InvalidParameter" },
  E_IO: { status: 500, code: "InternalServerError" },
};

/** Any thrown value as an ArmError (see the contract above). */
export function armErrorOf(error: unknown): ArmError {
  if (error instanceof ArmError) return error;
  if (isHotpatchError(error)) {
    const { status, code } = ENGINE_TO_ARM[error.code];
    return new ArmError(status, code, `${error.message} (${error.code}: ${ERROR_CODES[error.code]})`);
  }
  return new ArmError(500, "InternalServerError", "The server encountered an internal error; see the server's log.");
}

export function notFound(type: string, name: string, group: string): ArmError {
  return new ArmError(
    404,
    "ResourceNotFound",
    `The Resource '${type}/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function groupNotFound(group: string): ArmError {
  return new ArmError(404, "ResourceGroupNotFound", `Resource group '${group}' could not be found.`);
}

export function invalidParameter(message: string, target?: string): ArmError {
  return new ArmError(400, "InvalidParameter", message, target);
}
