/**
 * The emulated clock of a state file: one instant shared by all its VMs.
 *
 * Contracts:
 * - Nothing in the management plane reads the real time. The CLI passes a
 *   fallback (the real time) that is used only while the state has no clock.
 * - `--now <ISO>` sets the time of one command; it becomes the state's clock
 *   when the command commits. It does not run what would have happened in
 *   between (that is `hotpatch clock advance`, auto-patch.ts).
 * - Time never goes backwards: an instant before the stored clock is refused
 *   with E_CLOCK, so histories stay ordered.
 */
import { HotpatchError } from "../errors.ts";
import type { Store } from "./store.ts";
import { parseInstant } from "./time-input.ts";

const CLOCK_KEY = "clock";

/** The stored clock, if any. */
export function storedClock(store: Store): Date | undefined {
  const value = store.meta(CLOCK_KEY);
  return value === undefined ? undefined : new Date(value);
}

/**
 * The instant a command runs at: `--now` if given (not before the stored
 * clock), else the stored clock, else `fallback()`.
 */
export function commandTime(store: Store, now: string | undefined, fallback: () => Date): Date {
  const stored = storedClock(store);
  if (now === undefined) return stored ?? fallback();
  const at = parseInstant(now);
  if (stored !== undefined && at.getTime() < stored.getTime()) {
    throw new HotpatchError("E_CLOCK", `--now ${now} is before the state's clock ${stored.toISOString()}; emulated time never goes backwards`);
  }
  return at;
}

/** Moves the stored clock to `at` (never backwards; call inside the command's transaction). */
export function setClock(store: Store, at: Date): void {
  const stored = storedClock(store);
  if (stored !== undefined && at.getTime() < stored.getTime()) {
    throw new HotpatchError("E_CLOCK", `cannot move the clock back from ${stored.toISOString()} to ${at.toISOString()}`);
  }
  store.setMeta(CLOCK_KEY, iso(at));
}

/**
 * ISO 8601 UTC at whole seconds ("2027-01-12T18:00:00Z"; milliseconds are
 * dropped): every stored time has this form, so stored times sort as text.
 */
export function iso(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}
