import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatAck } from '../../src/agent/acks.js';
import { clampFuture, DAY_MS, rebootBudget } from '../../src/agent/budget.js';
import { Journal } from '../../src/agent/journal.js';
import { ManualClock } from '../../src/lib/clock.js';
import { entry, fillableStore } from '../helpers/agent-fixtures.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-journal-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('journal: persistence', () => {
  it('writes atomically (no temp file left) and reads back what it wrote', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const j = new Journal({ dir, clock });
    assert.equal(await j.load(), 'missing');
    await j.put(entry({ command: 'reboot', token: 't1', state: 'running', sending: true }), 'add');
    assert.deepEqual(await readdir(dir), ['journal.json']);
    const again = new Journal({ dir, clock });
    assert.equal(await again.load(), 'ok');
    assert.equal(again.get('reboot', 't1')?.state, 'running');
    assert.equal(again.rebootStamps().length, 1);
  });
  it('keeps only the last N finished tokens per command, but every unfinished one', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const j = new Journal({ dir, clock, keepPerCommand: 3 });
    await j.put(entry({ command: 'reboot', token: 'open', state: 'deferred' }));
    for (let i = 0; i < 10; i++) {
      await clock.advance(1000);
      await j.put(entry({ command: 'reboot', token: `t${i}` }));
    }
    await j.put(entry({ command: 'identify', token: 'x' }));
    const tokens = j.entries().map((e) => `${e.command}:${e.token}`).sort();
    assert.deepEqual(tokens, ['identify:x', 'reboot:open', 'reboot:t7', 'reboot:t8', 'reboot:t9']);
    const onDisk = JSON.parse(await readFile(j.path, 'utf8')) as { entries: unknown[] };
    assert.equal(onDisk.entries.length, 5);
  });
  it('a corrupt file is kept aside and the tokens are rebuilt from ack tags', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    await writeFile(join(dir, 'journal.json'), '{"version":1,"entries":[{"comm');
    const j = new Journal({ dir, clock });
    assert.equal(await j.load(), 'corrupt');
    const files = await readdir(dir);
    assert.ok(files.some((f) => /^journal\.json\.\d+\.corrupt$/.test(f)), files.join(','));
    const t = Date.UTC(2026, 0, 1);
    const added = await j.importAcks(
      {
        'agent.reboot.ack': formatAck('r1', 'done', t),
        'agent.restart.ack': formatAck('x1', 'running', t),
        'agent.identify.ack': formatAck('i1', 'running', t),
        'agent.update.ack': formatAck('-', 'rejected', t, 'empty value'),
        'agent.health': 'ok',
      },
      'agent.',
      'boot-1',
    );
    assert.equal(added, 3);
    assert.equal(j.get('reboot', 'r1')?.state, 'done');
    assert.equal(j.get('restart', 'x1')?.state, 'failed', 'a destructive command seen running is never repeated');
    assert.equal(j.get('identify', 'i1')?.state, 'accepted', 'an idempotent one is resumed');
    const reread = new Journal({ dir, clock });
    assert.equal(await reread.load(), 'ok');
    assert.equal(reread.entries().length, 3);
  });
  it('a wrong shape counts as corrupt', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'journal.json'), JSON.stringify({ version: 1, entries: [{ command: 'reboot' }], reboots: [] }));
    assert.equal(await new Journal({ dir, clock: new ManualClock() }).load(), 'corrupt');
  });
});

