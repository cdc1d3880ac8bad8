/**
 * Parsers for time values given by users: IANA time zones, ISO 8601 durations
 * and ISO 8601 instants. Each returns a plain value or throws E_USAGE.
 */
import { DateTime, IANAZone } from "luxon";
import { HotpatchError } from "../errors.ts";

/**
 * Returns `tz` unchanged if it names an IANA time zone known to the runtime
 * ("America/New_York", "Asia/Kolkata", "UTC"; letter case is not significant),
 * else throws E_USAGE ("Mars/Olympus", "", "UTC+5").
 */
export function validateTimeZone(tz: string): string {
  if (typeof tz !== "string" || tz.trim() === "" || !IANAZone.isValidZone(tz)) {
    throw new HotpatchError("E_USAGE", `"${tz}" is not an IANA time zone (e.g. America/New_York, Europe/Berlin)`);
  }
  return tz;
}

const NUMBER = String.raw`(\d+(?:[.,]\d+)?)`;
/** Milliseconds per unit, in the order of DURATION's groups: W, D, H, M, S (a day is 24 hours). */
const UNIT_MILLIS = [604_800_000n, 86_400_000n, 3_600_000n, 60_000n, 1_000n];
const DURATION = new RegExp(
  `^P(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`,
);

/**
 * Parses an ISO 8601 duration into milliseconds: "PT2H" -> 7200000,
 * "P1D" -> 86400000 (a day counts as 24 hours), "PT90M", "P1DT2H30M", "P1W",
 * "PT1.5H". Designators may be lower case. Refused with E_USAGE: anything
 * malformed ("P", "PT", "P1DT", "2H"), negative durations, years and months
 * (their length is not fixed), a fraction on any but the last component, and
 * a result that is not a whole number of milliseconds.
 */
export function parseDuration(text: string): number {
  const upper = text.toUpperCase();
  if (upper.startsWith("-")) {
    throw new HotpatchError("E_USAGE", `duration "${text}" is negative`);
  }
  if (/^P[^T]*\d[YM]/.test(upper)) {
    throw new HotpatchError("E_USAGE", `duration "${text}" uses years or months, whose length is not fixed`);
  }
  const match = DURATION.exec(upper);
  const present: [string, bigint][] = [];
  UNIT_MILLIS.forEach((unit, i) => {
    if (match?.[i + 1] !== undefined) present.push([match[i + 1], unit]);
  });
  if (present.length === 0 || upper.endsWith("T")) {
    throw new HotpatchError("E_USAGE", `"${text}" is not an ISO 8601 duration (e.g. PT2H, P1D, PT90M, P1DT2H30M)`);
  }
  if (present.slice(0, -1).some(([value]) => /[.,]/.test(value))) {
    throw new HotpatchError("E_USAGE", `duration "${text}" has a fraction on a component other than the last`);
  }
  // Exact decimal arithmetic, so "PT0.0001S" is refused instead of rounded.
  let total = 0n;
  for (const [value, unit] of present) {
    const [whole, fraction = ""] = value.split(/[.,]/);
    const scale = 10n ** BigInt(fraction.length);
    const scaled = (BigInt(whole) * scale + BigInt(fraction || "0")) * unit;
    if (scaled % scale !== 0n) {
      throw new HotpatchError("E_USAGE", `duration "${text}" is not a whole number of milliseconds`);
    }
    total += scaled / scale;
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new HotpatchError("E_USAGE", `duration "${text}" is too long`);
  }
  return Number(total);
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parses an ISO 8601 instant that carries its offset: "2027-01-12T18:00:00Z",
 * "2027-01-12T19:00+01:00", "2027-01-12T18:00:00.250Z". Refused with E_USAGE:
 * a missing offset (the instant would depend on a zone), a date alone,
 * impossible dates or times ("2027-02-30", "25:00").
 * Digits beyond milliseconds are dropped.
 */
export function parseInstant(text: string): Date {
  if (!INSTANT.test(text)) {
    throw new HotpatchError(
      "E_USAGE",
      `"${text}" is not an ISO 8601 instant with an offset (e.g. 2027-01-12T18:00:00Z)`,
    );
  }
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!parsed.isValid) {
    throw new HotpatchError("E_USAGE", `"${text}" is not a valid instant: ${parsed.invalidExplanation ?? "invalid"}`);
  }
  return parsed.toJSDate();
}
