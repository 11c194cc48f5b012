import { MAX_RETRY_AFTER_MS } from '../lib/backoff.js';
import type { Clock } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';

/** How many requests may start within any window of `intervalMs`. */
export interface RequestLimit {
  count: number;
  intervalMs: number;
}

/**
 * The cloud request gate, on the injected clock: a sliding-window ceiling (at most `count`
 * request starts in any `intervalMs`) and a `notBefore` instant set from Retry-After or a 429
 * backoff, before which no request leaves at all. Callers `await acquire()` right before sending.
 */
export class RequestBudget {
  private readonly clock: Clock;
  private readonly limit: RequestLimit;
  /** Monotonic start times of the requests inside the current window, oldest first. */
  private readonly starts: number[] = [];
  private notBeforeAt = 0;

  constructor(opts: { clock: Clock; limit: RequestLimit }) {
    this.clock = opts.clock;
    this.limit = opts.limit;
  }

  /**
   * Holds every request until `at` (monotonic ms), at most MAX_RETRY_AFTER_MS from now; an earlier
   * instant never shortens a hold.
   */
  holdUntil(at: number): void {
    const bounded = Math.min(at, this.clock.now() + MAX_RETRY_AFTER_MS);
    if (bounded > this.notBeforeAt) this.notBeforeAt = bounded;
  }

  /** The monotonic instant before which nothing is sent (0 when there is no hold). */
  notBefore(): number {
    return this.notBeforeAt;
  }

  /** How long the next request would have to wait now (0 when it may go at once). */
  waitMs(): number {
    const now = this.clock.now();
    this.prune(now);
    const hold = Math.max(0, this.notBeforeAt - now);
    const oldest = this.starts[0];
    const full = this.starts.length >= Math.max(1, this.limit.count) && oldest !== undefined;
    const window = full ? Math.max(0, oldest + this.limit.intervalMs - now) : 0;
    return Math.max(hold, window);
  }

  /** Waits until a request may start, then counts it as started. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new AgentError('ABORTED', 'stopped', { cause: signal.reason });
      const wait = this.waitMs();
      if (wait <= 0) break;
      await this.clock.sleep(wait, signal);
    }
    this.starts.push(this.clock.now());
  }

  private prune(now: number): void {
    while (this.starts.length > 0 && (this.starts[0] ?? 0) <= now - this.limit.intervalMs) this.starts.shift();
  }
}
