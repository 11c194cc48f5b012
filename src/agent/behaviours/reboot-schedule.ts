/**
 * The reboot schedule (PRODUCT §3 Behaviours): the device reboots at each slot of the cron pattern
 * `AGENT_REBOOT_SCHEDULE`, read in the zone `TZ`, shifted by the device's own stable offset in
 * `[0, AGENT_SCHEDULE_SPREAD)` (`spreadOffset`) so that a fleet does not reboot all at once.
 *
 * Once per slot: the intent's key is the slot (`reboot-schedule@<UTC ISO minute>`), and a slot
 * the journal holds, in any state, is never proposed again. Only the latest slot due (slot plus
 * offset at or before now) is looked at:
 * - due less than the tolerance ago (the spread, at least 5 min, so that a tick a few seconds late
 *   still runs with no spread) → proposed;
 * - due longer ago (the agent was down or the device off at that time) → proposed refused
 *   (`missed: …; skipped`): recorded and reported, never run;
 * - due before the pattern took effect in this zone (`since`, kept in the behaviour's state) →
 *   nothing: a schedule just set never reports a missed slot from before it existed.
 * Clock steps: a clock that jumps forward past several slots sees only the latest, refused as
 * missed (no reboot storm). A clock that jumps back finds the slots it already passed in the
 * journal and never runs them again; a `since` left ahead of it starts again from now.
 *
 * Daylight saving (what croner does; the tests check Europe/Berlin and America/New_York): a
 * local time that does not exist, on the night the clocks go forward, is taken as the same time on
 * the clock before the change, an hour later: `30 2 * * *` runs at 03:30 summer time that day. A
 * local time that occurs twice, on the night they go back, is taken once: in Berlin (east of UTC)
 * at its second occurrence, so `30 2 * * *` runs at 02:30 winter time and the first pass of that
 * hour holds no slot at all; west of UTC (America/New_York) croner takes the first. Either way a
 * daily pattern has exactly one slot each day, never two. Croner's `nextRun` asked from near a
 * change (less than the shift before or after it) may skip a slot or answer one already passed, so
 * there the occurrences are walked from just before that span (at most one walk per `slots` call:
 * about 120 questions for `* * * * *` in Berlin, in the two hours around each change).
 *
 * Pure: no I/O, no clock, no randomness; everything comes from the snapshot.
 */
import { Cron } from 'croner';
import { nodeCrypto } from '../../lib/builtins.js';
import { utcOffsetReader } from '../../lib/utc-offset.js';
import { behaviourKey, entryKey, type Intent } from '../intent.js';
import type { Snapshot } from '../snapshot.js';
import type { Behaviour, Decision } from './behaviour.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The least time a slot may be late and still run (a longer spread gives a longer tolerance). */
export const MIN_TOLERANCE_MS = 5 * MINUTE;

/** Spans searched backwards for the latest slot, smallest first; older slots are not looked for. */
const WINDOWS = [MINUTE, HOUR, DAY, 32 * DAY, 400 * DAY] as const;

/** How far around an instant a change of the zone's offset is looked for (longer than any change). */
const NEAR = 3 * HOUR;

/**
 * Most occurrences walked through the span around a change (a five-field pattern has at most 240
 * in the widest, 4 h); a pattern with more (a seconds field) skips the rest of that span.
 */
const WALK = 250;

const NAME = 'reboot-schedule';

/** The behaviour's persisted state: since when (wall) this pattern has been in effect in this zone. */
export interface ScheduleState {
  pattern: string;
  zone: string;
  since: number;
}

/** The two slots around a moment, as cron occurrences (not shifted by the offset). */
export interface Slots {
  last: number | null;
  next: number | null;
}

/**
 * The device's stable offset in `[0, spreadMs)`: the first 8 bytes of sha256(uuid as UTF-8) read
 * as a big-endian unsigned integer, divided by 2^64, times `spreadMs`, floored; 0 when `spreadMs`
 * is 0. An operator can compute it: `floor(int('0x' + sha256(uuid)[:16]) * spreadMs / 2**64)`.
 */
export function spreadOffset(uuid: string, spreadMs: number): number {
  const spread = Math.floor(spreadMs);
  if (!(spread > 0)) return 0;
  if (!Number.isSafeInteger(spread)) throw new RangeError(`spread must be a finite number of milliseconds, got ${spreadMs}`);
  const place = nodeCrypto().createHash('sha256').update(uuid, 'utf8').digest().readBigUInt64BE(0);
  return Number((place * BigInt(spread)) >> 64n);
}

