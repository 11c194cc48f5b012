/**
 * The disk spool between the journal and the sinks: append-only segment files of CRC'd records
 * (codec.ts) in one folder, bounded by a byte budget, with one committed cursor per sink.
 *
 * - Lines are numbered (seq) from the first ever stored; a segment file is named by its first seq.
 * - Every append is one write: the batch's line records, then a position record (where the journal
 *   was read up to). The spool therefore holds the journal position of exactly the lines it holds.
 * - Open cuts the last segment back to the end of its last whole position record: a torn or corrupt
 *   tail (a crash mid-write) is cut, never misread, and a half-written batch is read again from the journal.
 * - Writes are fsync'd at most every `syncEveryMs` or `syncEveryBytes` (SD cards): a power cut loses at
 *   most that much of the spool, and those lines are read again from the journal (they repeat, not vanish).
 * - Cursors live in `cursors.bin` (cursor-file.ts): every commit is one write into one of two CRC'd
 *   slots (a killed process loses none, a torn write leaves the commit before it); not fsync'd on
 *   their own: after a power cut a cursor can only be older (lines repeat), and one that is ahead of
 *   the spool is brought back (never skips a line).
 * - A segment goes when every sink is past it, or, oldest first, when the spool is over budget: the
 *   cursor of each sink behind it moves past it, and the sink's runner counts the lines it skipped.
 * - A refused write (ENOSPC, EDQUOT, EIO…) is cut back and its lines counted as dropped for every sink; never thrown.
 */
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { encodeBatch, type JournalPosition } from './codec.js';
import { CursorFile } from './cursor-file.js';
import { loadSegments, readLines, SegmentReaders, segmentName, type Mark, type Segment, type SpoolFs } from './spool-files.js';
import type { LogLine } from './line.js';

export type { SpoolFs } from './spool-files.js';

/** How a spool is opened. */
export interface SpoolOptions {
  dir: string;
  budgetBytes: number;
  clock: Clock;
  fs?: SpoolFs;
  /** Size at which a new segment starts (default: budget/8, between 64 KiB and 4 MiB). */
  segmentBytes?: number;
  /** fsync at most this often (default 1 s) … */
  syncEveryMs?: number;
  /** … or once this many bytes are unsynced (default 1 MiB). */
  syncEveryBytes?: number;
}

/** What one read gave a sink. */
export interface SpoolRead {
  lines: LogLine[];
  /** The seq after the last line returned (the cursor to commit once they are delivered). */
  next: number;
  /** Lines between `from` and `next` that could not be read (a corrupt segment): dropped. */
  unreadable: number;
}

const CHUNK_BYTES = 64 * 1024;
/** A write buffer grown past this (a batch of very long lines) is not kept for the next batch. */
const KEEP_WRITE_BYTES = 256 * 1024;


/** The append-only disk spool (see the file header). */
export class Spool {
  private readonly fs: SpoolFs;
  private readonly segments: Segment[] = [];
  private readonly cursors = new Map<string, number>();
  private readonly lost = new Map<string, number>();
  private readonly marks = new Map<string, Mark>();
  private readonly buffers = new Map<string, Buffer>();
  private readonly waiters = new Set<() => void>();
  private handle: FileHandle | undefined;
  /** The buffer batches are encoded into, reused (writes are serialised on `chain`). */
  private scratch: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private unsynced = 0;
  private lastSync = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly cursorFile: CursorFile;
  private readonly readers: SegmentReaders;
  private readonly segmentBytes: number;
  /** The journal position of the newest batch stored. */
  position: JournalPosition | undefined;
  /** Why the last write was refused (e.g. `ENOSPC`); cleared by the next good write. */
  diskProblem: string | undefined;

