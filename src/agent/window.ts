/**
 * Maintenance windows (PRODUCT §3): when disruptive work may start. Pure: no I/O, no clock.
 *
 * Grammar of `AGENT_MAINTENANCE_WINDOW`: `off` (or `none`, or empty) is no window: work may start
 * at any time. Otherwise one or more windows joined by `;` (empty pieces, as after a trailing `;`,
 * are ignored), each `<days> <HH:MM>-<HH:MM>`:
 * - days: a comma list of day names and ranges of them, `Mon`…`Sun` or `Monday`…`Sunday`,
 *   case-insensitive; a range may wrap the week's end (`Fri-Mon` = Fri, Sat, Sun, Mon); a range
 *   needs two different days; `daily` or `*` is every day. Days cannot be left out.
 * - times: `H:MM` or `HH:MM`, hours 0–23, minutes 00–59; `24:00` is allowed as an end only (the
 *   midnight that ends the day: `Mon 22:00-24:00` = `Mon 22:00-00:00`). An end earlier than the
 *   start crosses midnight: `Sat 23:00-02:00` belongs to Saturday and ends Sunday 02:00. Equal
 *   start and end is refused (a window is never empty; the whole day is `00:00-24:00`).
 * Times are wall-clock times in `TZ`. Windows may overlap or touch: an opening is their union
 * (`Mon 02:00-04:00; Mon 04:00-06:00` is open from 02:00 to 06:00). Windows that together cover
 * the whole week never close.
 *
 * Daylight saving (the nights the clocks change in `TZ`):
 * - Spring forward (a wall hour is skipped): a start or end that falls in the skipped hour is the
 *   moment the clocks jump (02:30 in Europe/Berlin on the last Sunday of March is 03:00 CEST,
 *   01:00 UTC). A window lying entirely inside the skipped hour would then be empty; it is instead
 *   open for its nominal length from that moment (`Sun 02:15-02:45` is open 03:00–03:30 CEST), so
 *   no night is lost. A window straddling the skipped hour keeps its wall-clock ends and so is an
 *   hour shorter in real time (`Sun 01:00-04:00` lasts 2 h that night).
 * - Fall back (a wall hour is repeated): a start is its first occurrence and an end its second,
 *   so that night's window is up to an hour longer, never shorter (`Sun 02:15-02:45` in Berlin on
 *   the last Sunday of October is open from 02:15 CEST to 02:45 CET: 90 min).
 * The same rules hold for a midnight that is skipped or repeated (zones that change at 00:00).
 *
 * Offsets come from Intl.DateTimeFormat (as the reboot schedule's); UTC needs none. Per local day
 * searched, two offset lookups in the common case; near a change a few more, and in a skipped hour
 * a binary search on seconds. Searches cover 8 days back and 8 days ahead of the instant asked:
 * every window repeats weekly, so the next opening always lies within them. Assumes, as every
 * real zone does, no two offset changes within four days.
 */
import { clip } from '../lib/text.js';
import { utcOffsetReader } from '../lib/utc-offset.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Day names, Monday first; a window's days are indexes into this list (0 = Monday). */
export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const FULL_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** One window: the days it starts on and its wall-clock start and end, in minutes after 00:00. */
export interface Window {
  /** Days it starts on, 0 = Monday … 6 = Sunday, ascending, no duplicates. */
  readonly days: readonly number[];
  /** Start, minutes after 00:00: 0–1439. */
  readonly start: number;
  /** End, minutes after 00:00: 0–1440; not equal to start; at or before start = the next day. */
  readonly end: number;
}

/** A time when work may start: one window's occurrence, or several that overlap or touch. */
export interface Opening {
  /** When it opens (epoch ms); for one already open, when it opened (for one that never closes, the instant asked). */
  start: number;
  /** When it closes (epoch ms); null when the windows cover every moment of the week. */
  end: number | null;
  /** The windows (indexes into the list, 0-based) whose occurrences make up this opening, in order of start. */
  windows: readonly number[];
}

function dayIndex(word: string): number | undefined {
  const w = word.toLowerCase();
  const i = DAY_NAMES.findIndex((n) => n.toLowerCase() === w);
  if (i >= 0) return i;
  const j = FULL_NAMES.findIndex((n) => n === w);
  return j >= 0 ? j : undefined;
}

const DAYS_HINT = 'days are Mon, Tue, Wed, Thu, Fri, Sat, Sun (or full names), ranges like Mon-Fri, or daily';

