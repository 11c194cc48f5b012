/**
 * An ISO 8601 instant as operators write one: `YYYY-MM-DDTHH:MM[:SS[.fraction]]`, then `Z` or an
 * offset `±HH:MM` (or `±HHMM`); the `T` and `Z` in any case. A real calendar time only: no
 * `2026-02-30`, no hour 24, no second 60 (Date.parse would roll those over into another day).
 * Digits of the fraction below a millisecond are dropped. Callers decide which zones they take.
 */

/** What was read: the instant (epoch ms) and the zone as written (undefined when none was). */
export type Instant = { ok: true; value: number; zone: string | undefined } | { ok: false; reason: 'shape' | 'calendar' };

const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Reads `text` (see the file header); a time without a zone is read as UTC and says so by `zone: undefined`. */
export function parseInstant(text: string): Instant {
  const m = INSTANT_RE.exec(text);
  if (!m) return { ok: false, reason: 'shape' };
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  // setUTCFullYear, not Date.UTC: that reads the years 0–99 as 1900–1999.
  const back = new Date(0);
  back.setUTCFullYear(year, month - 1, day);
  back.setUTCHours(hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  const wall = back.getTime();
  const real = back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day
    && back.getUTCHours() === hour && back.getUTCMinutes() === minute && back.getUTCSeconds() === second;
  if (!real) return { ok: false, reason: 'calendar' };
  let offsetMs = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    if (hours > 23 || minutes > 59) return { ok: false, reason: 'calendar' };
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  return { ok: true, value: wall - offsetMs, zone };
}
