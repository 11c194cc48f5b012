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
 * Parses a Retry-After header: delta-seconds (the balena API sends seconds) or an HTTP-date.
 * Returns milliseconds from `nowWall`, never negative; undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined | null, nowWall: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowWall);
}
