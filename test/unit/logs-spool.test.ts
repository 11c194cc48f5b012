import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { decodeAll, decodeAt, lineRecord, positionRecord } from '../../src/logs/codec.js';
import type { LogLine } from '../../src/logs/line.js';
import { Spool, type SpoolFs } from '../../src/logs/spool.js';
import { ManualClock } from '../../src/lib/clock.js';

const line = (i: number, unit = 'a.service'): LogLine => ({ time: new Date(Date.UTC(2026, 0, 1) + i).toISOString(), unit, priority: 6, message: `line ${i}` });
const pos = (i: number) => ({ atUs: 1_000_000 + i, ids: [`c${i}`] });
const batch = (from: number, n: number): LogLine[] => Array.from({ length: n }, (_, k) => line(from + k));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (opts: Partial<Parameters<typeof Spool.open>[0]> = {}) => Spool.open({ dir, budgetBytes: 1024 * 1024, clock: new ManualClock(), ...opts });

async function readAll(spool: Spool, sink: string): Promise<LogLine[]> {
  const out: LogLine[] = [];
  let at = spool.cursor(sink) ?? spool.tail;
  while (at < spool.head) {
    const r = await spool.read(sink, at, 100);
    out.push(...r.lines);
    at = r.next;
  }
  return out;
}

describe('spool codec', () => {
  it('round-trips lines and positions and refuses a flipped byte', () => {
    const buf = Buffer.concat([lineRecord(line(1)), positionRecord(pos(1))]);
    const { records, end } = decodeAll(buf);
    assert.equal(end, buf.length);
    assert.deepEqual(records, [{ kind: 'line', line: line(1) }, { kind: 'position', position: pos(1) }]);
    for (const at of [0, 4, 8, 9, 20]) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 0x5a;
      assert.notDeepEqual(decodeAt(bad, 0), { record: { kind: 'line', line: line(1) }, end: lineRecord(line(1)).length }, `byte ${at}`);
    }
  });
});

