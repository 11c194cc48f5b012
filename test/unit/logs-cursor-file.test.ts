import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CURSOR_FILE, CursorFile, decodeSlot, encodeSlot, MIN_SLOT_BYTES, OLD_CURSOR_FILE } from '../../src/logs/cursor-file.js';
import type { SpoolFs } from '../../src/logs/spool-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cursors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file system, counting the calls the cursor file makes. */
function countingFs(): { fs: SpoolFs; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = <K extends keyof SpoolFs>(name: K): SpoolFs[K] => ((...args: unknown[]) => {
    calls[name] = (calls[name] ?? 0) + 1;
    return (fsp[name] as (...a: unknown[]) => unknown)(...args);
  }) as SpoolFs[K];
  return { fs: { open: count('open'), readdir: count('readdir'), unlink: count('unlink'), rename: count('rename'), readFile: count('readFile'), mkdir: count('mkdir') }, calls };
}

const json = (o: Record<string, number>) => (): string => JSON.stringify(o);

/** Reads the file's two slots as they are on disk. */
async function slots(): Promise<Array<{ seq: number; payload: string } | undefined>> {
  const buf = await readFile(join(dir, CURSOR_FILE));
  return [decodeSlot(buf.subarray(0, buf.length / 2)), decodeSlot(buf.subarray(buf.length / 2))];
}

describe('cursor file slots', () => {
  it('round-trips a record and refuses any flipped byte or a cut', () => {
    const rec = encodeSlot(7, '{"a":1}');
    assert.deepEqual(decodeSlot(rec), { seq: 7, payload: '{"a":1}' });
    for (let at = 0; at < rec.length; at++) {
      const bad = Buffer.from(rec);
      bad[at] = bad[at]! ^ 0x01;
      assert.equal(decodeSlot(bad), undefined, `byte ${at}`);
    }
    assert.equal(decodeSlot(rec.subarray(0, rec.length - 1)), undefined);
    assert.equal(decodeSlot(Buffer.alloc(MIN_SLOT_BYTES)), undefined, 'a zeroed slot is not a record');
  });
});

