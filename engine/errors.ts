/**
 * The one catalogue of stable error codes.
 *
 * Every refusal the engine or the management plane makes is a `HotpatchError`
 * whose `code` comes from this table. Codes are part of the public contract
 * (scripts and tests match on them); messages may be reworded. A message names
 * the patch, the function and the reason whenever they are known.
 *
 * Broken internal invariants are plain `Error`s, not catalogue entries.
 */
export const ERROR_CODES = {
  // Packages and signatures
  E_FORMAT: "the package or image is malformed or of an unknown format version",
  E_SIGNATURE: "the signature does not match the package contents",
  E_UNTRUSTED_KEY: "the package is signed by a key the process does not trust",
  E_KEY: "a key file could not be read or is not an ed25519 key",
  // Linking a patch against a running process
  E_TARGET_MISMATCH: "the patch was built for another image build",
  E_SLOT: "the patch names a slot that the image does not have",
  E_SLOT_SIGNATURE: "a replacement function's signature differs from the slot's",
  E_LINK: "an import of the code page cannot be resolved against the process",
  E_COMPILE: "the code page is not valid WebAssembly",
  E_INSTANTIATE: "the code page could not be instantiated",
  // Patch stacks
  E_ALREADY_APPLIED: "the patch is already installed",
  E_NOT_APPLIED: "the patch is not installed",
  E_NOT_ON_TOP: "the patch is not on top of every function it replaced",
  E_DOWNGRADE: "a cumulative hotpatch with a higher KB number of the same baseline is installed",
  E_ARENA_FULL: "the process's patch arena has no room for the patch's static data",
  E_VETOED: "the patch's pre-patch callback refused it (the message is the patch's own for the code it returned)",
  E_STATE_VERSION: "the patch carries a state at a lower version than an installed patch has it",
  E_STATE_DROPPED: "the patch replaces a patch without taking over a state that patch introduced",
  E_MIGRATION: "the patch's state migration trapped, exceeded its budget or wrote outside its new state on the scratch copy (nothing changed)",
  E_IRREVERSIBLE: "the patch migrated state and has no reverse migration: the way back is a baseline (rollback)",
  // Building images and patches
  E_BUILD: "a guest could not be compiled or instrumented",
  E_REQUIRES_BASELINE: "the change cannot be shipped as a hotpatch",
  E_NO_CHANGE: "the two versions do not differ in code",
  // Running guests
  E_GUEST_TRAP: "guest code trapped",
  E_GUEST_ABORT: "guest code called abort",
  E_NO_EXPORT: "the process has no such export",
  E_BAD_ADDRESS: "an address or length lies outside the process's memory",
  // Live processes: transitions and crashes
  E_STALLED: "a transition timed out because a function it replaces stayed active on the guest's stack",
  E_TRANSITION_BUSY: "another transition of the process is still in progress",
  E_CRASHED: "the process crashed (a trap or a request past its deadline) while the operation was pending",
  // Scenarios
  E_EXPECTATION: "a scenario step's result differs from what it expected",
  E_FAULT_INJECTED: "a fault plan made this operation fail on purpose (engine/faults/)",
  // Update management (engine/manage/)
  E_UNKNOWN_VM: "no VM of that name exists in the state file",
  E_VM_EXISTS: "a VM of that name already exists",
  E_UNKNOWN_KB: "the KB is not in the catalog, or not installed on the VM",
  E_NOT_ELIGIBLE: "the image or deployment cannot run hotpatch",
  E_NOT_LATEST: "only the most recently installed update can be uninstalled",
  E_NOT_UNINSTALLABLE: "the update cannot be uninstalled (a baseline is left with rollback)",
  E_CLOCK: "an instant lies before the emulated clock, which never goes backwards",
  E_DB: "the state database cannot be opened or has another format",
  E_SCHEDULE: "a maintenance configuration's run cannot be changed that way (e.g. a cancellation after its cut-off)",
  E_UNKNOWN_SCHEDULE: "no such maintenance configuration, assignment, dynamic scope, webhook or run",
  E_STATE_BUSY: "a running `hotpatch serve` holds the state file; go through its API, or stop it first",
  // Input
  E_USAGE: "the command line or a file given to it is not valid",
  E_IO: "a file could not be read or written",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Context that a message should name, when known. */
export interface ErrorContext {
  patch?: string;
  function?: string;
  slot?: number;
  path?: string;
  [key: string]: unknown;
}

export class HotpatchError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, reason: string, context: ErrorContext = {}) {
    super(formatMessage(code, reason, context));
    this.name = "HotpatchError";
    this.code = code;
    this.context = context;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

function formatMessage(code: ErrorCode, reason: string, context: ErrorContext): string {
  const subject: string[] = [];
  if (context.patch) subject.push(`patch ${context.patch}`);
  if (context.function) subject.push(`function ${context.function}`);
  if (context.slot !== undefined) subject.push(`slot ${context.slot}`);
  if (context.path) subject.push(context.path);
  const where = subject.length > 0 ? `${subject.join(", ")}: ` : "";
  return `${code}: ${where}${reason}`;
}

export function isHotpatchError(error: unknown): error is HotpatchError {
  return error instanceof HotpatchError;
}

/** Wraps any thrown value into a HotpatchError with the given code (keeps existing codes). */
export function asHotpatchError(error: unknown, code: ErrorCode, context: ErrorContext = {}): HotpatchError {
  if (error instanceof HotpatchError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new HotpatchError(code, reason, context);
}
