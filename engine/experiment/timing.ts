/**
 * The waits and the rounding of an experiment's clock: polling sleeps (the
 * run watches a live process that reports through messages, not events it
 * could await) and times reported to a tenth of a millisecond.
 */

/** Milliseconds to a tenth. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `condition` holds, polled every 5 ms. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}
