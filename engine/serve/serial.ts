/**
 * Runs changes one at a time, in the order they were queued (see context.ts).
 *
 * Contracts:
 * - `run(fn)` resolves or rejects with `fn`'s outcome; a failing task never
 *   stops the ones queued after it.
 * - `idle()` resolves when every task queued so far has ended (graceful stop).
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.pending += 1;
    const next = this.tail.then(fn);
    this.tail = next.then(
      () => this.pending--,
      () => this.pending--,
    );
    return next;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
