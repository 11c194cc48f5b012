/** Retry timing: full-jitter exponential backoff and Retry-After parsing. */

/** Backoff settings; `random` is injected so tests are deterministic. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/**
 * Full jitter: a uniform delay in [0, min(max, base·2^attempt)] (attempt counts from 0).
 * Spreads retries of a whole fleet instead of synchronising them.
 */
export function fullJitter(attempt: number, opts: BackoffOptions): number {
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** The ceiling of the n-th delay without jitter (for deterministic ladders such as lock waits). */
export function exponential(attempt: number, opts: BackoffOptions): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * The longest Retry-After a device honours: 1 h. A peer asking for more (a bogus header, a
 * far-future date, a misconfigured proxy) gets this instead: a fleet device must not go dark for
 * days on one header, and an hour is longer than any real rate-limit window of the balena API.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** A wait a peer asked for, bounded to [0, MAX_RETRY_AFTER_MS] (a NaN counts as no wait). */
export function capRetryAfter(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

/**
 * Parses a Retry-After header: delta-seconds (the balena API sends seconds) or an HTTP-date.
 * Returns milliseconds from `nowWall`, never negative and at most MAX_RETRY_AFTER_MS; undefined
 * when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined | null, nowWall: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return capRetryAfter(Math.ceil(Number(text) * 1000));
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return capRetryAfter(at - nowWall);
}
