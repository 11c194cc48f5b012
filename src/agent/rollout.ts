/**
 * Staged rollouts of fleet commands (PRODUCT §3): each device finds its own wave, no central
 * service decides. Pure: no I/O, no clock, no randomness.
 *
 * - A device's place is the first 8 bytes of sha256(`<uuid>:<token>`) as a big-endian unsigned
 *   integer `b`; `p = b / 2^64` in [0, 1). The wave is computed from `b` exactly (BigInt), never
 *   through a rounded float: `k = floor(b × 100 / (percent × 2^64))`, `n = ceil(100 / percent)`,
 *   and `k ≤ n − 1` always (the last wave is smaller when `percent` does not divide 100: with
 *   33 %, waves 1–3 hold 33 % each and wave 4 holds 1 %).
 * - Percents have at most two decimals (`2.5%`, `0.25%`): they are counted in hundredths of a
 *   percent, an integer `h` in 1…10000, so `k = floor(b × 10000 / (h × 2^64))` and
 *   `n = ceil(10000 / h)` are exact. More decimals are refused, not rounded.
 * - `rollout=<percent>%/<period>`: percent in (0, 100], period a duration with a unit (`30s`,
 *   `10m`, `1h`, `1d`, `1h30m`, `1.5h`) from 1 s to 24 days; a bare number is refused (seconds
 *   or minutes? the operator says which).
 * - `from=<time>`: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` ending in `Z` (or `z`) or `+00:00`; a real
 *   calendar time (no `2026-02-30`, no second 60); fractions below a millisecond are dropped. A
 *   date alone, a local time without a zone and any other offset are refused. A `from=` in the
 *   past is returned as it is: the caller starts its waves from it (so early waves are due now).
 */
import { nodeCrypto } from '../lib/builtins.js';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../config/parsers.js';
import { parseInstant } from '../lib/instant.js';
import { clip } from '../lib/text.js';

/** A parse result: the value, or a reason an operator can act on (it quotes the word). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A rollout: the share of the fleet per wave and the time between wave starts. */
export interface Rollout {
  /** Percent of the fleet per wave, in (0, 100], at most two decimals. */
  percent: number;
  periodMs: number;
}

/** A device's place in a rollout. */
export interface Schedule {
  /** The wave, 0 first (acks show it 1-based: `wave <wave + 1>/<of>`). */
  wave: number;
  /** How many waves the rollout has. */
  of: number;
  /** Wall-clock epoch ms when the device's wave starts. */
  startMs: number;
}

/** The shortest period a rollout accepts. */
export const MIN_PERIOD_MS = 1_000;

const TWO_64 = 1n << 64n;

/** The device's place as the exact 64-bit integer `b` (first 8 bytes of sha256(`<uuid>:<token>`), big-endian). */
export function placeBits(uuid: string, token: string): bigint {
  return nodeCrypto().createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0);
}

/**
 * The device's place `p = b / 2^64` in [0, 1), for display: `b` cut to the double's 53 bits
 * (rounded down, so never 1). Waves are computed from {@link placeBits}.
 */
export function wavePlace(uuid: string, token: string): number {
  return Number(placeBits(uuid, token) >> 11n) / 2 ** 53;
}

/** A percent as whole hundredths of a percent (1…10000); throws RangeError for any other percent. */
export function hundredths(percent: number): number {
  const h = Math.round(percent * 100);
  if (!Number.isFinite(percent) || Math.abs(percent * 100 - h) > 1e-6 || h < 1 || h > 10_000) {
    throw new RangeError(`a rollout percent must be in (0, 100] with at most two decimals, got ${percent}`);
  }
  return h;
}

/** How many waves a rollout of `percent` has: `ceil(100 / percent)`. */
export function waveCount(percent: number): number {
  const h = hundredths(percent);
  return Math.ceil(10_000 / h);
}

/** A place in [0, 1) as an exact fraction `num / 2^shift` (every double is one). */
function exactFraction(place: number): { num: bigint; shift: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, place);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const mantissa = bits & ((1n << 52n) - 1n);
  if (exponent === 0) return { num: mantissa, shift: 1074n };
  return { num: mantissa | (1n << 52n), shift: BigInt(1075 - exponent) };
}

/**
 * The wave (0 first) of a place: `floor(p × 100 / percent)`, at most `waveCount − 1`. `place` is
 * the 64-bit integer of {@link placeBits} (exact) or a number in [0, 1) (taken at its exact value).
 */
export function waveOf(place: bigint | number, percent: number): number {
  const h = BigInt(hundredths(percent));
  let num: bigint;
  let den: bigint;
  if (typeof place === 'bigint') {
    if (place < 0n || place >= TWO_64) throw new RangeError('a place must be a 64-bit unsigned integer');
    num = place;
    den = TWO_64;
  } else {
    if (!(place >= 0 && place < 1)) throw new RangeError(`a place must be in [0, 1), got ${place}`);
    const f = exactFraction(place);
    num = f.num;
    den = 1n << f.shift;
  }
  const k = Number((num * 10_000n) / (h * den));
  return Math.min(k, waveCount(percent) - 1);
}

/** When wave `k` starts: `t0 + k × period` (epoch ms). */
export function waveStart(t0Ms: number, k: number, periodMs: number): number {
  return t0Ms + k * periodMs;
}