/** A pattern in a zone, asked by instants (epoch ms), for the length of one `slots` call. */
interface Schedule {
  cron: Cron;
  /** The zone's offset from UTC at an instant, in ms. */
  offsetAt(t: number): number;
  /** Occurrences already walked through the span around a change, by the span's start. */
  walks: Map<number, { seen: number[]; end: boolean }>;
}

function schedule(pattern: string, timeZone: string): Schedule {
  // UTC as an offset of 0: no time zone data to load (Intl's zones cost megabytes of RSS).
  const cron = new Cron(pattern, { ...(timeZone === 'UTC' ? { utcOffset: 0 } : { timezone: timeZone }), paused: true });
  return { cron, walks: new Map(), offsetAt: utcOffsetReader(timeZone) };
}

/** Croner's next occurrence strictly after `t`, from `t` as it is. */
function cronerNext(s: Schedule, t: number): number | null {
  const next = s.cron.nextRun(new Date(t))?.getTime() ?? null;
  if (next !== null && next <= t) throw new Error(`croner went backwards: ${new Date(next).toISOString()} after ${new Date(t).toISOString()}`);
  return next;
}

/**
 * The span around a change of the zone's offset, from `shift` before it to `shift` after it, when
 * `x` lies in it: there croner's `nextRun` may skip slots or answer one already passed (the
 * module's comment), so the occurrences are walked from before it. Null elsewhere.
 */
function unsafeSpan(s: Schedule, x: number): { from: number; to: number } | null {
  const before = s.offsetAt(x - NEAR);
  const after = s.offsetAt(x + NEAR);
  if (before === after) return null;
  let lo = x - NEAR;
  let hi = x + NEAR;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (s.offsetAt(mid) === before) lo = mid;
    else hi = mid;
  }
  const shift = Math.abs(after - before);
  return x >= hi - shift && x < hi + shift ? { from: hi - shift, to: hi + shift } : null;
}

/** The first occurrence strictly after `x` (null when the pattern never matches again). */
function firstAfter(s: Schedule, x: number): number | null {
  const span = unsafeSpan(s, x);
  if (span === null) return cronerNext(s, x);
  let walk = s.walks.get(span.from);
  if (walk === undefined) {
    const first = cronerNext(s, span.from - SECOND);
    walk = first === null ? { seen: [], end: true } : { seen: [first], end: false };
    s.walks.set(span.from, walk);
  }
  const { seen } = walk;
  while (!walk.end && (seen.at(-1) ?? Infinity) <= x) {
    if (seen.length > WALK) return cronerNext(s, span.to);
    const r = cronerNext(s, seen.at(-1) ?? span.from);
    if (r === null) walk.end = true;
    else seen.push(r);
  }
  return seen.find((r) => r > x) ?? null;
}

/**
 * The latest occurrence at or before `target`, knowing `first` is one; and the one after. Steps
 * forward, and halves what is left to search at each step, so that a dense pattern costs about
 * 2·log2(span) questions, not one per occurrence.
 */
function latest(s: Schedule, first: number, target: number): Slots {
  let lo = first;
  let hi = target; // no occurrence in (hi, target]
  for (;;) {
    const n = firstAfter(s, lo);
    if (n === null || n > hi) return { last: lo, next: n };
    lo = n;
    if (hi - lo > SECOND) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const m = firstAfter(s, mid);
      if (m !== null && m <= hi) lo = m;
      else hi = mid;
    }
  }
}

/**
 * The slots around `wall` of `pattern` in `timeZone` for a device shifted by `offsetMs`: `last`,
 * the latest occurrence s with s + offsetMs <= wall (occurrences more than 400 days back are not
 * looked for), and `next`, the earliest with s + offsetMs > wall; null when there is none. Searches
 * backwards in growing windows (1 min, 1 h, 1 day, 32 days, 400 days) and forward only inside the
 * first that holds an occurrence. Throws on a pattern or zone croner does not take.
 */
