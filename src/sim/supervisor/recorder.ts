import type { Clock } from '../../lib/clock.js';
import type { AuthKind } from './http.js';

/** One request as the simulator received it; the key never appears in it. */
export interface RecordedRequest {
  method: string;
  /** Without the query. */
  path: string;
  /** The `apikey` value is replaced by `[redacted]`. */
  query: Record<string, string>;
  body: unknown;
  contentType: string | undefined;
  auth: AuthKind;
  /** The status answered; 0 when no reply was sent (see `fault`). */
  status: number;
  at: number;
  /** Set when a route fault cut the request: reset before or after acting, or dropped (the client left while it was held). */
  fault?: 'reset-before' | 'reset-after' | 'dropped';
}

interface Waiter {
  pred: (r: RecordedRequest) => boolean;
  resolve: (r: RecordedRequest) => void;
}

/** The simulator's request log: every request in order, with hooks and waiters on new ones. */
export class SimRecorder {
  private readonly clock: Clock;
  private readonly waiters = new Set<Waiter>();
  private readonly hooks = new Set<(r: RecordedRequest) => void>();
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];

  constructor(opts: { clock: Clock }) {
    this.clock = opts.clock;
  }

  /** Appends a request, then runs the hooks and wakes the waiters it satisfies. */
  record(record: RecordedRequest): void {
    this.requests.push(record);
    for (const hook of this.hooks) hook(record);
    for (const waiter of this.waiters) {
      if (waiter.pred(record)) {
        this.waiters.delete(waiter);
        waiter.resolve(record);
      }
    }
  }

  /** Resolves with the first recorded request (past or future) matching `pred`. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest> {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const stopTimer = new AbortController();
      const waiter: Waiter = {
        pred,
        resolve: (r) => {
          stopTimer.abort();
          resolve(r);
        },
      };
      this.waiters.add(waiter);
      this.clock.sleep(timeoutMs, stopTimer.signal).then(
        () => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching supervisor request within ${timeoutMs} ms`));
        },
        () => undefined,
      );
    });
  }

  /** Calls `hook` for every request once it is recorded. Returns an unsubscribe. */
  onRequest(hook: (r: RecordedRequest) => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }
}