/** A device's wave, wave count and start in a rollout that begins at `t0Ms`. */
export function deviceSchedule(uuid: string, token: string, rollout: Rollout, t0Ms: number): Schedule {
  const wave = waveOf(placeBits(uuid, token), rollout.percent);
  return { wave, of: waveCount(rollout.percent), startMs: waveStart(t0Ms, wave, rollout.periodMs) };
}

/** The wave as acks show it: `wave <k+1>/<n>`. */
export function waveLabel(s: Pick<Schedule, 'wave' | 'of'>): string {
  return `wave ${s.wave + 1}/${s.of}`;
}

/** A rollout as its value is written (`10%/1h`). */
export function formatRollout(r: Rollout): string {
  return `${r.percent}%/${formatDuration(r.periodMs)}`;
}

const ROLLOUT_SHAPE = 'expected <percent>%/<period>, e.g. rollout=10%/1h';

/** Parses the value of `rollout=` (`10%/1h`); the reason does not repeat the value. */
export function parseRolloutValue(text: string): Parsed<Rollout> {
  const fail = (reason: string): Parsed<Rollout> => ({ ok: false, reason });
  const match = /^([^/%]*)%\/(.*)$/.exec(text);
  if (!match) return fail(ROLLOUT_SHAPE);
  const [, pct = '', period = ''] = match;
  if (!/^\d+(\.\d+)?$/.test(pct)) return fail(`the percent must be a number, ${ROLLOUT_SHAPE}`);
  if (/\.\d{3,}$/.test(pct)) return fail('the percent may have at most two decimals (e.g. 2.5%)');
  const percent = Number(pct);
  if (!(percent > 0 && percent <= 100)) return fail('the percent must be between 0 (excluded) and 100');
  if (period === '') return fail(`missing period, ${ROLLOUT_SHAPE}`);
  if (/^\d+(\.\d+)?$/.test(period)) return fail(`the period needs a unit: ${period}s, ${period}m, ${period}h or ${period}d`);
  let periodMs: number;
  try {
    periodMs = parseDuration(period, { min: MIN_PERIOD_MS, max: MAX_DURATION_MS });
  } catch (err) {
    const message = (err as Error).message.replace(/ \(a bare number is seconds\)$/, '');
    return fail(`the period ${message}`);
  }
  return { ok: true, value: { percent, periodMs } };
}

/** Parses a `rollout=<percent>%/<period>` word. */
export function parseRollout(word: string): Parsed<Rollout> {
  if (!word.startsWith('rollout=')) return { ok: false, reason: `${clip(word, 60)}: not a rollout= word` };
  const parsed = parseRolloutValue(word.slice('rollout='.length));
  return parsed.ok ? parsed : { ok: false, reason: `${clip(word, 60)}: ${parsed.reason}` };
}

const FROM_SHAPE = 'expected a UTC time like 2026-12-05T08:00Z';

/** Parses the value of `from=` as epoch ms; the reason does not repeat the value. */
export function parseFromValue(text: string): Parsed<number> {
  const fail = (reason: string): Parsed<number> => ({ ok: false, reason });
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return fail(`a date alone is not a time; give the UTC time too, e.g. ${text}T00:00Z`);
  const read = parseInstant(text);
  if (!read.ok) {
    return fail(read.reason === 'shape' ? FROM_SHAPE : 'not a real calendar time (month 01–12, day within the month, hour 00–23, minute and second 00–59)');
  }
  const { zone } = read;
  if (zone === undefined) return fail('must be UTC: end the time in Z or +00:00');
  if (zone.toUpperCase() !== 'Z' && zone !== '+00:00') return fail(`must be UTC: end the time in Z or +00:00, not ${zone}`);
  if (read.value < 0) return fail('the year must be 1970 or later');
  return { ok: true, value: read.value };
}

/** Parses a `from=<UTC ISO-8601 time>` word as epoch ms. */
export function parseFrom(word: string): Parsed<number> {
  if (!word.startsWith('from=')) return { ok: false, reason: `${clip(word, 60)}: not a from= word` };
  const parsed = parseFromValue(word.slice('from='.length));
  return parsed.ok ? parsed : { ok: false, reason: `${clip(word, 60)}: ${parsed.reason}` };
}

/** The rollout words of a fleet command's value, and the words left for the command itself. */
export interface ScheduleWords {
  rollout: Rollout | null;
  fromMs: number | null;
  rest: string[];
}

/**
 * Takes `rollout=` and `from=` out of the words after a command's token; the other words are
 * returned in order. Refused: either word twice, and any other word with `=` (reserved, PRODUCT §3).
 * Whether `from=` without `rollout=` makes sense is the caller's to say.
 */
export function parseScheduleWords(words: readonly string[]): Parsed<ScheduleWords> {
  const out: ScheduleWords = { rollout: null, fromMs: null, rest: [] };
  for (const word of words) {
    if (word.startsWith('rollout=')) {
      if (out.rollout !== null) return { ok: false, reason: `${clip(word, 60)}: rollout= given twice` };
      const parsed = parseRollout(word);
      if (!parsed.ok) return parsed;
      out.rollout = parsed.value;
    } else if (word.startsWith('from=')) {
      if (out.fromMs !== null) return { ok: false, reason: `${clip(word, 60)}: from= given twice` };
      const parsed = parseFrom(word);
      if (!parsed.ok) return parsed;
      out.fromMs = parsed.value;
    } else if (word.includes('=')) {
      return { ok: false, reason: `${clip(word, 60)}: unknown word; a fleet command takes rollout=<percent>%/<period> and from=<UTC time>` };
    } else out.rest.push(word);
  }
  return { ok: true, value: out };
}
