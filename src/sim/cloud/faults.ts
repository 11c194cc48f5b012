/** Faults the cloud simulator can inject: resets, latency, 429s, failures, slow and bad bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import { json, text, type Reply } from './http.js';

const HUGE_BYTES = 6 * 1024 * 1024;
const DRIP_TICK_MS = 100;

/**
 * A request limit as the balena API applies one: at most `points` requests per window of
 * `windowMs`, the window starting at a caller's first request; beyond it 429 with `Retry-After`
 * in whole seconds until the window ends.
 */
export interface RequestLimit {
  points: number;
  windowMs: number;
  /** One window for every caller together (a fleet behind one address) instead of one per credential. */
  shared?: boolean;
}

/** The simulator's fault switches and the code that applies them. */
export class Faults {
  latencyMs = 0;
  down = false;
  dripBytesPerSecond: number | null = null;
  garbage: 'none' | 'not-json' | 'huge' = 'none';
  private limited: { count: number; retryAfterSeconds: number | undefined } = { count: 0, retryAfterSeconds: undefined };
  private failing: { count: number; status: number; body: string | undefined } = { count: 0, status: 500, body: undefined };
  private aborter = new AbortController();
  private limit: RequestLimit | null = null;
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(private readonly clock: Clock) {}

  /** The next `count` requests get 429. */
  rateLimit(count: number, retryAfterSeconds: number | undefined): void {
    this.limited = { count, retryAfterSeconds };
  }

  /** Applies a request limit from now on (null lifts it); windows start afresh. */
  setLimit(limit: RequestLimit | null): void {
    this.limit = limit;
    this.windows.clear();
  }

  /** The next `count` requests get `status`. */
  failNext(count: number, status: number, body: string | undefined): void {
    this.failing = { count, status, body };
  }

  /** Cancels pending latency and drips (on stop). */
  abortAll(): void {
    this.aborter.abort();
    this.aborter = new AbortController();
  }

  /** Applied before routing: 'reset' (socket destroyed), a canned reply, or undefined (route it). `caller` names the credential. */
  async before(req: IncomingMessage, caller: string): Promise<Reply | 'reset' | undefined> {
    if (this.down) {
      req.socket.destroy();
      return 'reset';
    }
    if (this.latencyMs > 0) {
      try {
        await this.clock.sleep(this.latencyMs, this.aborter.signal);
      } catch {
        req.socket.destroy();
        return 'reset';
      }
    }
    const over = this.overLimit(caller);
    if (over !== undefined) return over;
    if (this.limited.count > 0) {
      this.limited.count -= 1;
      const after = this.limited.retryAfterSeconds;
      return text(429, 'Too Many Requests', after === undefined ? {} : { 'retry-after': String(after) });
    }
    if (this.failing.count > 0) {
      this.failing.count -= 1;
      return text(this.failing.status, this.failing.body ?? 'Simulated failure');
    }
    if (this.garbage === 'not-json') {
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '<html><body>Bad Gateway' };
    }
    if (this.garbage === 'huge') {
      const filler = 'x'.repeat(HUGE_BYTES);
      return json(200, { d: [{ id: 1, filler }] });
    }
    return undefined;
  }

  /**
   * Counts the request in its caller's window (a rejected one counts too); past the limit, a 429
   * whose Retry-After is the seconds left in the window, rounded (no header when none is left).
   */
  private overLimit(caller: string): Reply | undefined {
    const limit = this.limit;
    if (limit === null) return undefined;
    const key = limit.shared === true ? '' : caller;
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (window === undefined || now >= window.start + limit.windowMs) {
      window = { start: now, used: 0 };
      this.windows.set(key, window);
    }
    window.used += 1;
    if (window.used <= limit.points) return undefined;
    const left = window.start + limit.windowMs - now;
    return text(429, 'Too Many Requests', left > 0 ? { 'retry-after': String(Math.round(left / 1000)) } : {});
  }

  /** Writes `reply`, dripping the body when a drip rate is set. */
  async write(res: ServerResponse, reply: Reply): Promise<void> {
    const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    const rate = this.dripBytesPerSecond;
    if (rate === null || body.length === 0) {
      res.writeHead(reply.status, { ...headers, 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    res.writeHead(reply.status, { ...headers, 'content-length': String(body.length) });
    res.flushHeaders();
    const step = Math.max(1, Math.floor((rate * DRIP_TICK_MS) / 1000));
    const signal = this.aborter.signal;
    for (let offset = 0; offset < body.length; offset += step) {
      if (res.destroyed) return;
      res.write(body.subarray(offset, offset + step));
      try {
        await this.clock.sleep(DRIP_TICK_MS, signal);
      } catch {
        res.destroy();
        return;
      }
    }
    res.end();
  }
}
