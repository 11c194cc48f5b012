/**
 * The sinks' cursors on disk: `cursors.bin`, two slots of equal size written in turn. A commit is
 * one positioned write into the slot not holding the newest record, on a handle kept open: no temp
 * file, no rename, no directory update per delivered batch (SD cards).
 *
 * A slot: `[u32 length][u32 crc32][f64 sequence][payload]`, little-endian, the CRC over sequence +
 * payload, the payload the cursors as JSON. Reading takes the valid slot with the higher sequence: a
 * write torn by a crash spoils only the slot it was writing, and the other still holds the commit
 * before it (a cursor can only be older: lines repeat, none is skipped). Commits are not fsync'd on
 * their own (the same rule as before: after a power cut a cursor may be older).
 *
 * The file is created (or grown, when the cursors outgrow a slot) whole: temp file, fsync, rename,
 * so it never exists half-made. A spool written before this format kept `cursors.json`; it is read
 * when `cursors.bin` is missing or holds no valid slot, and removed once `cursors.bin` exists.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SpoolFs } from './spool-files.js';

/** The file name. */
export const CURSOR_FILE = 'cursors.bin';
/** The file an older spool kept its cursors in (read once, then removed). */
export const OLD_CURSOR_FILE = 'cursors.json';
/** Bytes before a slot's payload. */
export const SLOT_HEADER_BYTES = 16;
/** The smallest slot. */
export const MIN_SLOT_BYTES = 4096;

/** One slot's record, or undefined when it is not a whole, valid one. */
export function decodeSlot(buf: Buffer): { seq: number; payload: string } | undefined {
  if (buf.length < SLOT_HEADER_BYTES) return undefined;
  const length = buf.readUInt32LE(0);
  if (length > buf.length - SLOT_HEADER_BYTES) return undefined;
  const end = SLOT_HEADER_BYTES + length;
  if (crc32(buf.subarray(8, end)) !== buf.readUInt32LE(4)) return undefined;
  const seq = buf.readDoubleLE(8);
  if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { seq, payload: buf.toString('utf8', SLOT_HEADER_BYTES, end) };
}

/** Encodes one slot's record. */
export function encodeSlot(seq: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const out = Buffer.allocUnsafe(SLOT_HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeDoubleLE(seq, 8);
  body.copy(out, SLOT_HEADER_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

/** The cursors file (see the file header); writes asked for while one is in progress coalesce. */
export class CursorFile {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private handle: FileHandle | undefined;
  private slotBytes = 0;
  /** The sequence of the newest record on disk. */
  private seq = 0;

  constructor(private readonly fs: SpoolFs, private readonly dir: string) {}

  /** The stored cursors (none when nothing valid is stored: each sink starts where attach says). */
  async read(): Promise<Record<string, number>> {
    let text: string | undefined;
    try {
      const buf = await this.fs.readFile(join(this.dir, CURSOR_FILE));
      const half = buf.length / 2;
      if (Number.isInteger(half) && half >= SLOT_HEADER_BYTES) {
        const slots = [decodeSlot(buf.subarray(0, half)), decodeSlot(buf.subarray(half))];
        const newest = slots.reduce((a, b) => (b && (!a || b.seq > a.seq) ? b : a), undefined);
        if (newest) {
          this.seq = newest.seq;
          text = newest.payload;
        }
      }
    } catch {
      // none stored in this format
    }
    text ??= await this.fs.readFile(join(this.dir, OLD_CURSOR_FILE), 'utf8').catch(() => undefined);
    return parseCursors(text);
  }

  /** Writes `text()` now, or once more after the write in progress. */
  write(text: () => string): Promise<void> {
    if (this.writing) {
      this.dirty = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.dirty = false;
        try {
          await this.put(text());
        } catch {
          // A cursor not written repeats lines after a restart; it never loses any. The next write starts the file afresh.
          await this.drop();
        }
      } while (this.dirty);
    })().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /** Waits for the write in progress and closes the file. */
  async close(): Promise<void> {
    await this.writing;
    await this.drop();
  }

  private async put(payload: string): Promise<void> {
    this.seq++;
    const record = encodeSlot(this.seq, payload);
    if (this.handle && record.length <= this.slotBytes) {
      const { bytesWritten } = await this.handle.write(record, 0, record.length, (this.seq % 2) * this.slotBytes);
      // A short write is a torn slot: the other one still holds the commit before; start afresh next time.
      if (bytesWritten !== record.length) throw new Error(`short write of the cursors (${bytesWritten} of ${record.length} bytes)`);
      return;
    }
    await this.create(record);
  }

  /** Writes a whole new file holding `record` in both slots, sized for it, and keeps it open. */
  private async create(record: Buffer): Promise<void> {
    await this.drop();
    let size = MIN_SLOT_BYTES;
    while (size < record.length) size *= 2;
    const whole = Buffer.alloc(size * 2);
    record.copy(whole, 0);
    record.copy(whole, size);
    const path = join(this.dir, CURSOR_FILE);
    const temp = `${path}.tmp`;
    const file = await this.fs.open(temp, 'w', 0o600);
    try {
      const { bytesWritten } = await file.write(whole, 0, whole.length, 0);
      if (bytesWritten !== whole.length) throw new Error(`short write of the cursors (${bytesWritten} of ${whole.length} bytes)`);
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.fs.rename(temp, path);
    this.handle = await this.fs.open(path, 'r+');
    this.slotBytes = size;
    await this.fs.unlink(join(this.dir, OLD_CURSOR_FILE)).catch(() => undefined);
  }

  private async drop(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

/** The cursors in a stored JSON text: sink → seq, whole numbers only; anything else is none. */
function parseCursors(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (text === undefined) return out;
  try {
    const stored = JSON.parse(text) as unknown;
    if (typeof stored !== 'object' || stored === null) return out;
    for (const [sink, seq] of Object.entries(stored)) if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) out[sink] = seq;
  } catch {
    // unreadable: none
  }
  return out;
}
