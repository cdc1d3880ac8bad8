/**
 * When the worker's loop may run a step — receiving a control message,
 * preparing or reporting a transition — while no request is waiting.
 *
 * The rule: right after a request was served (within JUST_SERVED_MS of its
 * end, if no step ran since), or once STEP_SPACING_MS have passed since the
 * last request or step (a loop with little or no load). So a transition's
 * steps (receive → prepare → report, 40–70 µs each when cold) fall into
 * different gaps between requests, each at the start of its gap. Run in a
 * row, or begun late in a gap, they overran it and delayed the next request
 * (the storm suite's p99 went from 1.3–2.2× quiet to 1.15×).
 *
 * Only the past is consulted (when requests ended, when steps ran), never
 * the schedule of future requests. Times are in milliseconds of one
 * monotonic clock, passed in by the caller.
 */
export const JUST_SERVED_MS = 0.02;
export const STEP_SPACING_MS = 0.5;

export class StepPacing {
  private servedAt = Number.NEGATIVE_INFINITY;
  private steppedAt = Number.NEGATIVE_INFINITY;

  /** A request ended at `t`. */
  served(t: number): void {
    this.servedAt = t;
  }

  /** A step ended at `t`. */
  stepped(t: number): void {
    this.steppedAt = t;
  }

  /** Whether a step may start at `t`. */
  mayStep(t: number): boolean {
    if (this.steppedAt < this.servedAt && t - this.servedAt <= JUST_SERVED_MS) return true;
    return t >= this.spacedAt();
  }

  /** When a step may start at the latest if no request ends before: the spacing since the last request or step. */
  spacedAt(): number {
    return Math.max(this.servedAt, this.steppedAt) + STEP_SPACING_MS;
  }
}
