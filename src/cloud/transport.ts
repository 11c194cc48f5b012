import PQueue from 'p-queue';
import type { Dispatcher } from 'undici';
import { fullJitter, parseRetryAfter } from '../lib/backoff.js';
import type { Clock } from '../lib/clock.js';
import { HttpError, UnreachableError } from '../lib/errors.js';
import { send, type HttpReply, type HttpTarget, type RequestSpec } from '../lib/http.js';
import { RequestBudget, type RequestLimit } from './budget.js';

/** The message for a 401 once the key has worked: the usual causes, never the key. */
export const KEY_REVOKED = 'cloud API rejected the device key (device deleted, frozen or key revoked)';

const NO_RETRY_AFTER_MS = 60_000;

/** How the transport reaches the cloud and how politely. */
export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Per request, including a slowly dripping body (default 30 s). */
  timeoutMs?: number;
  /** Ceiling on request starts (default 60 per minute). */
  requestLimit?: RequestLimit;
  /** Retries after a network error, 5xx or 429 (default 3). */
  maxRetries?: number;
  /** A 429/503 hold longer than this is not waited out inside one call: it fails RATE_LIMITED (default 2 min). */
  maxRetryWaitMs?: number;
  /** Once a key that worked is refused (401), calls fail at once, without a request, for this long (default 60 s). */
  revokedHoldMs?: number;
  random?: () => number;
  /** Replies larger than this are refused (default 4 MiB). */
  maxBodyBytes?: number;
}

/** One request to send. */
export interface Call {
  method: RequestSpec['method'];
  path: string;
  json?: unknown;
  signal?: AbortSignal | undefined;
}

/**
 * The cloud client's manners in one place: every request passes the RequestBudget gate (ceiling
 * and Retry-After holds, on the injected clock), carries the key only in its header, is retried
 * with bounded full-jitter backoff on network errors and 5xx, and fails with a key-free typed error.
 * A key that stops working is not retried in a loop: calls fail at once for `revokedHoldMs`.
 */