function parseDays(text: string): number[] {
  const t = text.trim().toLowerCase();
  if (t === 'daily' || t === '*') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (item === '') throw new Error(`an empty day in the list; ${DAYS_HINT}`);
    const ends = item.split('-').map((s) => s.trim());
    if (ends.length > 2) throw new Error(`"${clip(item, 40)}" is not a day or a range of two days; ${DAYS_HINT}`);
    const idx = ends.map(dayIndex);
    const bad = ends.find((_, i) => idx[i] === undefined);
    if (bad !== undefined) {
      const extra = bad.toLowerCase() === 'daily' || bad === '*' ? ' (daily stands alone)' : '';
      throw new Error(`unknown day "${clip(bad, 40)}"${extra}; ${DAYS_HINT}`);
    }
    const [from, to = from] = idx as number[];
    if (from === undefined) continue;
    if (ends.length === 2 && from === to) throw new Error(`the range "${clip(item, 40)}" starts and ends on the same day; write the day alone`);
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

function parseTime(text: string, role: 'start' | 'end'): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (m === null) throw new Error(`${role} "${clip(text, 40)}" is not a time HH:MM`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h === 24 && min === 0) {
    if (role === 'start') throw new Error('24:00 is only an end; a window starting at midnight starts at 00:00');
    return 1440;
  }
  if (h > 23 || min > 59) throw new Error(`${role} "${text}" is not a time of day (hours 00–23, minutes 00–59; 24:00 as an end)`);
  return h * 60 + min;
}

function parseOne(piece: string): Window {
  const m = /^(.*?)(\d[\d:]*)\s*-\s*(\d[\d:]*)$/.exec(piece);
  if (m === null) throw new Error('must be <days> <HH:MM>-<HH:MM>, e.g. Mon-Fri 02:00-05:00');
  const [, daysText = '', startText = '', endText = ''] = m;
  if (daysText.trim() === '') throw new Error('names no days; write them before the times, e.g. daily 02:00-05:00 or Mon-Fri 02:00-05:00');
  const days = parseDays(daysText);
  const start = parseTime(startText, 'start');
  const end = parseTime(endText, 'end');
  if (end === start) throw new Error('start and end are equal: a window must have a length (the whole day is 00:00-24:00)');
  return Object.freeze({ days: Object.freeze(days), start, end });
}

/**
 * Parses `AGENT_MAINTENANCE_WINDOW` (the module's grammar): null for `off`/`none`/empty (any
 * time), else the windows, frozen. Throws one Error giving every bad window's reason (with several
 * windows, each named by its place and text).
 */
export function parseWindows(raw: string): readonly Window[] | null {
  const text = raw.trim();
  if (text === '' || /^(off|none)$/i.test(text)) return null;
  const pieces = text.split(';').map((p) => p.trim().replace(/\s+/g, ' ')).filter((p) => p !== '');
  if (pieces.length === 0) throw new Error('names no window; write <days> <HH:MM>-<HH:MM>, or off');
  const windows: Window[] = [];
  const problems: string[] = [];
  pieces.forEach((piece, i) => {
    try {
      windows.push(parseOne(piece));
    } catch (err) {
      // One window: the caller shows the whole value; several: name the one at fault.
      problems.push(pieces.length > 1 ? `window ${i + 1} "${clip(piece, 40)}": ${(err as Error).message}` : (err as Error).message);
    }
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return Object.freeze(windows);
}

const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** A window's days as text: `daily`, or runs of three or more as ranges (`Mon-Fri`, `Fri-Mon`), the rest by name. */
export function formatDays(days: readonly number[]): string {
  const set = new Set(days);
  if (set.size === 7) return 'daily';
  // Begin at a day that starts a run (its day before is not in the set), so a run may wrap Sunday.
  const first = [0, 1, 2, 3, 4, 5, 6].find((d) => set.has(d) && !set.has((d + 6) % 7)) ?? 0;
  const parts: string[] = [];
  let run: number[] = [];
  const flush = (): void => {
    if (run.length >= 3) parts.push(`${DAY_NAMES[run[0] ?? 0]}-${DAY_NAMES[run.at(-1) ?? 0]}`);
    else parts.push(...run.map((d) => DAY_NAMES[d] ?? ''));
    run = [];
  };
  for (let k = 0; k < 7; k++) {
    const d = (first + k) % 7;
    if (set.has(d)) run.push(d);
    else if (run.length > 0) flush();
  }
  if (run.length > 0) flush();
  return parts.join(',');
}

/** Windows as the text `parseWindows` reads back (`Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00`); null is `off`. */
export function formatWindows(windows: readonly Window[] | null): string {
  if (windows === null) return 'off';
  return windows.map(formatWindow).join('; ');
}

/** One window as text: `Mon-Fri 02:00-05:00`. */
export function formatWindow(w: Window): string {
  return `${formatDays(w.days)} ${hhmm(w.start)}-${hhmm(w.end)}`;
}

/** A zone's offset from UTC (ms) at an instant. */
type OffsetAt = (t: number) => number;

/** Formatters per zone: a memo of a pure function (a device asks about one zone), bounded to a few entries. */
const READERS = new Map<string, OffsetAt>();

function readerFor(timeZone: string): OffsetAt {
  let reader = READERS.get(timeZone);
  if (reader === undefined) {
    reader = utcOffsetReader(timeZone);
    if (READERS.size >= 8) READERS.clear();
    READERS.set(timeZone, reader);
  }
  return reader;
}

/** Converts wall-clock times of one zone to instants, by the module's DST rules; one per call. */
class Zone {
  private readonly seen = new Map<number, number>();

  constructor(private readonly read: OffsetAt) {}

  offset(t: number): number {
    let o = this.seen.get(t);
    if (o === undefined) {
      o = this.read(t);
      this.seen.set(t, o);
    }
    return o;
  }

  /** The offset that holds all through local days `day` and `day + 1`, or null when it changes near them. */
  steady(day: number): number | null {
    const a = this.offset((day - 1) * DAY);
    const b = this.offset((day + 3) * DAY);
    return a === b ? a : null;
  }

  /**
   * The instant of local wall time `local` (ms on a UTC-based scale): for a repeated time its
   * first (`first`) or second occurrence; for a skipped time the moment the clocks jumped.
   */
  instant(local: number, which: 'first' | 'second', steady: number | null): number {
    if (steady !== null) return local - steady;
    const before = this.offset(local - DAY);
    const after = this.offset(local + DAY);
    const early = local - Math.max(before, after);
    const late = local - Math.min(before, after);
    const earlyOk = early + this.offset(early) === local;
    const lateOk = late + this.offset(late) === local;
    if (earlyOk && lateOk) return which === 'first' ? early : late;
    if (earlyOk) return early;
    if (lateOk) return late;
    // Skipped: the change lies in (early, late]; find its first second by halving.
    let lo = Math.floor(early / 1000);
    let hi = Math.ceil(late / 1000);
    const old = this.offset(lo * 1000);
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.offset(mid * 1000) === old) lo = mid;
      else hi = mid;
    }
    return hi * 1000;
  }
}