describe('journal: reconcile by boot id (only what needs no supervisor)', () => {
  const watching = /agent restarted during the call; checking whether it happened/;
  const cases: { name: string; e: Parameters<typeof entry>[0]; boot: string; want: string; sending?: boolean; detail?: RegExp }[] = [
    { name: 'reboot sent, new boot → done', e: { command: 'reboot', token: 'a', state: 'running', sending: true, bootId: 'b1' }, boot: 'b2', want: 'done' },
    { name: 'reboot sent, same boot → still running: watched for a new boot, never resent', e: { command: 'reboot', token: 'a', state: 'running', sending: true, bootId: 'b1' }, boot: 'b1', want: 'running', sending: true, detail: watching },
    { name: 'shutdown sent, new boot → done', e: { command: 'shutdown', token: 'a', state: 'running', sending: true, bootId: 'b1' }, boot: 'b2', want: 'done' },
    { name: 'reboot running but nothing in flight → resumed', e: { command: 'reboot', token: 'a', state: 'running', sending: false, bootId: 'b1' }, boot: 'b1', want: 'accepted' },
    { name: 'reboot waiting on a lock, then a new boot → done, never sent again', e: { command: 'reboot', token: 'a', state: 'running', sending: false, bootId: 'b1' }, boot: 'b2', want: 'done', detail: /new boot seen/ },
    { name: 'restart of the app in flight → not done on faith: watched for recreated containers', e: { command: 'restart', token: 'a', state: 'running', sending: true }, boot: 'boot-1', want: 'running', sending: true, detail: watching },
    { name: 'purge in flight, journal kept → watched', e: { command: 'purge', token: 'a', state: 'running', sending: true }, boot: 'boot-1', want: 'running', sending: true, detail: watching },
    { name: 'restart-service in flight → watched', e: { command: 'restart-service', token: 'a', state: 'running', sending: true, services: ['fleet-agent'] }, boot: 'boot-1', want: 'running', sending: true, detail: watching },
    { name: 'stop-service in flight → watched', e: { command: 'stop-service', token: 'a', state: 'running', sending: true, services: ['main'] }, boot: 'boot-1', want: 'running', sending: true, detail: watching },
    { name: 'identify in flight → resumed (at-least-once)', e: { command: 'identify', token: 'a', state: 'running', sending: true }, boot: 'boot-1', want: 'accepted' },
    { name: 'start-service in flight → resumed (at-least-once)', e: { command: 'start-service', token: 'a', state: 'running', sending: true, services: ['main'] }, boot: 'boot-1', want: 'accepted' },
    { name: 'done stays done', e: { command: 'reboot', token: 'a', state: 'done' }, boot: 'b9', want: 'done' },
    { name: 'deferred stays deferred', e: { command: 'reboot', token: 'a', state: 'deferred' }, boot: 'b9', want: 'deferred' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = await tempDir();
      const clock = new ManualClock();
      const j = new Journal({ dir, clock });
      await j.put(entry(c.e));
      const fresh = new Journal({ dir, clock });
      await fresh.load();
      await fresh.reconcile(c.boot);
      const got = fresh.get(c.e.command, c.e.token);
      assert.equal(got?.state, c.want);
      assert.equal(got?.sending, c.sending ?? false);
      if (c.detail) assert.match(got?.detail ?? '', c.detail);
      assert.deepEqual(fresh.unsettled().map((e) => e.token), c.sending === true ? ['a'] : [], 'what the agent watches');
      const persisted = new Journal({ dir, clock });
      await persisted.load();
      assert.equal(persisted.get(c.e.command, c.e.token)?.state, c.want, 'the reconciled state is persisted');
    });
  }
});

describe('journal: a purge that wiped the data volume', () => {
  const t = Date.UTC(2026, 0, 1);
  it('a journal missing at load with a purge `running` ack in the cloud → done: the volume was wiped', async () => {
    const j = new Journal({ dir: await tempDir(), clock: new ManualClock() });
    assert.equal(await j.load(), 'missing');
    await j.importAcks({ 'agent.purge.ack': formatAck('p1', 'running', t, 'recording the purge in the cloud') }, 'agent.', 'boot-2');
    assert.equal(j.get('purge', 'p1')?.state, 'done');
    assert.equal(j.get('purge', 'p1')?.detail, 'the data volume was wiped');
  });
  it('killed before the first good poll after the wipe: the next process still knows the volume was wiped', async () => {
    const dir = await tempDir();
    const first = new Journal({ dir, clock: new ManualClock() });
    assert.equal(await first.load(), 'missing');
    await first.persist(); // what start does; then the process dies before any poll
    const second = new Journal({ dir, clock: new ManualClock() });
    assert.equal(await second.load(), 'ok');
    await second.importAcks({ 'agent.purge.ack': formatAck('p1', 'running', t) }, 'agent.', 'boot-2');
    assert.equal(second.get('purge', 'p1')?.state, 'done');
    const third = new Journal({ dir, clock: new ManualClock() });
    await third.load();
    await third.importAcks({ 'agent.purge.ack': formatAck('p2', 'running', t) }, 'agent.', 'boot-2');
    assert.equal(third.get('purge', 'p2')?.state, 'failed', 'once the acks were read, a missing entry is no longer a wipe');
  });
  it('a corrupt journal is not a wiped volume: the purge is failed, not repeated', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'journal.json'), 'garbage');
    const j = new Journal({ dir, clock: new ManualClock() });
    assert.equal(await j.load(), 'corrupt');
    await j.importAcks({ 'agent.purge.ack': formatAck('p1', 'running', t) }, 'agent.', 'boot-2');
    assert.equal(j.get('purge', 'p1')?.state, 'failed');
  });
  it('acks of made-up command names are not imported (their ack is their record)', async () => {
    const j = new Journal({ dir: await tempDir(), clock: new ManualClock() });
    await j.load();
    const tags: Record<string, string> = {};
    for (let i = 0; i < 100; i++) tags[`agent.thing${i}.ack`] = formatAck(`x${i}`, 'rejected', t, 'unknown command');
    assert.equal(await j.importAcks(tags, 'agent.', 'boot-1'), 0);
  });
});

