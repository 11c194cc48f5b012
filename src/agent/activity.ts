import type { Clock } from '../lib/clock.js';

/**
 * Counts work that is actually running (not sleeping on the clock), so tests and benchmarks can
 * wait for "nothing left to do until time moves": `await clock.advance(ms); await activity.idle()`.
 */
export class Activity {
  private busy = 0;
  private waiters: (() => void)[] = [];

  /** Marks one unit of work as running. */
  enter(): void {
    this.busy += 1;
  }

  /** Marks one unit of work as finished (or asleep). */
  leave(): void {
    this.busy = Math.max(0, this.busy - 1);
    if (this.busy === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Runs `fn` counted as busy. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await fn();
    } finally {
      this.leave();
    }
  }

  /** A clock sleep during which the caller does not count as busy. */
  async sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
    this.leave();
    try {
      await clock.sleep(ms, signal);
    } finally {
      this.enter();
    }
  }

  /** Resolves once nothing runs and nothing starts within a few event-loop turns. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.busy > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
      await turns(3);
      if (this.busy === 0) return;
    }
  }
}

function turns(n: number): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) chain = chain.then(() => new Promise<void>((r) => setImmediate(r)));
  return chain;
}