export class CloudTransport {
  private readonly opts: TransportOptions;
  private readonly budget: RequestBudget;
  private readonly target: HttpTarget;
  // Concurrency only: p-queue's own interval/intervalCap run on real timers, which would escape
  // the injected clock, so the request ceiling and Retry-After holds live in RequestBudget.
  private readonly queue = new PQueue({ concurrency: 2 });
  private sent = 0;
  private readonly outcomes = { ok: 0, error: 0, rate_limited: 0 };
  private worked = false;
  private revokedUntil = 0;
  private serverDate: number | undefined;

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.target = {
      peer: 'cloud',
      baseUrl: opts.baseUrl,
      timeoutMs: opts.timeoutMs ?? 30_000,
      dispatcher: opts.dispatcher,
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    };
    this.budget = new RequestBudget({ clock: opts.clock, limit: opts.requestLimit ?? { count: 60, intervalMs: 60_000 } });
  }

  /** Requests actually sent (retries included). */
  requestsSent(): number {
    return this.sent;
  }

  /** Requests sent, by outcome: 2xx, rate limited (429, or 503 with Retry-After), anything else (network errors too). */
  requestOutcomes(): { ok: number; error: number; rate_limited: number } {
    return { ...this.outcomes };
  }

  /** The monotonic instant before which no request is sent (0 when there is no hold). */
  notBefore(): number {
    return this.budget.notBefore();
  }

  /** Epoch ms of the cloud's `Date` header on the latest reply, if any. */
  lastServerDate(): number | undefined {
    return this.serverDate;
  }

  /** Runs `fn`, hiding the key in the message of anything it throws. */
  clean<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.scrubbed(err);
    }
  }

  /** Sends with the gate, retries and typed errors; resolves only on 2xx. */
  async call(call: Call): Promise<HttpReply> {
    const maxRetries = this.opts.maxRetries ?? 3;
    const random = this.opts.random ?? Math.random;
    for (let attempt = 0; ; attempt++) {
      this.refuseEarly(call);
      let reply: HttpReply;
      try {
        reply = await this.queue.add(() => this.sendOnce(call));
      } catch (err) {
        if (err instanceof UnreachableError && err.code !== 'ABORTED' && attempt < maxRetries) {
          await this.opts.clock.sleep(fullJitter(attempt, { baseMs: 1_000, maxMs: 30_000, random }), call.signal);
          continue;
        }
        throw this.scrubbed(err);
      }
      if (reply.status >= 200 && reply.status < 300) {
        this.worked = true;
        return reply;
      }
      const error = this.httpError(call, reply);
      if (reply.status === 429 || (reply.status === 503 && error.retryAfterMs !== undefined)) {
        // Retry-After: 0 (or a past date) must not turn into an immediate resend: at least the backoff.
        const backoff = fullJitter(attempt, { baseMs: 1_000, maxMs: 30_000, random }) + 1_000;
        const wait = Math.max(error.retryAfterMs ?? NO_RETRY_AFTER_MS + Math.floor(random() * NO_RETRY_AFTER_MS), backoff);
        this.budget.holdUntil(this.opts.clock.now() + wait);
        if (attempt < maxRetries && wait <= (this.opts.maxRetryWaitMs ?? 120_000)) continue;
        throw error;
      }
      if (reply.status >= 500 && attempt < maxRetries) {
        await this.opts.clock.sleep(fullJitter(attempt, { baseMs: 1_000, maxMs: 30_000, random }), call.signal);
        continue;
      }
      throw error;
    }
  }

  /**
   * Fails without a request when one could not be useful now: the key was just refused (no tight
   * loop of 401s), or a Retry-After hold lasts longer than a call may wait (RATE_LIMITED, with
   * the time left as `retryAfterMs` so the caller can plan its next attempt).
   */
  private refuseEarly(call: Call): void {
    const now = this.opts.clock.now();
    const path = call.path.split('?')[0] ?? call.path;
    if (now < this.revokedUntil) {
      throw new HttpError({ peer: 'cloud', status: 401, method: call.method, path, body: '', message: KEY_REVOKED });
    }
    const holdLeft = this.budget.notBefore() - now;
    if (holdLeft > (this.opts.maxRetryWaitMs ?? 120_000)) {
      const until = new Date(this.opts.clock.wall() + holdLeft).toISOString();
      throw new HttpError({
        peer: 'cloud',
        status: 429,
        method: call.method,
        path,
        body: '',
        retryAfterMs: holdLeft,
        message: `cloud rate limit: it asked for no requests before ${until}; ${call.method} ${path} not sent`,
      });
    }
  }

  private async sendOnce(call: Call): Promise<HttpReply> {
    await this.budget.acquire(call.signal);
    this.sent += 1;
    const reply = await send(this.target, {
      method: call.method,
      path: call.path,
      headers: { authorization: `Bearer ${this.opts.apiKey}`, accept: 'application/json' },
      ...(call.json !== undefined ? { json: call.json } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
    }).catch((err: unknown) => {
      this.outcomes.error += 1;
      throw err;
    });
    const limited = reply.status === 429 || (reply.status === 503 && reply.headers['retry-after'] !== undefined);
    this.outcomes[reply.status >= 200 && reply.status < 300 ? 'ok' : limited ? 'rate_limited' : 'error'] += 1;
    const date = reply.headers.date ? Date.parse(reply.headers.date) : NaN;
    if (!Number.isNaN(date)) this.serverDate = date;
    return reply;
  }

  private httpError(call: Call, reply: HttpReply): HttpError {
    const path = call.path.split('?')[0] ?? call.path;
    const body = this.hide(reply.text);
    const headers = Object.fromEntries(Object.entries(reply.headers).map(([name, value]) => [name, this.hide(value)]));
    const base = { peer: 'cloud' as const, status: reply.status, method: call.method, path, body, headers };
    const retryAfterMs = parseRetryAfter(reply.headers['retry-after'], this.opts.clock.wall());
    if (reply.status === 401) {
      if (this.worked) this.revokedUntil = this.opts.clock.now() + (this.opts.revokedHoldMs ?? 60_000);
      const message = this.worked
        ? KEY_REVOKED
        : `cloud API rejected the device key on ${call.method} ${path} (check BALENA_API_KEY and that the device exists)`;
      return new HttpError({ ...base, message });
    }
    return new HttpError({ ...base, retryAfterMs });
  }

  private hide(text: string): string {
    return this.opts.apiKey ? text.split(this.opts.apiKey).join('[redacted]') : text;
  }

  private scrubbed(err: unknown): unknown {
    if (err instanceof Error && this.opts.apiKey && err.message.includes(this.opts.apiKey)) err.message = this.hide(err.message);
    return err;
  }
}
