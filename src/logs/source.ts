/**
 * The journal source: `POST /v2/journal-logs` with `follow` and `format: json`, one connection per
 * run (the scheduler's `service` starts it again with backoff when it ends or fails).
 *
 * Where a connection starts:
 * - with a stored position, on a supervisor ≥ 14.7.0: `since` = the position's time (`@<s>.<µs>`,
 *   inclusive), so the entries at exactly that time come again and are de-duplicated (below);
 * - with a stored position, on an older supervisor: the last RESUME_WINDOW entries (`count`), de-duplicated
 *   the same way; lines older than that window that were never read are lost on such a supervisor;
 * - first start (no position): `since` = the boot time (the current boot from its beginning), else
 *   the last FIRST_START_COUNT entries; the spool's budget bounds what is kept of it.
 *
 * The de-duplication rule, until the first entry newer than the position arrives: an entry older than
 * the position's time is skipped; an entry at exactly that time is skipped when its identity (its
 * `__CURSOR`, else `h:` + the CRC32 of its JSON text) is among the identities the position holds (those
 * taken at that time). From the first newer entry on everything passes (a wall clock stepped back
 * does not hide later lines). The position is the time of the last entry taken plus the identities
 * taken at that time; it is stored in the spool with every batch, so what the spool holds and where
 * the journal is read up to never disagree: a kill repeats at most the batch that was not yet stored.
 */
import { crc32 } from 'node:zlib';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { JournalLogsOptions } from '../supervisor/types.js';
import { supports } from '../supervisor/version.js';
import type { JournalPosition } from './codec.js';
import { fromJournalJson, type LogLine } from './line.js';

/** Entries asked for when resuming on a supervisor without `since`. */
export const RESUME_WINDOW = 1000;
/** Entries asked for on a first start when the boot time cannot be used. */
export const FIRST_START_COUNT = 10_000;
/** A batch: at most this many lines (PRODUCT §5). */
export const BATCH_LINES = 100;
/** Identities kept for one timestamp (entries sharing one microsecond are few). */
const MAX_IDS = 1000;

/** The supervisor calls the source makes. */
export interface JournalPort {
  version(signal?: AbortSignal): Promise<string>;
  journalLogs(opts: JournalLogsOptions, signal: AbortSignal): AsyncIterable<string> | Iterable<string>;
  /** The same lines, those of each chunk read in one array (used when present: one await per chunk, not per line). */
  journalLogChunks?(opts: JournalLogsOptions, signal: AbortSignal): AsyncIterable<string[]>;
}

/** What the source needs. */
export interface SourceDeps {
  journal: JournalPort;
  clock: Clock;
  log: Pick<Logger, 'warn' | 'debug'>;
  /** The position stored in the spool at start (undefined: first start). */
  position: JournalPosition | undefined;
  /** Epoch ms the current boot began, when known. */
  bootTimeMs: () => number | undefined;
  /** The filter in effect now (lines it refuses advance the position but are not stored). */
  filter: () => (line: LogLine) => boolean;
  /** Stores a batch and the position after it (the spool's append; serialised there). */
  store: (lines: LogLine[], position: JournalPosition) => Promise<void>;
}

/** journalctl's `--since` for a time in µs: `@seconds.micros` (inclusive). */
export function sinceArg(atUs: number): string {
  return `@${Math.floor(atUs / 1e6)}.${String(atUs % 1e6).padStart(6, '0')}`;
}

/** Follows the journal and hands batches to the spool (see the file header). */
export class JournalSource {
  private position: JournalPosition | undefined;
  /** Bumped whenever the position moves; `stored` is its value at the last flush. */
  private moves = 0;
  private stored = 0;
  private batch: LogLine[] = [];
  /** The batch being stored while the next is read. */
  private writing: Promise<void> | undefined;
  /** Lines read from the journal since start (before the filter). */
  read = 0;
  /** Connections opened. */
  connections = 0;

  constructor(private readonly deps: SourceDeps) {
    this.position = deps.position && { atUs: deps.position.atUs, ids: [...deps.position.ids] };
  }

  /** The position of the newest entry taken. */
  get at(): JournalPosition | undefined {
    return this.position;
  }

  /** The request a new connection makes. */
  request(version: string): JournalLogsOptions {
    const base: JournalLogsOptions = { follow: true, format: 'json' };
    const timed = supports(version, 'journalSince');
    if (this.position) return timed ? { ...base, since: sinceArg(this.position.atUs) } : { ...base, count: RESUME_WINDOW };
    const boot = this.deps.bootTimeMs();
    if (timed && boot !== undefined) return { ...base, since: sinceArg(boot * 1000) };
    return { ...base, count: FIRST_START_COUNT };
  }

  /** One connection: reads until the stream ends, fails or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const version = await this.deps.journal.version(signal);
    const req = this.request(version);
    this.connections++;
    const boundary = this.position;
    let replaying = boundary !== undefined;
    try {
      for await (const chunk of this.chunks(req, signal)) {
        const filter = this.deps.filter();
        for (const text of typeof chunk === 'string' ? [chunk] : chunk) {
          const entry = fromJournalJson(text);
          if (entry instanceof Error) {
            this.deps.log.debug({ err: entry }, 'skipped a journal line that is not an entry');
            continue;
          }
          this.read++;
          const id = entry.cursor ?? `h:${crc32(text).toString(16)}`;
          if (replaying && boundary) {
            if (entry.atUs < boundary.atUs) continue;
            if (entry.atUs === boundary.atUs && boundary.ids.includes(id)) continue;
            if (entry.atUs > boundary.atUs) replaying = false;
          }
          this.take(entry.atUs, id);
          if (filter(entry.line)) this.batch.push(entry.line);
          if (this.batch.length >= BATCH_LINES) await this.handOff();
        }
      }
    } finally {
      await this.writing;
      await this.flush();
    }
  }

  /** Starts storing the batch once the one before it is stored: one batch is written while the next is read, never more. */
  private async handOff(): Promise<void> {
    await this.writing;
    this.writing = this.flush();
    // Its failure is thrown where it is awaited (the next hand-off or the end of the run), not left unhandled meanwhile.
    this.writing.catch(() => undefined);
  }

  private chunks(req: JournalLogsOptions, signal: AbortSignal): AsyncIterable<string | string[]> | Iterable<string> {
    const { journal } = this.deps;
    return journal.journalLogChunks ? journal.journalLogChunks(req, signal) : journal.journalLogs(req, signal);
  }

  /** Stores the lines taken so far (and the position, when it moved); the forwarder's tick calls this too. */
  async flush(): Promise<void> {
    const p = this.position;
    if (!p || (this.batch.length === 0 && this.moves === this.stored)) return;
    const lines = this.batch;
    this.batch = [];
    this.stored = this.moves;
    await this.deps.store(lines, { atUs: p.atUs, ids: [...p.ids] });
  }

  private take(atUs: number, id: string): void {
    this.moves++;
    const p = this.position;
    if (p && p.atUs === atUs) {
      if (p.ids.length < MAX_IDS) p.ids.push(id);
    } else {
      this.position = { atUs, ids: [id] };
    }
  }
}
