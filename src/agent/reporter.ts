/**
 * Writes the agent's own tags (acks and reports) only when they change, batched into one write,
 * at most one write per `minIntervalMs` (10 s): diff against what was last written, skip empty
 * diffs, let a first change wait `batchMs` (1 s) so the changes of one command (accepted →
 * running → done) share a write, defer changes made inside the window, back off on failure
 * honouring Retry-After (up to MAX_RETRY_AFTER_MS).
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { capRetryAfter, fullJitter } from '../lib/backoff.js';
import { HttpError } from '../lib/errors.js';
import type { TagsPort } from './ports.js';

/** Dependencies of the reporter. */
export interface ReporterOptions {
  tags: Pick<TagsPort, 'set'>;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
  minIntervalMs?: number;
  /** How long the first change waits for others to join its write (default 1 s). */
  batchMs?: number;
  random?: () => number;
}

/** Throttled, diffing tag writer. */
export class Reporter {
  private readonly desired = new Map<string, string>();
  private readonly written = new Map<string, string>();
  private lastWriteAt: number | undefined;
  private notBefore = 0;
  private failures = 0;
  private pendingSince: number | undefined;

  constructor(private readonly opts: ReporterOptions) {}

  /** Sets the values the tags should have (other keys are left alone). */
  update(values: Readonly<Record<string, string>>): void {
    for (const [key, value] of Object.entries(values)) this.desired.set(key, value);
    if (this.pendingSince === undefined && Object.keys(this.pending()).length > 0) this.pendingSince = this.opts.clock.now();
  }

  /** Records values just written by someone else (straight to the cloud), so they are not written again. */
  markWritten(values: Readonly<Record<string, string>>): void {
    for (const [key, value] of Object.entries(values)) {
      this.desired.set(key, value);
      this.written.set(key, value);
    }
    if (Object.keys(this.pending()).length === 0) this.pendingSince = undefined;
  }

  /** Records values already present in the cloud, so they are not written again. */
  seed(current: Readonly<Record<string, string>>): void {
    for (const [key, value] of Object.entries(current)) this.written.set(key, value);
  }

  /** The keys whose desired value differs from what was last written. */
  pending(): Record<string, string> {
    const diff: Record<string, string> = {};
    for (const [key, value] of this.desired) if (this.written.get(key) !== value) diff[key] = value;
    return diff;
  }

  /** Milliseconds until a write may happen (0 = now); `idleMs` when nothing is pending. */
  delayMs(idleMs = 60_000): number {
    if (Object.keys(this.pending()).length === 0) return idleMs;
    const now = this.opts.clock.now();
    const window = this.lastWriteAt === undefined ? 0 : this.lastWriteAt + (this.opts.minIntervalMs ?? 10_000) - now;
    const batch = (this.pendingSince ?? now) + (this.opts.batchMs ?? 1_000) - now;
    return Math.max(0, window, batch, this.notBefore - now);
  }

  /**
   * Writes the pending diff in one call, if the throttle allows (or `now`: at stop, when what is
   * pending would otherwise be lost); returns true when it wrote.
   */
  async flush(opts: { now?: boolean } = {}): Promise<boolean> {
    const diff = this.pending();
    if (Object.keys(diff).length === 0 || (opts.now !== true && this.delayMs() > 0)) return false;
    this.lastWriteAt = this.opts.clock.now();
    try {
      await this.opts.tags.set(diff);
      for (const [key, value] of Object.entries(diff)) this.written.set(key, value);
      this.failures = 0;
      this.pendingSince = Object.keys(this.pending()).length > 0 ? this.opts.clock.now() : undefined;
      return true;
    } catch (err) {
      const retryAfter = err instanceof HttpError ? err.retryAfterMs : undefined;
      const backoff = Math.max(1_000, fullJitter(this.failures++, { baseMs: 10_000, maxMs: 5 * 60_000, random: this.opts.random ?? Math.random }));
      // Capped again here: a wait from any port, however it was built, never exceeds the ceiling.
      this.notBefore = this.opts.clock.now() + Math.max(capRetryAfter(retryAfter ?? 0), backoff);
      this.opts.log?.warn({ err, keys: Object.keys(diff) }, 'writing tags failed; will retry');
      return false;
    }
  }
}
