/**
 * The spool's record format: `[u32 length][u32 crc32][u8 kind][payload]`, little-endian, the CRC
 * over kind + payload. A record whose length runs past the end of the file or whose CRC does not
 * match is where the readable part of a segment ends (a torn write): it is never misread.
 */
import { crc32 } from 'node:zlib';
import type { LogLine } from './line.js';

/** Bytes before a record's payload. */
export const HEADER_BYTES = 9;
/** The longest payload a record may carry (a line is truncated to far less before it gets here). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** What a record holds: a log line, or the journal position the lines before it were read up to. */
export const KIND_LINE = 1;
/** A position record: `{ at, ids }` (see source.ts). */
export const KIND_POSITION = 2;

/** Where the source stands in the journal: the newest entry's time and the ids taken at exactly that time. */
export interface JournalPosition {
  /** `__REALTIME_TIMESTAMP` (µs) of the newest entry taken. */
  atUs: number;
  /** Identities (cursor, else `h:` + hash) of the entries taken whose time is exactly `atUs`. */
  ids: string[];
}

/** A decoded record. */
export type SpoolRecord = { kind: 'line'; line: LogLine } | { kind: 'position'; position: JournalPosition };

/** Encodes one record. */
export function encodeRecord(kind: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length, 0);
  out[8] = kind;
  body.copy(out, HEADER_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

/** Encodes a log line as a record. */
export function lineRecord(line: LogLine): Buffer {
  return encodeRecord(KIND_LINE, JSON.stringify(line));
}

/** Encodes a journal position as a record. */
export function positionRecord(position: JournalPosition): Buffer {
  return encodeRecord(KIND_POSITION, JSON.stringify(position));
}

/**
 * Encodes a batch (its line records, then its position record) into `scratch`, grown when too
 * small: one buffer per batch and no buffer per line. Returns the encoded bytes (a view of the buffer
 * used) and that buffer, to reuse for the next batch once this one is written.
 */
export function encodeBatch(lines: readonly LogLine[], position: JournalPosition, scratch: Buffer): { bytes: Buffer; scratch: Buffer } {
  let buf = scratch;
  let at = 0;
  const put = (kind: number, payload: string): void => {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const room = at + HEADER_BYTES + payload.length * 3;
    if (room > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(room, buf.length * 2));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    const length = buf.write(payload, at + HEADER_BYTES, 'utf8');
    buf.writeUInt32LE(length, at);
    buf[at + 8] = kind;
    buf.writeUInt32LE(crc32(buf.subarray(at + 8, at + HEADER_BYTES + length)), at + 4);
    at += HEADER_BYTES + length;
  };
  for (const line of lines) put(KIND_LINE, JSON.stringify(line));
  put(KIND_POSITION, JSON.stringify(position));
  return { bytes: buf.subarray(0, at), scratch: buf };
}

/** One step of decoding: a record and the offset after it, 'short' (needs more bytes) or 'bad'. */
export type Decoded = { record: SpoolRecord; end: number } | 'short' | 'bad';

/** Decodes the record that starts at `offset` of `buf`. */
export function decodeAt(buf: Buffer, offset: number): Decoded {
  if (buf.length - offset < HEADER_BYTES) return 'short';
  const length = buf.readUInt32LE(offset);
  if (length > MAX_PAYLOAD_BYTES) return 'bad';
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return 'short';
  if (crc32(buf.subarray(offset + 8, end)) !== buf.readUInt32LE(offset + 4)) return 'bad';
  const kind = buf[offset + 8];
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8', offset + HEADER_BYTES, end));
  } catch {
    return 'bad';
  }
  if (kind === KIND_LINE && isLine(value)) return { record: { kind: 'line', line: value }, end };
  if (kind === KIND_POSITION && isPosition(value)) return { record: { kind: 'position', position: value }, end };
  return 'bad';
}

/** The length of a record whose header starts at `offset` (enough bytes for a header must be there). */
export function recordLength(buf: Buffer, offset: number): number {
  return HEADER_BYTES + buf.readUInt32LE(offset);
}

/** Everything readable in a whole segment: its records and the offset where the readable part ends. */
export function decodeAll(buf: Buffer): { records: SpoolRecord[]; end: number } {
  const records: SpoolRecord[] = [];
  let offset = 0;
  for (;;) {
    const step = decodeAt(buf, offset);
    if (typeof step === 'string') return { records, end: offset };
    records.push(step.record);
    offset = step.end;
  }
}

function isLine(v: unknown): v is LogLine {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.time === 'string' && typeof o.unit === 'string' && typeof o.priority === 'number' && typeof o.message === 'string';
}

function isPosition(v: unknown): v is JournalPosition {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.atUs === 'number' && Array.isArray(o.ids) && o.ids.every((id) => typeof id === 'string');
}