describe('reboot budget over wall time', () => {
  const now = Date.UTC(2026, 0, 2);
  it('counts stamps in the last 24 h and says when one frees up', () => {
    const stamps = [now - DAY_MS - 1, now - 5 * 3_600_000, now - 3_600_000, now - 60_000];
    assert.deepEqual(rebootBudget(stamps, now, 3), { max: 3, used: 3, releaseAtWall: now - 5 * 3_600_000 + DAY_MS });
    assert.deepEqual(rebootBudget(stamps, now, 4), { max: 4, used: 3, releaseAtWall: null });
  });
  it('after a backwards clock step, future stamps count and are re-anchored to now', () => {
    const stamps = [now + 10 * DAY_MS];
    assert.equal(rebootBudget(stamps, now, 1).used, 1);
    const anchored = clampFuture(stamps, now);
    assert.deepEqual(anchored, [now]);
    assert.equal(rebootBudget(anchored, now + DAY_MS + 1, 1).used, 0, 'expires 24 h after the step, not in 10 days');
  });
  it('max 0 disables reboots', () => {
    assert.deepEqual(rebootBudget([], now, 0), { max: 0, used: 0, releaseAtWall: null });
  });
});

describe('journal: a failed write (full disk)', () => {
  it('put() throws, memory keeps the last persisted state, the budget stamp is taken back', async () => {
    const dir = await tempDir();
    const { store, disk } = fillableStore(dir);
    const clock = new ManualClock();
    const j = new Journal({ dir, clock, store });
    await j.put(entry({ command: 'reboot', token: 'r1', state: 'accepted' }));
    disk.allowed = 0;
    await assert.rejects(j.put(entry({ command: 'reboot', token: 'r1', state: 'running', sending: true }), 'add'), { code: 'JOURNAL' });
    await assert.rejects(j.put(entry({ command: 'identify', token: 'i1', state: 'accepted' })), { code: 'JOURNAL' });
    assert.equal(j.writable, false);
    assert.equal(j.get('reboot', 'r1')?.state, 'accepted', 'not "running": nothing may be sent on a record that is not on disk');
    assert.equal(j.get('identify', 'i1'), undefined);
    assert.equal(j.rebootStamps().length, 0);
    disk.allowed = null;
    await j.persist();
    assert.equal(j.writable, true);
    const reread = new Journal({ dir, clock });
    await reread.load();
    assert.deepEqual(reread.entries().map((e) => `${e.token}:${e.state}`), ['r1:accepted']);
  });
});

describe('journal: change order, not wall time', () => {
  it('the most recent token of a command is the last changed, even after the wall clock stepped back', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const j = new Journal({ dir, clock });
    await j.put(entry({ command: 'identify', token: 'i1', state: 'done' }));
    clock.stepWall(-3_600_000);
    await j.put(entry({ command: 'identify', token: 'i2', state: 'accepted' }));
    assert.equal(j.latest().get('identify')?.token, 'i2');
    await j.put(entry({ command: 'identify', token: 'i1', state: 'done', detail: 'touched' }));
    assert.equal(j.latest().get('identify')?.token, 'i1', 'a changed entry becomes the most recent');
    await j.put(entry({ command: 'identify', token: 'i2', state: 'rejected', detail: 'superseded' }), undefined, 'keep');
    assert.equal(j.latest().get('identify')?.token, 'i1', 'closing an old token leaves it in its place');
    assert.equal(j.get('identify', 'i2')?.state, 'rejected');
  });
  it('made-up command names never push a real command out (a done reboot would run again)', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const j = new Journal({ dir, clock });
    await j.put(entry({ command: 'reboot', token: 'r1', state: 'done' }));
    for (let i = 0; i < 60; i++) {
      await j.put(entry({ command: `junk${i}`, token: 'a', state: 'rejected' }));
      await j.put(entry({ command: `junk${i}`, token: 'b', state: 'rejected' }));
    }
    assert.equal(j.get('reboot', 'r1')?.state, 'done');
    assert.equal(j.entries().length, 51, 'reboot and one token (the latest) of the 50 most recent made-up names');
    assert.equal(j.get('junk57', 'a'), undefined);
    assert.equal(j.get('junk57', 'b')?.state, 'rejected');
    assert.equal(j.get('junk3', 'b'), undefined, 'the oldest names are remembered by their ack tags only');
  });
  it('putAll stores many outcomes with one write, and undoes them all when it fails', async () => {
    let writes = 0;
    let fail = false;
    const j = new Journal({
      dir: '/nowhere', clock: new ManualClock(),
      store: { path: '/nowhere/journal.json', read: () => Promise.resolve({ status: 'missing' }), quarantine: () => Promise.resolve(undefined), write: () => (writes++, fail ? Promise.reject(new Error('ENOSPC')) : Promise.resolve()) },
    });
    await j.putAll(Array.from({ length: 30 }, (_, i) => ({ entry: entry({ command: `junk${i}`, token: 'a', state: 'rejected' }), place: 'latest' as const })));
    assert.equal(writes, 1);
    assert.equal(j.entries().length, 30);
    fail = true;
    await assert.rejects(j.putAll([{ entry: entry({ command: 'reboot', token: 'r', state: 'deferred' }), place: 'latest' }]));
    assert.equal(j.get('reboot', 'r'), undefined, 'memory never claims what the disk does not hold');
    assert.equal(j.entries().length, 30);
  });
});

