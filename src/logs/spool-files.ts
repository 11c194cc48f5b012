/**
 * The spool's files: opening its segments after a crash (the last one cut back to its last whole
 * batch) and reading lines from a segment.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeAt, type JournalPosition } from './codec.js';
import type { LogLine } from './line.js';
import type * as fsp from 'node:fs/promises';

/** The file operations the spool uses (tests inject a disk that fills up). */
export type SpoolFs = Pick<typeof fsp, 'open' | 'readdir' | 'unlink' | 'rename' | 'readFile' | 'mkdir'>;

/** One segment file: the seqs of its lines and its size. */
export interface Segment {
  firstSeq: number;
  endSeq: number;
  bytes: number;
  path: string;
}

/** Segment files are named by the seq of their first line. */
export const SEGMENT_NAME = /^seg-(\d{16})\.log$/;

/** The file name of a segment whose first line is `seq`. */
export const segmentName = (seq: number): string => `seg-${String(seq).padStart(16, '0')}.log`;

/**
 * Reads the segments in `dir`: the last one is read whole, its lines counted and the file cut after
 * its last whole batch (a torn or corrupt tail goes); the position is the newest one stored.
 */
export async function loadSegments(fs: SpoolFs, dir: string): Promise<{ segments: Segment[]; position: JournalPosition | undefined }> {
  await fs.mkdir(dir, { recursive: true });
  const segments: Segment[] = [];
  const names = (await fs.readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  for (const name of names) {
    const firstSeq = Number(SEGMENT_NAME.exec(name)![1]);
    const prev = segments.at(-1);
    if (prev) prev.endSeq = firstSeq;
    segments.push({ firstSeq, endSeq: firstSeq, bytes: 0, path: join(dir, name) });
  }
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    s.bytes = (await fs.readFile(s.path).catch(() => Buffer.alloc(0))).length;
  }
  let position: JournalPosition | undefined;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    const buf = await fs.readFile(s.path).catch(() => Buffer.alloc(0));
    const found = scanBatches(buf);
    if (i === segments.length - 1) {
      s.endSeq = s.firstSeq + found.lines;
      s.bytes = found.end;
      if (found.end < buf.length) {
        const file = await fs.open(s.path, 'r+');
        await file.truncate(found.end).finally(() => file.close());
      }
    }
    if (found.position) {
      position = found.position;
      break;
    }
  }
  return { segments, position };
}

/** Where a sink's reading stands in a segment: the seq of the next line and the offset of the record after the last one read. */
export interface Mark {
  seq: number;
  path: string;
  offset: number;
}

/**
 * Reads up to `max` lines from seq `seq` of a segment open as `file`, starting at `start` (a mark at
 * or before it), into `buf` (grown when a record is larger). `bad` when a record is corrupt or
 * missing where one should be (the lines before it are returned).
 */
export async function readLines(file: FileHandle, segment: Segment, start: Mark, seq: number, max: number, buffer: Buffer):
  Promise<{ lines: LogLine[]; mark: Mark; bad: boolean; buf: Buffer }> {
  const lines: LogLine[] = [];
  let buf = buffer;
  let at = start.seq;
  let offset = start.offset;
  let len = 0;
  let base = offset;
  let bad = false;
  while (lines.length < max && at < segment.endSeq) {
    const step = decodeAt(buf.subarray(0, len), offset - base);
    if (step === 'bad') {
      bad = true;
      break;
    }
    if (step === 'short') {
      buf.copy(buf, 0, offset - base, len);
      len -= offset - base;
      base = offset;
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const { bytesRead } = await file.read(buf, len, buf.length - len, base + len);
      if (bytesRead === 0) {
        bad = true;
        break;
      }
      len += bytesRead;
      continue;
    }
    offset = base + step.end;
    if (step.record.kind !== 'line') continue;
    if (at >= seq) lines.push(step.record.line);
    at++;
  }
  return { lines, mark: { seq: at, path: segment.path, offset }, bad, buf };
}

/** Each sink's read handle, kept open on the segment it reads (one open per segment, not one per batch). */
export class SegmentReaders {
  private readonly open = new Map<string, { path: string; file: FileHandle; busy: boolean; stale: boolean }>();

  constructor(private readonly fs: SpoolFs) {}

  /** Runs `use` with the sink's handle on `path` (opened when it has none there); 'gone' when the file cannot be opened. */
  async with<T>(sink: string, path: string, use: (file: FileHandle) => Promise<T>): Promise<T | 'gone'> {
    let reader = this.open.get(sink);
    if (reader && reader.path !== path) {
      this.open.delete(sink);
      await reader.file.close().catch(() => undefined);
      reader = undefined;
    }
    if (!reader) {
      try {
        reader = { path, file: await this.fs.open(path, 'r'), busy: false, stale: false };
      } catch {
        return 'gone';
      }
      this.open.set(sink, reader);
    }
    reader.busy = true;
    try {
      return await use(reader.file);
    } finally {
      reader.busy = false;
      if (reader.stale) await reader.file.close().catch(() => undefined);
    }
  }

  /** Closes the handles `which` picks (a removed segment's, a detached sink's); one in use closes when its read ends. */
  async close(which: (sink: string, path: string) => boolean): Promise<void> {
    for (const [sink, reader] of this.open) {
      if (!which(sink, reader.path)) continue;
      this.open.delete(sink);
      if (reader.busy) reader.stale = true;
      else await reader.file.close().catch(() => undefined);
    }
  }
}

/** The lines in whole batches (each ended by a position record) at the start of `buf`, where they end, and the last position. */
function scanBatches(buf: Buffer): { lines: number; end: number; position: JournalPosition | undefined } {
  let offset = 0;
  let lines = 0;
  let pending = 0;
  let end = 0;
  let position: JournalPosition | undefined;
  for (;;) {
    const step = decodeAt(buf, offset);
    if (typeof step === 'string') break;
    offset = step.end;
    if (step.record.kind === 'line') pending++;
    else {
      lines += pending;
      pending = 0;
      end = offset;
      position = step.record.position;
    }
  }
  return { lines, end, position };
}
