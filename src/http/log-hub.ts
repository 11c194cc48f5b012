/**
 * One journal follow for every `/logs` client: opened when the first client comes, closed when
 * the last one goes, run as a scheduler service (so a stream the supervisor drops is opened again
 * after a backoff). A ring of recent lines, bounded by bytes, gives a new client the last lines
 * that match its filter, as `journalctl -f` does.
 */
import { fromJournalJson, type LogLine } from '../logs/line.js';
import type { JournalFollow } from '../metrics/kernel-events.js';
import { JournalResume } from '../supervisor/journal-resume.js';

/** A connected client: its filter and where its lines go. */
export interface LogClient {
  wants(line: LogLine): boolean;
  push(line: LogLine): void;
  /** Called when the agent stops. */
  close(): void;
}

/** Lines a new client gets first (PRODUCT §4). */
export const BACKLOG_LINES = 100;
/** Bytes of recent lines kept for new clients (a line counts its JSON length). */
export const RING_BYTES = 64 * 1024;

/** The shared follow and its ring. */
export class LogHub {
  private readonly ring: { line: LogLine; bytes: number }[] = [];
  private ringBytes = 0;
  private readonly clients = new Set<LogClient>();
  private readonly resume = new JournalResume();
  private waiting: (() => void) | undefined;
  private following: AbortController | undefined;
  private closed = false;

  constructor(private readonly opts: { journal: JournalFollow; ringBytes?: number }) {}

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  /** Adds a client; returns the recent lines it wants (at most BACKLOG_LINES, oldest first). */
  add(client: LogClient): LogLine[] {
    if (this.closed) {
      client.close();
      return [];
    }
    this.clients.add(client);
    this.waiting?.();
    return this.ring.filter((r) => client.wants(r.line)).slice(-BACKLOG_LINES).map((r) => r.line);
  }

  /** Removes a client; the follow ends with the last one. */
  remove(client: LogClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.following?.abort();
  }

  /** Closes every client and ends the follow (agent stop). */
  close(): void {
    this.closed = true;
    for (const c of [...this.clients]) c.close();
    this.clients.clear();
    this.following?.abort();
    this.waiting?.();
  }

  /** The service's task: waits for a client, then follows until the last leaves, `signal` aborts or the stream ends. */
  async run(signal: AbortSignal): Promise<void> {
    while (this.clients.size === 0 && !signal.aborted && !this.closed) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.waiting = undefined;
    }
    if (signal.aborted || this.closed) return;
    const follow = new AbortController();
    this.following = follow;
    const stop = (): void => follow.abort();
    this.resume.reopened();
    signal.addEventListener('abort', stop, { once: true });
    try {
      // Enough lines to fill the ring at first; a reopened stream repeats lines already kept (skipped by time).
      for await (const text of this.opts.journal({ follow: true, format: 'json', count: BACKLOG_LINES }, follow.signal)) this.take(text);
    } finally {
      signal.removeEventListener('abort', stop);
      this.following = undefined;
    }
  }

  private take(text: string): void {
    const entry = fromJournalJson(text);
    if (entry instanceof Error || !this.resume.fresh(entry.atUs)) return;
    const bytes = JSON.stringify(entry.line).length;
    this.ring.push({ line: entry.line, bytes });
    this.ringBytes += bytes;
    const max = this.opts.ringBytes ?? RING_BYTES;
    while (this.ringBytes > max && this.ring.length > 1) this.ringBytes -= this.ring.shift()?.bytes ?? 0;
    for (const c of this.clients) if (c.wants(entry.line)) c.push(entry.line);
  }
}