  private constructor(private readonly opts: SpoolOptions) {
    this.fs = opts.fs ?? fsp;
    this.cursorFile = new CursorFile(this.fs, opts.dir);
    this.readers = new SegmentReaders(this.fs);
    this.segmentBytes = opts.segmentBytes ?? Math.min(4 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.budgetBytes / 8)));
  }

  /** Opens (or creates) the spool in `opts.dir`, cutting a torn tail. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(opts);
    await spool.load();
    return spool;
  }

  /** The seq the next stored line gets. */
  get head(): number {
    return this.segments.at(-1)?.endSeq ?? 0;
  }

  /** The oldest seq still held. */
  get tail(): number {
    return this.segments[0]?.firstSeq ?? this.head;
  }

  /** Bytes the segments hold now. */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  /** The sinks the spool keeps cursors for (attached now, or stored by an earlier process). */
  sinks(): string[] {
    return [...this.cursors.keys()];
  }

  /** A sink's committed cursor (the first seq it has not delivered). */
  cursor(sink: string): number | undefined {
    return this.cursors.get(sink);
  }

  /** Adds a sink; one seen before resumes at its stored cursor, a new one starts at `startAt`. */
  attach(sink: string, startAt: 'head' | 'tail'): number {
    const known = this.cursors.get(sink);
    if (known !== undefined) return known;
    const at = startAt === 'head' ? this.head : this.tail;
    this.cursors.set(sink, at);
    return at;
  }

  /** Removes a sink and its cursor (its lines no longer hold segments). */
  async detach(sink: string): Promise<void> {
    this.cursors.delete(sink);
    this.marks.delete(sink);
    this.buffers.delete(sink);
    this.lost.delete(sink);
    await this.readers.close((s) => s === sink);
    await this.writeCursors();
  }

  /** Lines a sink lost to refused writes (disk full) since last asked. */
  takeLost(sink: string): number {
    const n = this.lost.get(sink) ?? 0;
    this.lost.delete(sink);
    return n;
  }

  /** Stores a batch and the journal position it was read up to; a refused write drops it (counted). */
  append(lines: readonly LogLine[], position: JournalPosition): Promise<void> {
    const run = this.chain.then(() => this.write(lines, position));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves once a line at or after `seq` is stored (or `signal` aborts). */
  wait(seq: number, signal: AbortSignal): Promise<void> {
    if (this.head > seq || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.head <= seq && !signal.aborted) return;
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Reads up to `max` lines from seq `from` (never past a segment's end). */
  async read(sink: string, from: number, max: number): Promise<SpoolRead> {
    const seq = Math.max(from, this.tail);
    const segment = this.segments.find((s) => s.firstSeq <= seq && seq < s.endSeq);
    if (!segment) return { lines: [], next: seq, unreadable: 0 };
    const read = await this.readSegment(sink, segment, seq, max);
    // A segment that went over budget while it was read: its lines are the gap the runner counts.
    if (!this.segments.includes(segment)) return { lines: [], next: Math.max(seq, this.tail), unreadable: 0 };
    return read;
  }

  private async readSegment(sink: string, segment: Segment, seq: number, max: number): Promise<SpoolRead> {
    const mark = this.marks.get(sink);
    const start = mark && mark.path === segment.path && mark.seq <= seq ? mark : { seq: segment.firstSeq, path: segment.path, offset: 0 };
    // One buffer per sink, reused: forwarding at full rate allocates no read buffers.
    const buffer = this.buffers.get(sink) ?? Buffer.allocUnsafe(CHUNK_BYTES);
    const found = await this.readers.with(sink, segment.path, (file) => readLines(file, segment, start, seq, max, buffer));
    if (found === 'gone') return this.unreadable(sink, segment, seq);
    if (found.buf.length === CHUNK_BYTES) this.buffers.set(sink, found.buf);
    if (found.bad) return this.unreadable(sink, segment, found.mark.seq, found.lines);
    this.marks.set(sink, found.mark);
    return { lines: found.lines, next: found.mark.seq, unreadable: 0 };
  }

  /** Commits a sink's cursor (written at once; a killed process repeats at most the batch in flight). */
  async commit(sink: string, next: number): Promise<void> {
    if (!this.cursors.has(sink)) return;
    this.cursors.set(sink, Math.max(next, this.cursors.get(sink) ?? 0));
    await this.writeCursors();
    // The segments every sink is past go after the writes queued now; the sink does not wait for them.
    this.chain = this.chain.then(() => this.dropConsumed()).catch(() => undefined);
  }

  /** fsyncs what is unsynced when due (the forwarder calls this on its flush tick) or when `force`d. */
  async sync(force = false): Promise<void> {
    const run = this.chain.then(() => this.syncIfDue(force));
    this.chain = run.catch(() => undefined);
    await run.catch(() => undefined);
  }

  /** Syncs and closes the current segment. */
  async close(): Promise<void> {
    await this.sync(true);
    await this.cursorFile.close();
    await this.readers.close(() => true);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private unreadable(sink: string, segment: Segment, at: number, lines: LogLine[] = []): SpoolRead {
    if (lines.length > 0) return { lines, next: at, unreadable: 0 };
    this.marks.delete(sink);
    return { lines: [], next: segment.endSeq, unreadable: segment.endSeq - at };
  }

  private async write(lines: readonly LogLine[], position: JournalPosition): Promise<void> {
    const encoded = encodeBatch(lines, position, this.scratch);
    if (encoded.scratch.length <= KEEP_WRITE_BYTES) this.scratch = encoded.scratch;
    const buf = encoded.bytes;
    let segment = this.segments.at(-1);
    try {
      if (!segment || (segment.bytes > 0 && segment.bytes + buf.length > this.segmentBytes)) segment = await this.roll();
      else this.handle ??= await this.fs.open(segment.path, 'a+');
      let done = 0;
      try {
        while (done < buf.length) done += (await this.handle!.write(buf, done, buf.length - done, segment.bytes + done)).bytesWritten;
      } catch (err) {
        // Cut back what part of the batch reached the file, so no half batch is left behind it.
        await this.handle!.truncate(segment.bytes).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      this.diskProblem = (err as NodeJS.ErrnoException).code ?? 'write failed';
      for (const sink of this.cursors.keys()) this.addLost(sink, lines.length);
      return;
    }
    this.diskProblem = undefined;
    segment.bytes += buf.length;
    segment.endSeq += lines.length;
    this.position = position;
    this.unsynced += buf.length;
    await this.syncIfDue(false).catch(() => undefined);
    await this.enforceBudget();
    for (const wake of [...this.waiters]) wake();
  }

  private async roll(): Promise<Segment> {
    await this.syncIfDue(true).catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    const head = this.head;
    const last = this.segments.at(-1);
    let segment: Segment;
    if (last && last.bytes === 0) segment = last;
    else {
      segment = { firstSeq: head, endSeq: head, bytes: 0, path: join(this.opts.dir, segmentName(head)) };
      this.segments.push(segment);
    }
    try {
      this.handle = await this.fs.open(segment.path, 'a+');
    } catch (err) {
      if (segment !== last) this.segments.pop();
      throw err;
    }
    return segment;
  }

  private async syncIfDue(force: boolean): Promise<void> {
    if (this.unsynced === 0 || !this.handle) return;
    const now = this.opts.clock.now();
    const due = force || this.unsynced >= (this.opts.syncEveryBytes ?? 1024 * 1024) || now - this.lastSync >= (this.opts.syncEveryMs ?? 1000);
    if (!due) return;
    this.unsynced = 0;
    this.lastSync = now;
    await this.handle.datasync();
  }

  private addLost(sink: string, n: number): void {
    if (n > 0) this.lost.set(sink, (this.lost.get(sink) ?? 0) + n);
  }

  /** Over budget: the oldest segments go, and every sink behind one counts the lines it loses. */
  private async enforceBudget(): Promise<void> {
    while (this.segments.length > 1 && this.bytes > this.opts.budgetBytes) {
      const oldest = this.segments[0]!;
      // A sink behind it skips to the next segment; its runner counts the lines it skipped (the gap).
      for (const [sink, cursor] of this.cursors) if (cursor < oldest.endSeq) this.cursors.set(sink, oldest.endSeq);
      await this.remove(oldest);
    }
  }

  /** Segments every sink is past go. */
  private async dropConsumed(): Promise<void> {
    if (this.cursors.size === 0) return;
    const slowest = Math.min(...this.cursors.values());
    while (this.segments.length > 1 && this.segments[0]!.endSeq <= slowest) await this.remove(this.segments[0]!);
  }

  private async remove(segment: Segment): Promise<void> {
    this.segments.shift();
    for (const [sink, mark] of this.marks) if (mark.path === segment.path) this.marks.delete(sink);
    await this.readers.close((_, path) => path === segment.path);
    await this.fs.unlink(segment.path).catch(() => undefined);
  }

  private writeCursors(): Promise<void> {
    return this.cursorFile.write(() => JSON.stringify(Object.fromEntries(this.cursors)));
  }

  private async load(): Promise<void> {
    const found = await loadSegments(this.fs, this.opts.dir);
    this.segments.push(...found.segments);
    this.position = found.position;
    for (const [sink, seq] of Object.entries(await this.cursorFile.read())) this.cursors.set(sink, Math.min(Math.max(seq, this.tail), this.head));
  }
}
