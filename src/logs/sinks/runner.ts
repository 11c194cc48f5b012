/**
 * Drives one sink: waits for lines in the spool, reads a batch at the sink's cursor, sends it,
 * commits the cursor; on failure decides by `nextStep` (pure) what to do. Each sink has its own
 * runner, backoff and Retry-After, so one slow sink never stalls another.
 */
import { fullJitter, type BackoffOptions } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Spool } from '../spool.js';
import { SinkError, type Sink } from './sink.js';

/** The sink's backoff: 1 s doubling to 5 min, full jitter. */
export const SINK_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 5 * 60_000 };
/** A sink failing for this long is a health reason. */
export const SINK_FAILING_SHOWN_MS = 15 * 60_000;
/** Drops within this long are a health reason. */
export const DROPS_SHOWN_MS = 60 * 60_000;

/** What the runner does after a failed send. */
export type Step =
  | { kind: 'retry'; afterMs: number }
  /** Send fewer lines from the same cursor (a 400 bisects to find the bad line; a 413 halves). */
  | { kind: 'shrink'; size: number }
  /** The one line sent is refused for good: drop it (counted) and go on. */
  | { kind: 'drop' };

/**
 * The pure decision after a failure: 400 → split the batch (a single line is dropped: poison);
 * 413 → halve (a single line too large is dropped); 429/5xx/network/401/403/other → wait, honouring
 * Retry-After (seconds), never drop.
 */
export function nextStep(err: unknown, sent: number, attempt: number, backoff: BackoffOptions): Step {
  const status = err instanceof SinkError ? err.status : undefined;
  if (status === 400 || status === 413) return sent <= 1 ? { kind: 'drop' } : { kind: 'shrink', size: Math.ceil(sent / 2) };
  const retryAfter = err instanceof SinkError ? err.retryAfterMs : undefined;
  return { kind: 'retry', afterMs: retryAfter ?? Math.max(backoff.baseMs, fullJitter(attempt, backoff)) };
}

/** What a runner needs. */
export interface RunnerDeps {
  sink: Sink;
  spool: Spool;
  clock: Clock;
  log: Pick<Logger, 'warn' | 'info' | 'debug'>;
  backoff?: BackoffOptions;
  /** Called after each delivered batch (the demo prints it). */
  onSent?: (sink: string, lines: number) => void;
}

/** Runs one sink (see the file header). */
export class SinkRunner {
  sent = 0;
  dropped = 0;
  lastError: string | undefined;
  /** Wall ms of the next try while waiting after a failure. */
  nextTryAt: number | undefined;
  /** Monotonic ms the current run of failures began (undefined while the sink works). */
  failingSince: number | undefined;
  /** 401/403 from the sink: credentials refused. */
  refused = false;
  private readonly drops: { at: number; n: number }[] = [];
  private size: number;
  private attempt = 0;
  /** The seq after the last line this runner delivered or dropped: a cursor beyond it means the spool skipped lines. */
  private expected: number | undefined;
  /** A batch is being read or sent (its lines are not yet the spool's to count as skipped). */
  private busy = false;

  constructor(private readonly deps: RunnerDeps) {
    this.size = deps.sink.maxBatch;
  }

  get label(): string {
    return this.deps.sink.label;
  }

  /** Lines stored but not yet delivered. */
  pending(): number {
    const cursor = this.deps.spool.cursor(this.label);
    return cursor === undefined ? 0 : Math.max(0, this.deps.spool.head - cursor);
  }

  /** Lines dropped within the last hour (monotonic `now`). */
  droppedRecently(now: number): number {
    while (this.drops.length > 0 && this.drops[0]!.at <= now - DROPS_SHOWN_MS) this.drops.shift();
    return this.drops.reduce((sum, d) => sum + d.n, 0);
  }

  /** The sink's loop, until `signal` aborts (a scheduler service). */
  async run(signal: AbortSignal): Promise<void> {
    const { spool, sink } = this.deps;
    while (!signal.aborted) {
      this.collect();
      const cursor = spool.cursor(this.label) ?? spool.head;
      this.expected ??= cursor;
      if (cursor >= spool.head) {
        await spool.wait(cursor, signal);
        continue;
      }
      this.busy = true;
      const batch = await spool.read(this.label, cursor, this.size).finally(() => (this.busy = false));
      const from = batch.next - batch.lines.length - batch.unreadable;
      this.skipTo(from);
      if (batch.unreadable > 0) this.drop(batch.unreadable);
      if (batch.lines.length === 0) {
        this.expected = Math.max(this.expected ?? 0, batch.next);
        await spool.commit(this.label, batch.next);
        continue;
      }
      this.busy = true;
      try {
        await sink.send(batch.lines, signal);
      } catch (err) {
        this.busy = false;
        if (signal.aborted) return;
        await this.failed(err, batch.lines.length, batch.next, signal);
        continue;
      }
      this.busy = false;
      this.sent += batch.lines.length;
      this.expected = batch.next;
      this.attempt = 0;
      this.failingSince = undefined;
      this.lastError = undefined;
      this.nextTryAt = undefined;
      this.refused = false;
      // After a split found and dropped the bad line, whole batches again.
      if (this.size < sink.maxBatch) this.size = Math.min(sink.maxBatch, this.size * 2);
      await spool.commit(this.label, batch.next);
      this.deps.onSent?.(this.label, batch.lines.length);
    }
  }

  private async failed(err: unknown, sent: number, next: number, signal: AbortSignal): Promise<void> {
    const { clock, spool } = this.deps;
    const step = nextStep(err, sent, this.attempt, this.deps.backoff ?? SINK_BACKOFF);
    this.lastError = err instanceof Error ? err.message : String(err);
    this.failingSince ??= clock.now();
    if (step.kind === 'drop') {
      this.deps.log.warn({ sink: this.label, err: this.lastError }, 'the sink refused a line for good; dropped it');
      this.drop(1);
      this.expected = next;
      this.size = this.deps.sink.maxBatch;
      await spool.commit(this.label, next);
      return;
    }
    if (step.kind === 'shrink') {
      this.size = step.size;
      return;
    }
    const status = err instanceof SinkError ? err.status : undefined;
    this.refused = status === 401 || status === 403;
    this.attempt++;
    this.nextTryAt = clock.wall() + step.afterMs;
    this.deps.log.debug({ sink: this.label, err: this.lastError, waitMs: step.afterMs }, 'log sink failed; trying again later');
    await clock.sleep(step.afterMs, signal).catch(() => undefined);
    this.nextTryAt = undefined;
  }

  /** Counts the lines the spool dropped for this sink: refused writes, and lines it skipped over budget. */
  collect(): void {
    this.drop(this.deps.spool.takeLost(this.label));
    if (!this.busy) this.skipTo(this.deps.spool.cursor(this.label) ?? 0);
  }

  /** The spool moved this sink's reading past lines it never delivered: they are dropped. */
  private skipTo(seq: number): void {
    if (this.expected !== undefined && seq > this.expected) {
      this.drop(seq - this.expected);
      this.expected = seq;
    }
  }

  private drop(n: number): void {
    if (n <= 0) return;
    this.dropped += n;
    this.drops.push({ at: this.deps.clock.now(), n });
  }
}