describe('journal: intents of every origin', () => {
  it('keeps the origin and the behaviours\' state across a reload; the latest entry per report slot (command for operators, behaviour otherwise)', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const j = new Journal({ dir, clock });
    await j.load();
    await j.put(entry({ command: 'reboot', token: 'op1' }));
    await j.put(entry({ command: 'reboot', token: 'watchdog@main:0.2', origin: 'watchdog' }));
    await j.put(entry({ command: 'restart-service', token: 'watchdog@main:1.0', origin: 'watchdog', services: ['main'] }));
    await j.setStates({ watchdog: { epochs: { main: 1 } } });
    const again = new Journal({ dir, clock });
    assert.equal(await again.load(), 'ok');
    assert.equal(again.get('reboot', 'watchdog@main:0.2')?.origin, 'watchdog');
    assert.deepEqual(again.state('watchdog'), { epochs: { main: 1 } });
    const latest = again.latest();
    assert.deepEqual([...latest.keys()].sort(), ['reboot', 'watchdog']);
    assert.equal(latest.get('reboot')?.token, 'op1', 'a behaviour\'s reboot never becomes the operator\'s reboot ack');
    assert.equal(latest.get('watchdog')?.token, 'watchdog@main:1.0');
  });
  it('a behaviour\'s history never pushes an operator\'s finished tokens out (kept per command and origin)', async () => {
    const clock = new ManualClock();
    const j = new Journal({ dir: await tempDir(), clock, keepPerCommand: 2 });
    await j.load();
    await j.put(entry({ command: 'reboot', token: 'op1' }));
    for (let i = 0; i < 5; i++) await j.put(entry({ command: 'reboot', token: `reboot-schedule@${i}`, origin: 'reboot-schedule' }));
    assert.ok(j.get('reboot', 'op1'), 'the operator\'s token is still known: it never runs again');
    assert.equal(j.entries().filter((e) => e.origin === 'reboot-schedule').length, 2);
  });
  it('an unknown origin in the file makes it corrupt (kept aside), not silently an operator\'s', async () => {
    const dir = await tempDir();
    const bad = { version: 1, reboots: [], entries: [{ ...entry({ command: 'reboot', token: 'x' }), origin: 'martian' }] };
    await writeFile(join(dir, 'journal.json'), JSON.stringify(bad));
    assert.equal(await new Journal({ dir, clock: new ManualClock() }).load(), 'corrupt');
  });
  it('two writers on one folder (a stopping agent and its successor) never share a temp file', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const a = new Journal({ dir, clock });
    const b = new Journal({ dir, clock });
    await a.load();
    await b.load();
    const writes = [];
    for (let i = 0; i < 20; i++) {
      writes.push(a.put(entry({ command: 'identify', token: `a${i}` })), b.put(entry({ command: 'identify', token: `b${i}` })));
    }
    await Promise.all(writes);
    assert.deepEqual(await readdir(dir), ['journal.json'], 'every write landed, no temp file left');
  });
  it('a temp file a killed writer left is removed at load once it is old, kept while it may be a live write', async () => {
    const dir = await tempDir();
    const { utimes } = await import('node:fs/promises');
    await writeFile(join(dir, 'journal.json.1.1.tmp'), '{');
    await writeFile(join(dir, 'journal.json.2.1.tmp'), '{');
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(join(dir, 'journal.json.1.1.tmp'), old, old);
    await new Journal({ dir, clock: new ManualClock() }).load();
    assert.deepEqual((await readdir(dir)).sort(), ['journal.json.2.1.tmp']);
  });
});
