import type { ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';

/** A line the simulated host journal holds (what `pushJournal` takes). */
export interface SimJournalLine {
  message: string;
  /** systemd unit, e.g. `balena.service`. */
  unit?: string;
  /** syslog identifier, e.g. `balenad`. */
  identifier?: string;
  /** syslog priority 0–7 (default 6, info). */
  priority?: number;
  /** Epoch ms (default: the clock's wall time). */
  at?: number;
}

interface Entry {
  message: string;
  unit: string;
  identifier: string;
  priority: number;
  at: number;
  /** `__REALTIME_TIMESTAMP`: µs, distinct for entries pushed within one ms (as journald's are). */
  atUs: number;
  /** Position in the journal, for `__CURSOR`. */
  seq: number;
}

/** What a journal-logs request asked for (after the supervisor's coercion). */
export interface JournalQuery {
  follow: boolean;
  count: number | undefined;
  unit: string | undefined;
  /** `containerId` of the request: journalctl `-t`, the syslog identifier. */
  identifier: string | undefined;
  format: string;
  /** `since`/`until` as epoch µs. */
  sinceUs: number | undefined;
  untilUs: number | undefined;
}

interface Subscriber {
  res: ServerResponse;
  query: JournalQuery;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `journalctl -f` without `-n` (and without `--since`) starts with the last 10 lines. */
const FOLLOW_DEFAULT_COUNT = 10;

/** The simulated host journal: stored lines plus the open `--follow` streams. */
export class SimJournal {
  private readonly opts: { clock: Clock; hostname: () => string };
  private readonly entries: Entry[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** While true, a reply without follow writes its lines but never ends. */
  stalled = false;
  /** While true, journal-logs requests are answered 503 (the journal is unavailable). */
  refusing = false;
  private lastUs = 0;

  constructor(opts: { clock: Clock; hostname: () => string }) {
    this.opts = opts;
  }

  /** Adds a line and writes it to every open follow stream it matches. */
  push(line: SimJournalLine): void {
    const at = line.at ?? this.opts.clock.wall();
    // Within one ms, later entries get later µs; a wall clock stepped back starts again from it.
    const atUs = at * 1000 > this.lastUs || at * 1000 < this.lastUs - 999 ? at * 1000 : this.lastUs + 1;
    this.lastUs = atUs;
    const entry: Entry = {
      message: line.message,
      unit: line.unit ?? 'balena.service',
      identifier: line.identifier ?? 'balenad',
      priority: line.priority ?? 6,
      at,
      atUs,
      seq: this.entries.length + 1,
    };
    this.entries.push(entry);
    for (const sub of this.subscribers) {
      if (matches(entry, sub.query)) sub.res.write(`${this.format(entry, sub.query.format)}\n`);
    }
  }

  /** How many follow streams are open (lets tests wait for a subscriber). */
  get followers(): number {
    return this.subscribers.size;
  }

  /** Answers a journal-logs request: the selected lines, then (with follow) every later match. */
  serve(res: ServerResponse, query: JournalQuery): void {
    res.writeHead(200);
    res.flushHeaders();
    let selected = this.entries.filter((e) => matches(e, query));
    // journalctl implies `-n 10` with --follow only when no --since is given.
    const count = query.count ?? (query.follow && query.sinceUs === undefined ? FOLLOW_DEFAULT_COUNT : undefined);
    if (count !== undefined) selected = count > 0 ? selected.slice(-count) : [];
    for (const entry of selected) res.write(`${this.format(entry, query.format)}\n`);
    if (!query.follow) {
      if (!this.stalled) res.end();
      return;
    }
    const sub: Subscriber = { res, query };
    this.subscribers.add(sub);
    res.on('close', () => this.subscribers.delete(sub));
  }

  /** Cuts every open follow stream (a supervisor restart or a dropped connection). */
  dropFollowers(): void {
    for (const sub of this.subscribers) sub.res.destroy();
    this.subscribers.clear();
  }

  /** Ends every follow stream (on stop). */
  closeAll(): void {
    for (const sub of this.subscribers) sub.res.destroy();
    this.subscribers.clear();
  }

  private format(entry: Entry, format: string): string {
    if (format === 'json') {
      return JSON.stringify({
        __CURSOR: `s=sim;i=${entry.seq.toString(16)};t=${entry.atUs.toString(16)}`,
        __REALTIME_TIMESTAMP: String(entry.atUs),
        _HOSTNAME: this.opts.hostname(),
        PRIORITY: String(entry.priority),
        SYSLOG_IDENTIFIER: entry.identifier,
        _SYSTEMD_UNIT: entry.unit,
        MESSAGE: entry.message,
      });
    }
    if (format === 'cat') return entry.message;
    const d = new Date(entry.at);
    const time = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    const day = String(d.getUTCDate()).padStart(2, '0');
    return `${MONTHS[d.getUTCMonth()] ?? 'Jan'} ${day} ${time} ${this.opts.hostname()} ${entry.identifier}: ${entry.message}`;
  }
}

const UNIT_TYPES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];

/**
 * What `journalctl -u NAME` matches, as systemd mangles the name: without a unit type suffix it
 * means `NAME.service`; `*`, `?` and `[…]` are globs.
 */
export function unitMatcher(name: string): (unit: string) => boolean {
  const suffix = /\.([a-z]+)$/.exec(name)?.[1];
  const glob = /[*?[]/.test(name);
  const full = glob || (suffix !== undefined && UNIT_TYPES.includes(suffix)) ? name : `${name}.service`;
  if (!glob) return (unit) => unit === full;
  const source = full.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (unit) => re.test(unit);
}

function matches(entry: Entry, query: JournalQuery): boolean {
  if (query.unit !== undefined && !unitMatcher(query.unit)(entry.unit)) return false;
  if (query.identifier !== undefined && entry.identifier !== query.identifier) return false;
  if (query.sinceUs !== undefined && entry.atUs < query.sinceUs) return false;
  if (query.untilUs !== undefined && entry.atUs > query.untilUs) return false;
  return true;
}
