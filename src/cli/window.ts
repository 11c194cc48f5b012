import { loadConfig } from '../config/load.js';
import { formatWindow, formatWindows, nextWindow, windowAt, type Opening, type Window } from '../agent/window.js';
import { UsageError } from '../lib/errors.js';
import { parseInstant } from '../lib/instant.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import type { Runner, RunnersOf } from './commands.js';
import { EXIT } from './exit.js';

/** An instant as people read it in a zone: `Thu 2026-12-03 02:00 UTC+01:00`. */
export function localTime(t: number, timeZone: string): string {
  if (timeZone === 'UTC') {
    const iso = new Date(t).toISOString();
    const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(t).getUTCDay()] ?? '';
    return `${weekday} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
  }).formatToParts(t);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('weekday')} ${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} UTC${offset}`;
}

const utc = (t: number): string => `${new Date(t).toISOString().slice(0, 19)}Z`;

/** An opening as the JSON output gives it. */
interface OpeningDoc {
  start: string;
  startLocal: string;
  /** Null: never closes (the windows cover the whole week). */
  end: string | null;
  endLocal: string | null;
  windows: string[];
}

function describeOpening(o: Opening, windows: readonly Window[], timeZone: string): OpeningDoc {
  return {
    start: utc(o.start),
    startLocal: localTime(o.start, timeZone),
    end: o.end === null ? null : utc(o.end),
    endLocal: o.end === null ? null : localTime(o.end, timeZone),
    windows: o.windows.map((i) => (windows[i] === undefined ? '' : formatWindow(windows[i]))),
  };
}

/** What `fleet-agent window` reports: whether disruptive work may start at `at`, and the windows around it. */
export interface WindowReport {
  window: string;
  timeZone: string;
  at: string;
  /** Disruptive work may start at `at` (no window set, or inside one). */
  open: boolean;
  /** When disruptive work asked for at `at` may start. */
  startsAt: string;
  /** The opening `at` lies in, or null. */
  current: OpeningDoc | null;
  /** The next opening after `at` (after the current one closes, when inside one); null when none is set or it never closes. */
  next: OpeningDoc | null;
}

/** The report for windows (null: off) in a zone at instant `t`. */
export function windowReport(windows: readonly Window[] | null, timeZone: string, t: number): WindowReport {
  const base = { window: formatWindows(windows), timeZone, at: utc(t) };
  if (windows === null) return { ...base, open: true, startsAt: utc(t), current: null, next: null };
  const current = windowAt(windows, timeZone, t);
  const after = current === null ? t : current.end;
  const next = after === null ? null : nextWindow(windows, timeZone, after);
  return {
    ...base,
    open: current !== null,
    startsAt: utc(current !== null || next === null ? t : next.start),
    current: current === null ? null : describeOpening(current, windows, timeZone),
    next: next === null ? null : describeOpening(next, windows, timeZone),
  };
}

const span = (o: OpeningDoc): string =>
  `${o.start} (${o.startLocal}) until ${o.end === null ? 'never closes' : `${o.end} (${o.endLocal})`}`;

/** The report as lines for people. */
export function describeReport(r: WindowReport): string[] {
  if (r.window === 'off') {
    return [`maintenance window: off (AGENT_MAINTENANCE_WINDOW is not set); disruptive work may start any time`, `time zone: ${r.timeZone}`];
  }
  const lines = [`maintenance window: ${r.window}`, `time zone: ${r.timeZone}`];
  if (r.current !== null) {
    lines.push(r.current.end === null
      ? 'now: inside a window that never closes (the windows cover the whole week); disruptive work may start now'
      : `now: inside a window, open until ${r.current.end} (${r.current.endLocal}); disruptive work may start now`);
  } else {
    lines.push(`now: outside every window (${r.at}, ${localTime(Date.parse(r.at), r.timeZone)}); disruptive work waits until ${r.startsAt}`);
  }
  if (r.next !== null) lines.push(`next: ${span(r.next)}`);
  return lines;
}

/** Parses `--at`: a real ISO 8601 time with `Z` or an offset (a bare local time would depend on this process's TZ). */
function parseAt(text: string): number {
  const read = parseInstant(text.trim());
  if (!read.ok || read.zone === undefined) {
    const why = read.ok ? '' : read.reason === 'calendar' ? ' (that day or time does not exist)' : '';
    throw new UsageError(`--at must be an ISO 8601 time with Z or an offset, e.g. 2026-12-05T02:30Z${why}; usage: fleet-agent window [--at TIME] [--json]`);
  }
  return read.value;
}

/** `window`: is the device inside a maintenance window now (or at --at), and when does the next one open. */
const window: Runner = (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'window', { ...COMMON_FLAGS, at: { type: 'string' } });
  const t = values.at === undefined ? ctx.clock.wall() : parseAt(values.at);
  const config = loadConfig(ctx.env);
  const report = windowReport(config.maintenanceWindow, config.timeZone, t);
  if (values.json) ctx.out(JSON.stringify(report));
  else for (const line of describeReport(report)) ctx.out(line);
  return Promise.resolve(EXIT.ok);
};

/** `window`. */
export const runners: RunnersOf<'window'> = { window };