interface Occurrence {
  start: number;
  end: number;
  index: number;
}

function occurrence(zone: Zone, day: number, w: Window, index: number, steady: number | null): Occurrence {
  const length = (w.end > w.start ? w.end - w.start : w.end + 1440 - w.start) * MINUTE;
  const localStart = day * DAY + w.start * MINUTE;
  const start = zone.instant(localStart, 'first', steady);
  let end = zone.instant(localStart + length, 'second', steady);
  // Wholly inside a skipped hour: open for its nominal length from the jump.
  if (end <= start) end = start + length;
  return { start, end, index };
}

/** Days searched before and after the instant's local day. */
const REACH = 8;

/**
 * The opening in effect at `t` (epoch ms) or, when none is, the next one to open: its start, end
 * and windows. Null only for an empty list. Throws a RangeError for a zone Intl does not know.
 */
export function nextWindow(windows: readonly Window[], timeZone: string, t: number): Opening | null {
  if (windows.length === 0) return null;
  const zone = new Zone(readerFor(timeZone));
  const today = Math.floor((t + zone.offset(t)) / DAY);
  const all: Occurrence[] = [];
  for (let day = today - REACH; day <= today + REACH; day++) {
    const weekday = (((day + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    let steady: number | null | undefined;
    windows.forEach((w, index) => {
      if (!w.days.includes(weekday)) return;
      steady ??= zone.steady(day);
      all.push(occurrence(zone, day, w, index, steady));
    });
  }
  all.sort((a, b) => a.start - b.start || a.index - b.index);
  let span: { start: number; end: number; windows: number[] } | null = null;
  for (const o of all) {
    if (span !== null && o.start <= span.end) {
      span.end = Math.max(span.end, o.end);
      if (!span.windows.includes(o.index)) span.windows.push(o.index);
      continue;
    }
    if (span !== null && span.end > t) break;
    span = { start: o.start, end: o.end, windows: [o.index] };
  }
  if (span === null || span.end <= t) return null; // cannot happen: every window repeats within the reach
  // A week and a day without a gap: the windows cover every moment of the week.
  if (span.end - span.start >= REACH * DAY) return { start: t, end: null, windows: span.windows };
  return span;
}

/** The opening `t` lies in (start ≤ t < end), or null when `t` is outside every window. */
export function windowAt(windows: readonly Window[], timeZone: string, t: number): Opening | null {
  const next = nextWindow(windows, timeZone, t);
  return next !== null && next.start <= t ? next : null;
}

/**
 * The earliest instant at or after `t` when disruptive work may start: `t` with no windows
 * (`null`, off) or inside one, else the next opening's start (always before its end).
 */
export function earliestStart(windows: readonly Window[] | null, timeZone: string, t: number): number {
  if (windows === null) return t;
  const next = nextWindow(windows, timeZone, t);
  return next === null ? t : Math.max(t, next.start);
}
