import { AgentError } from './errors.js';

/** Time as the agent sees it; injected everywhere so tests and benchmarks drive it. */
export interface Clock {
  /** Monotonic milliseconds (never jumps with NTP); for intervals and deadlines. */
  now(): number;
  /** Wall-clock epoch milliseconds; for timestamps shown to people and the 24 h budgets. */
  wall(): number;
  /** Resolves after `ms`; rejects with an `ABORTED` AgentError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortError(signal: AbortSignal): AgentError {
  return new AgentError('ABORTED', 'stopped', { cause: signal.reason });
}

/** The longest delay one `setTimeout` takes (2^31-1 ms, ~24.8 days); Node turns a longer one into 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock. A sleep longer than one timer can hold is a chain of timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      // NaN would become a 1 ms timer too: treat it as no wait; Infinity waits until aborted.
      let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortError(signal!));
      };
      const arm = (): void => {
        const step = Math.min(left, MAX_TIMER_MS);
        left -= step;
        timer = setTimeout(() => {
          if (left > 0) {
            arm();
            return;
          }
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, step);
      };
      arm();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets pending promise callbacks and I/O callbacks run. */
export function settle(rounds = 5): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < rounds; i++) chain = chain.then(() => new Promise<void>((r) => setImmediate(r)));
  return chain;
}

/** A clock that only moves when told to: for tests and simulated-time benchmarks. */
export class ManualClock implements Clock {
  private mono = 0;
  private epoch: number;
  private seq = 0;
  private readonly sleepers: Sleeper[] = [];

  constructor(startWall = Date.UTC(2026, 0, 1)) {
    this.epoch = startWall;
  }

  now(): number {
    return this.mono;
  }

  wall(): number {
    return this.epoch + this.mono;
  }

  /** Steps the wall clock without moving monotonic time (what NTP does). */
  stepWall(deltaMs: number): void {
    this.epoch += deltaMs;
  }

  /** How many sleeps are waiting. */
  pending(): number {
    return this.sleepers.length;
  }

  /** Deadline of the earliest sleep, if any. */
  nextAt(): number | undefined {
    return this.sleepers[0]?.at;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const sleeper: Sleeper = { at: this.mono + Math.max(0, ms), seq: this.seq++, resolve: () => undefined };
      const onAbort = (): void => {
        const i = this.indexOf(sleeper);
        if (i >= 0) this.sleepers.splice(i, 1);
        reject(abortError(signal!));
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Kept in (deadline, seq) order by insertion, not by sorting: benchmarks hold many thousands of sleepers.
      this.sleepers.splice(this.after(sleeper), 0, sleeper);
    });
  }

  /** The index of the first sleeper that comes after `s` in (deadline, seq) order. */
  private after(s: Sleeper): number {
    let lo = 0;
    let hi = this.sleepers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.sleepers[mid]!;
      if (m.at < s.at || (m.at === s.at && m.seq <= s.seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(s: Sleeper): number {
    const i = this.after(s) - 1;
    return i >= 0 && this.sleepers[i] === s ? i : -1;
  }

  /**
   * Moves time forward by `ms`, waking each sleeper in deadline order and letting the
   * woken code run (`settle`) before the next one, so chained sleeps behave as in real time.
   */
  async advance(ms: number, settleRounds = 5): Promise<void> {
    const target = this.mono + ms;
    for (;;) {
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.mono = next.at;
      next.resolve();
      await settle(settleRounds);
    }
    this.mono = target;
    await settle(settleRounds);
  }
}