describe('spool', () => {
  it('stores batches, hands each sink its own cursor, and reopens with the lines and the last position', async () => {
    const spool = await open();
    spool.attach('x', 'head');
    spool.attach('y', 'head');
    await spool.append(batch(0, 5), pos(5));
    await spool.append(batch(5, 5), pos(10));
    const first = await spool.read('x', 0, 3);
    assert.deepEqual(first.lines, batch(0, 3));
    await spool.commit('x', first.next);
    await spool.close();
    const again = await open();
    assert.deepEqual(again.position, pos(10));
    assert.equal(again.head, 10);
    assert.equal(again.cursor('x'), 3);
    assert.equal(again.cursor('y'), 0);
    assert.deepEqual(await readAll(again, 'x'), batch(3, 7));
    assert.deepEqual(await readAll(again, 'y'), batch(0, 10));
    await again.close();
  });

  it('cuts a torn tail at every byte offset of the last batch: whole batches stay, the torn one goes, nothing is misread', async () => {
    const spool = await open();
    spool.attach('x', 'head');
    await spool.append(batch(0, 3), pos(3));
    await spool.append(batch(3, 2), pos(5));
    await spool.close();
    const seg = join(dir, (await readdir(dir)).find((n) => n.startsWith('seg-'))!);
    const whole = await readFile(seg);
    const firstBatch = Buffer.concat([...batch(0, 3).map(lineRecord), positionRecord(pos(3))]).length;
    for (let cut = firstBatch; cut < whole.length; cut++) {
      await writeFile(seg, whole.subarray(0, cut));
      const s = await open();
      assert.equal(s.head, 3, `cut at ${cut}`);
      assert.deepEqual(s.position, pos(3), `cut at ${cut}`);
      assert.equal((await stat(seg)).size, firstBatch, `cut at ${cut}`);
      assert.deepEqual(await readAll(s, 'x'), batch(0, 3));
      // Appending after the cut continues the numbering without a gap.
      await s.append(batch(3, 1), pos(4));
      assert.deepEqual(await readAll(s, 'x'), batch(0, 4));
      await s.close();
    }
    // A corrupt (not short) tail is cut too.
    const bad = Buffer.from(whole);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0xff;
    await writeFile(seg, bad);
    const s = await open();
    assert.equal(s.head, 3);
    await s.close();
  });

  it('rolls segments, deletes those every sink is past, and over budget drops the oldest, moving each sink behind it past exactly the lines it lost', async () => {
    const spool = await open({ budgetBytes: 64 * 1024, segmentBytes: 8 * 1024 });
    spool.attach('fast', 'head');
    spool.attach('slow', 'head');
    let produced = 0;
    for (let i = 0; i < 60; i++) {
      await spool.append(batch(produced, 20), pos(produced + 20));
      produced += 20;
      // `fast` keeps up; `slow` never takes anything.
      const r = await spool.read('fast', spool.cursor('fast')!, 100);
      await spool.commit('fast', r.next);
      while (spool.cursor('fast')! < spool.head) {
        const more = await spool.read('fast', spool.cursor('fast')!, 100);
        await spool.commit('fast', more.next);
      }
    }
    assert.ok(spool.bytes <= 64 * 1024, `spool holds ${spool.bytes} bytes`);
    assert.equal(spool.cursor('fast'), produced);
    // The slow sink's cursor was moved past every segment that went: exactly the lines it lost.
    const lost = spool.cursor('slow')!;
    const kept = await readAll(spool, 'slow');
    assert.equal(lost + kept.length, produced, 'received + dropped = produced');
    assert.ok(lost > 0);
    assert.deepEqual(kept, batch(produced - kept.length, kept.length), 'the newest lines are the ones kept');
    const segs = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
    assert.ok(segs.length >= 2);
  });

  it('a sink past every segment lets them go at once', async () => {
    const spool = await open({ segmentBytes: 2048 });
    spool.attach('x', 'head');
    for (let i = 0; i < 20; i++) await spool.append(batch(i * 10, 10), pos(i * 10 + 10));
    assert.ok((await readdir(dir)).filter((n) => n.startsWith('seg-')).length > 3);
    await spool.commit('x', spool.head);
    await spool.sync(true);
    assert.equal((await readdir(dir)).filter((n) => n.startsWith('seg-')).length, 1);
    assert.equal(spool.takeLost('x'), 0);
    await spool.close();
  });

  it('disk full: the batch is dropped and counted for every sink, the file is cut back, and writing resumes when there is room', async () => {
    let full = false;
    const fs: SpoolFs = {
      ...fsp,
      open: (async (path: string, flags?: string) => {
        const handle = await fsp.open(path, flags);
        const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
        // Part of the batch reaches the disk before it fills.
        (handle as unknown as { write: unknown }).write = async (buf: Buffer, off: number, len: number, at: number) => {
          if (!full) return write(buf, off, len, at);
          await write(buf, off, Math.min(len, 7), at);
          throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        };
        return handle;
      }) as SpoolFs['open'],
    };
    const spool = await open({ fs });
    spool.attach('x', 'head');
    spool.attach('y', 'head');
    await spool.append(batch(0, 4), pos(4));
    full = true;
    await spool.append(batch(4, 6), pos(10));
    assert.equal(spool.diskProblem, 'ENOSPC');
    assert.equal(spool.takeLost('x'), 6);
    assert.equal(spool.takeLost('y'), 6);
    full = false;
    await spool.append(batch(10, 2), pos(12));
    assert.equal(spool.diskProblem, undefined);
    assert.deepEqual(await readAll(spool, 'x'), [...batch(0, 4), ...batch(10, 2)]);
    await spool.close();
    const again = await open();
    assert.equal(again.head, 6);
    assert.deepEqual(again.position, pos(12));
    await again.close();
  });

  it('a cursor ahead of what survived (a spool cut back after a power cut) is brought back to the head: lines repeat, none is skipped', async () => {
    const spool = await open();
    spool.attach('x', 'head');
    await spool.append(batch(0, 5), pos(5));
    await spool.commit('x', 5);
    await spool.close();
    const seg = join(dir, (await readdir(dir)).find((n) => n.startsWith('seg-'))!);
    await truncate(seg, 0);
    const again = await open();
    assert.equal(again.cursor('x'), 0);
    await again.append(batch(100, 1), pos(101));
    assert.deepEqual(await readAll(again, 'x'), batch(100, 1));
    await again.close();
  });
});

describe('spool corruption inside a segment', () => {
  it('a record that fails its CRC mid-segment: the lines before it are read, the rest of that segment is counted unreadable, the next segment is read', async () => {
    const spool = await open({ segmentBytes: 2048 });
    spool.attach('x', 'head');
    for (let i = 0; i < 6; i++) await spool.append(batch(i * 10, 10), pos(i * 10 + 10));
    await spool.close();
    const names = (await readdir(dir)).filter((n) => n.startsWith('seg-')).sort();
    assert.ok(names.length >= 2);
    const first = join(dir, names[0]!);
    const buf = await readFile(first);
    const recordBytes = lineRecord(line(0)).length;
    buf[recordBytes * 3 + 12] = buf[recordBytes * 3 + 12]! ^ 0xff; // inside the 4th line's payload
    await writeFile(first, buf);
    const again = await open({ segmentBytes: 2048 });
    const r1 = await again.read('x', 0, 100);
    assert.deepEqual(r1.lines, batch(0, 3));
    const r2 = await again.read('x', r1.next, 100);
    const secondFirst = Number(/seg-(\d+)/.exec(names[1]!)![1]);
    assert.deepEqual(r2, { lines: [], next: secondFirst, unreadable: secondFirst - 3 });
    const r3 = await again.read('x', r2.next, 100);
    assert.deepEqual(r3.lines[0], line(secondFirst));
    await again.close();
  });
});