describe('CursorFile', () => {
  it('commits are one positioned write each, alternating slots; no temp file or rename after the first', async () => {
    const { fs, calls } = countingFs();
    const file = new CursorFile(fs, dir);
    assert.deepEqual(await file.read(), {});
    await file.write(json({ a: 1 }));
    const made = { ...calls };
    for (let i = 2; i <= 50; i++) await file.write(json({ a: i }));
    assert.deepEqual(calls, made, 'the later commits neither open nor rename files');
    assert.deepEqual((await slots()).map((s) => s?.seq), [50, 49]);
    assert.equal((await stat(join(dir, CURSOR_FILE))).size, 2 * MIN_SLOT_BYTES);
    assert.deepEqual(await readdir(dir), [CURSOR_FILE]);
    await file.close();
    assert.deepEqual(await new CursorFile(fs, dir).read(), { a: 50 });
  });

  it('a torn newest slot leaves the commit before it; two valid slots: the higher sequence wins wherever it is', async () => {
    const file = new CursorFile(fsp, dir);
    for (const n of [1, 2, 3]) await file.write(json({ a: n }));
    await file.close();
    // seq 3 is in slot 1, seq 2 in slot 0.
    assert.deepEqual((await slots()).map((s) => s?.seq), [2, 3]);
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 3 });
    const buf = await readFile(join(dir, CURSOR_FILE));
    const torn = Buffer.from(buf);
    torn.fill(0, MIN_SLOT_BYTES + 18, MIN_SLOT_BYTES + 24); // the write of seq 3 cut short in its payload
    await writeFile(join(dir, CURSOR_FILE), torn);
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 2 });
    // The newest in slot 0 this time.
    const again = new CursorFile(fsp, dir);
    await again.read();
    await again.write(json({ a: 9 }));
    await again.write(json({ a: 10 }));
    await again.close();
    const [s0, s1] = await slots();
    assert.ok(s0!.seq > s1!.seq, 'slot 0 holds the newer record');
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 10 });
  });

  it('both slots spoiled: the cursors of an older spool are read if it has them, else none', async () => {
    const file = new CursorFile(fsp, dir);
    await file.write(json({ a: 5 }));
    await file.close();
    await writeFile(join(dir, CURSOR_FILE), Buffer.alloc(2 * MIN_SLOT_BYTES, 0x5a));
    assert.deepEqual(await new CursorFile(fsp, dir).read(), {});
    await writeFile(join(dir, OLD_CURSOR_FILE), '{"a":4,"b":"x","c":-1,"d":2.5}');
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 4 }, 'only whole, non-negative numbers');
    await writeFile(join(dir, CURSOR_FILE), Buffer.alloc(3));
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 4 }, 'a file too short for two slots');
  });

  it('an older spool\'s cursors.json is read, then replaced by cursors.bin at the first commit', async () => {
    await writeFile(join(dir, OLD_CURSOR_FILE), '{"cloud":120,"http://x":80}');
    const file = new CursorFile(fsp, dir);
    assert.deepEqual(await file.read(), { cloud: 120, 'http://x': 80 });
    await file.write(json({ cloud: 130, 'http://x': 80 }));
    await file.close();
    assert.deepEqual(await readdir(dir), [CURSOR_FILE]);
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { cloud: 130, 'http://x': 80 });
  });

  it('cursors that outgrow a slot make a bigger file, whole; later commits go back to one write', async () => {
    const { fs, calls } = countingFs();
    const file = new CursorFile(fs, dir);
    await file.write(json({ a: 1 }));
    const many = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`https://sink-${i}.example/${'p'.repeat(40)}`, i]));
    await file.write(json(many));
    const size = (await stat(join(dir, CURSOR_FILE))).size;
    const need = 16 + Buffer.byteLength(JSON.stringify(many));
    assert.ok(size / 2 >= need && size / 2 < 2 * need && size > 2 * MIN_SLOT_BYTES, `slots of ${size / 2} bytes for a record of ${need}`);
    assert.equal(calls.rename, 2);
    await file.write(json({ ...many, more: 1 }));
    assert.equal(calls.rename, 2);
    await file.close();
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { ...many, more: 1 });
  });

  it('writes asked for during one coalesce into one more, with the newest cursors', async () => {
    const { fs } = countingFs();
    const file = new CursorFile(fs, dir);
    await file.write(json({ a: 0 }));
    let value = 1;
    const text = (): string => JSON.stringify({ a: value });
    const first = file.write(text);
    value = 2;
    const second = file.write(text);
    value = 3;
    const third = file.write(text);
    await Promise.all([first, second, third]);
    await file.close();
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 3 });
  });

  it('a short write is a torn slot: the commit before it stands, and the next commit makes the file afresh', async () => {
    let short = false;
    let renames = 0;
    const fs: SpoolFs = { ...fsp, rename: (...args: Parameters<typeof fsp.rename>) => (renames++, fsp.rename(...args)), open: async (...args: Parameters<typeof fsp.open>) => {
      const handle = await fsp.open(...args);
      const write = handle.write.bind(handle) as (b: Buffer, o: number, l: number, p: number) => Promise<{ bytesWritten: number; buffer: Buffer }>;
      return Object.assign(handle, {
        write: (b: Buffer, o: number, l: number, p: number) => (short ? write(b, o, Math.floor(l / 2), p) : write(b, o, l, p)),
      });
    } };
    const file = new CursorFile(fs, dir);
    await file.write(json({ a: 1 }));
    await file.write(json({ a: 2 }));
    short = true;
    await file.write(json({ a: 3 }));
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 2 });
    assert.equal(renames, 1);
    short = false;
    await file.write(json({ a: 4 }));
    assert.equal(renames, 2, 'the torn file was not written into again: a whole new one replaced it');
    await file.close();
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 4 });
  });

  it('a write that fails is not thrown; the next commit makes the file afresh', async () => {
    let fail = false;
    const fs: SpoolFs = { ...fsp, open: async (...args: Parameters<typeof fsp.open>) => {
      const handle = await fsp.open(...args);
      if (!fail) return handle;
      await handle.close();
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    } };
    const file = new CursorFile(fs, dir);
    await file.write(json({ a: 1 }));
    await file.close();
    fail = true;
    await file.write(json({ a: 2 })); // no handle after close: it must make the file, and cannot
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 1 }, 'the commit before it stands');
    fail = false;
    await file.write(json({ a: 3 }));
    await file.close();
    assert.deepEqual(await new CursorFile(fsp, dir).read(), { a: 3 });
  });
});