export function slots(pattern: string, timeZone: string, offsetMs: number, wall: number): Slots {
  // The answer holds for every `wall` in [last + offset, next + offset): asked again inside that
  // span (every decision round, every minute), it is not computed again.
  const key = `${pattern}\n${timeZone}\n${offsetMs}`;
  const known = REMEMBERED.get(key);
  if (known && known.from <= wall && wall < known.to) return known.slots;
  const found = search(pattern, timeZone, offsetMs, wall);
  if (REMEMBERED.size >= 8) REMEMBERED.clear();
  REMEMBERED.set(key, {
    slots: found,
    from: found.last === null ? wall : found.last + offsetMs,
    to: found.next === null ? wall + 1 : found.next + offsetMs,
  });
  return found;
}

/**
 * The last answer of `slots` per pattern, zone and offset, with the span of walls it holds for.
 * A memo of a pure function (a device asks about one schedule), bounded to a few entries.
 */
const REMEMBERED = new Map<string, { slots: Slots; from: number; to: number }>();

function search(pattern: string, timeZone: string, offsetMs: number, wall: number): Slots {
  const s = schedule(pattern, timeZone);
  const target = wall - offsetMs;
  let next: number | null = null;
  for (const span of WINDOWS) {
    const first = firstAfter(s, target - span);
    if (first === null) return { last: null, next: null };
    if (first <= target) return latest(s, first, target);
    next = first;
  }
  return { last: null, next };
}

/** The id of a slot in its intent's key: its UTC ISO minute (`2026-12-03T02:00Z`), with seconds when it has any. */
function slotId(slot: number): string {
  const iso = new Date(slot).toISOString();
  return iso.slice(17, 19) === '00' ? `${iso.slice(0, 16)}Z` : `${iso.slice(0, 19)}Z`;
}

/** The persisted state as read from disk, or null when it is not one. */
function readState(raw: unknown): ScheduleState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { pattern, zone, since } = raw as Record<string, unknown>;
  if (typeof pattern !== 'string' || typeof zone !== 'string' || typeof since !== 'number' || !Number.isFinite(since)) return null;
  return { pattern, zone, since };
}

/** On when a schedule is set (while the uuid is unknown, decide waits: what it left deferred is kept). */
function enabled(s: Snapshot): boolean {
  return s.config.rebootSchedule !== null;
}

function decide(s: Snapshot): Decision {
  const pattern = s.config.rebootSchedule;
  if (pattern === null || s.uuid === '') return { proposals: [] };
  const zone = s.config.timeZone;
  const held = readState(s.state[NAME]);
  const fresh = held === null || held.pattern !== pattern || held.zone !== zone || held.since > s.wall;
  const since = fresh ? s.wall : held.since;
  const base: Decision = fresh ? { proposals: [], state: { pattern, zone, since } satisfies ScheduleState } : { proposals: [] };
  const spread = s.config.scheduleSpreadMs;
  const offset = spreadOffset(s.uuid, spread);
  let last: number | null;
  try {
    ({ last } = slots(pattern, zone, offset, s.wall));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ...base, problems: [`reboot schedule "${pattern}" in ${zone}: ${why}`] };
  }
  if (last === null) return base;
  const due = last + offset;
  if (due < since) return base;
  const key = behaviourKey(NAME, slotId(last));
  if (s.journal.some((e) => e.token === key) || s.inProgress.has(entryKey('reboot', key))) return base;
  const intent: Intent = { key, origin: NAME, command: 'reboot', args: { services: [] }, force: false };
  const late = s.wall - due;
  if (late < Math.max(spread, MIN_TOLERANCE_MS)) return { ...base, proposals: [{ intent }] };
  const refuse = `missed: due ${new Date(due).toISOString()}, ${Math.floor(late / MINUTE)} min late (more than the spread); skipped`;
  return { ...base, proposals: [{ intent, refuse }] };
}

function nextWakeWall(s: Snapshot): number | null {
  const pattern = s.config.rebootSchedule;
  if (pattern === null || s.uuid === '') return null;
  const offset = spreadOffset(s.uuid, s.config.scheduleSpreadMs);
  try {
    const { next } = slots(pattern, s.config.timeZone, offset, s.wall);
    return next === null ? null : next + offset;
  } catch {
    return null; // decide reports it as a problem
  }
}

/** The `reboot-schedule` behaviour: reboots once per slot of the schedule, shifted by the device's offset. */
export const rebootSchedule: Behaviour = { name: NAME, level: false, enabled, decide, nextWakeWall };
