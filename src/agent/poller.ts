/**
 * The cloud poller: one request per poll (the device, its tags and its fleet's tags), its rhythm
 * and backoff, and what it learnt last — the tags and the time of the last contact.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { HttpError, describe } from '../lib/errors.js';
import type { CloudPort, PollResult } from './ports.js';

/** Dependencies of the poller. */
export interface PollerOptions {
  cloud: CloudPort;
  clock: Clock;
  log: Logger;
  random: () => number;
  /** The poll interval in effect now (a live setting). */
  intervalMs: () => number;
}

/** Polls the cloud; remembers the last result and contact; plans the next poll. */
export class CloudPoller {
  /** The last good poll's result (tags as the cloud held them then). */
  last: PollResult | undefined;
  /** Monotonic time of the last good poll. */
  lastContactAt: number | undefined;
  /** Wall time of the last good poll. */
  lastContactWall: number | undefined;
  lastError: string | undefined;
  /** Polls failed in a row. */
  failures = 0;
  /** The cloud refused the device's key at the last poll. */
  deviceKeyRejected = false;
  /** Monotonic time the next poll is due (set when it is planned). */
  dueAt = 0;
  private retryAfterMs = 0;

  constructor(private readonly opts: PollerOptions) {}

  /** One poll: the result, or undefined when it failed (the failure is counted and logged). */
  async poll(tagPrefix: string, signal: AbortSignal): Promise<PollResult | undefined> {
    const { clock, log } = this.opts;
    try {
      const result = await this.opts.cloud.poll({ tagPrefix, signal });
      this.failures = 0;
      this.retryAfterMs = 0;
      this.deviceKeyRejected = false;
      this.lastError = undefined;
      this.lastContactAt = clock.now();
      this.lastContactWall = clock.wall();
      this.last = result;
      return result;
    } catch (err) {
      if (signal.aborted) return undefined;
      this.failures += 1;
      this.lastError = describe(err);
      const code = (err as { code?: string }).code;
      this.deviceKeyRejected = code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
      this.retryAfterMs = err instanceof HttpError ? (err.retryAfterMs ?? 0) : 0;
      log.warn({ err, failures: this.failures }, 'cloud poll failed');
      return undefined;
    }
  }

  /** Plans the next poll: its delay, remembered so healthz can tell a stuck loop. */
  planNext(): number {
    const delay = this.nextDelay();
    this.dueAt = this.opts.clock.now() + delay;
    return delay;
  }

  private nextDelay(): number {
    const interval = this.opts.intervalMs();
    const random = this.opts.random;
    // Each poll ±20 % of the interval (the mean stays one interval): a fleet that booted together
    // drifts apart within a few polls instead of polling in step. An outage keeps that rhythm: the
    // fleet asks no more often than usual while the cloud is down, and comes back spread as it was
    // (retrying sooner would bunch every device's first poll after the outage). A rejected key
    // backs off further.
    const steady = Math.floor(interval * (0.8 + 0.4 * random()));
    if (this.failures === 0) return steady;
    const base = this.deviceKeyRejected ? Math.min(interval * 2 ** Math.min(this.failures - 1, 6), Math.max(interval, 3_600_000)) : steady;
    // After a Retry-After, a random part of an interval more: a fleet told one instant returns spread.
    return Math.max(base, this.retryAfterMs > 0 ? this.retryAfterMs + Math.floor(interval * random()) : 0);
  }
}
