import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessHealth, type HealthInputs } from '../../src/agent/health.js';
import { Reporter } from '../../src/agent/reporter.js';
import { MAX_RETRY_AFTER_MS } from '../../src/lib/backoff.js';
import { ManualClock } from '../../src/lib/clock.js';
import { HttpError } from '../../src/lib/errors.js';

const base: HealthInputs = {
  now: 1_000_000, startedAt: 0, lastGoodPollAt: 900_000, pollIntervalMs: 300_000, startSpreadMs: 120_000,
  supervisorReachable: true, journalWritable: true, configProblems: [], deviceKeyRejected: false,
};

describe('health rules', () => {
  const table: { name: string; over: Partial<HealthInputs>; state: string; reasons: RegExp[] }[] = [
    { name: 'all good', over: {}, state: 'ok', reasons: [] },
    { name: 'last good poll older than 2 intervals', over: { lastGoodPollAt: 399_999 }, state: 'degraded', reasons: [/cloud unreachable/] },
    { name: 'poll exactly 2 intervals old is still ok', over: { lastGoodPollAt: 400_000 }, state: 'ok', reasons: [] },
    { name: 'no poll yet, inside spread + 2 intervals', over: { lastGoodPollAt: undefined, now: 700_000 }, state: 'ok', reasons: [] },
    { name: 'no poll since start', over: { lastGoodPollAt: undefined, now: 800_000 }, state: 'degraded', reasons: [/no cloud contact since start/] },
    { name: 'supervisor unreachable', over: { supervisorReachable: false }, state: 'degraded', reasons: [/supervisor unreachable/] },
    { name: 'bad live settings', over: { configProblems: ['tag agent.config.poll-interval="3s": must be at least 10s'] }, state: 'degraded', reasons: [/bad setting: tag agent.config.poll-interval/] },
    { name: 'a short cloud hold is the ordinary pace of retries', over: { cloudHoldMs: 120_000 }, state: 'ok', reasons: [] },
    { name: 'the cloud asked for a long hold (Retry-After)', over: { cloudHoldMs: 3_600_000 }, state: 'degraded', reasons: [/cloud asked the agent to hold its requests/] },
    { name: 'journal not writable', over: { journalWritable: false }, state: 'failing', reasons: [/journal not writable/] },
    { name: 'device key rejected (worst first)', over: { deviceKeyRejected: true, supervisorReachable: false }, state: 'failing', reasons: [/device key rejected/, /supervisor unreachable/] },
  ];
  for (const row of table) {
    it(row.name, () => {
      const h = assessHealth({ ...base, ...row.over });
      assert.equal(h.state, row.state);
      assert.equal(h.reasons.length, row.reasons.length);
      row.reasons.forEach((re, i) => assert.match(h.reasons[i] ?? '', re));
    });
  }
});

function fakeTags(fail?: () => Error | undefined) {
  const writes: Record<string, string>[] = [];
  return {
    writes,
    set: (tags: Readonly<Record<string, string>>) => {
      const err = fail?.();
      if (err) return Promise.reject(err);
      writes.push({ ...tags });
      return Promise.resolve('cloud' as const);
    },
  };
}

describe('reporter', () => {
  it('writes only what changed, in one batch', async () => {
    const clock = new ManualClock();
    const tags = fakeTags();
    const r = new Reporter({ tags, clock });
    r.seed({ 'agent.version': '1.0.0' });
    r.update({ 'agent.health': 'ok', 'agent.version': '1.0.0', 'agent.reboot.ack': 'a running t' });
    assert.equal(await r.flush(), false, 'the first change waits 1 s for others');
    await clock.advance(500);
    r.update({ 'agent.reboot.ack': 'a done t' });
    await clock.advance(500);
    assert.equal(await r.flush(), true);
    assert.deepEqual(tags.writes, [{ 'agent.health': 'ok', 'agent.reboot.ack': 'a done t' }]);
    await clock.advance(60_000);
    r.update({ 'agent.health': 'ok' });
    assert.equal(await r.flush(), false, 'nothing changed, nothing written');
    assert.equal(tags.writes.length, 1);
  });
  it('writes at most once per 10 s; changes inside the window are deferred and batched', async () => {
    const clock = new ManualClock();
    const tags = fakeTags();
    const r = new Reporter({ tags, clock, batchMs: 0 });
    r.update({ a: '1' });
    await r.flush();
    await clock.advance(3_000);
    r.update({ a: '2' });
    assert.equal(await r.flush(), false);
    assert.equal(r.delayMs(), 7_000);
    await clock.advance(4_000);
    r.update({ b: '1' });
    assert.equal(await r.flush(), false);
    await clock.advance(3_000);
    assert.equal(await r.flush(), true);
    assert.deepEqual(tags.writes, [{ a: '1' }, { a: '2', b: '1' }]);
  });
  it('backs off after a failure, honouring Retry-After (seconds)', async () => {
    const clock = new ManualClock();
    let failing = true;
    const tags = fakeTags(() => (failing ? new HttpError({ peer: 'cloud', status: 429, method: 'POST', path: '/x', body: '', retryAfterMs: 120_000 }) : undefined));
    const r = new Reporter({ tags, clock, random: () => 0, batchMs: 0 });
    r.update({ a: '1' });
    assert.equal(await r.flush(), false);
    failing = false;
    await clock.advance(119_000);
    assert.equal(await r.flush(), false);
    assert.equal(r.delayMs(), 1_000);
    await clock.advance(1_000);
    assert.equal(await r.flush(), true);
    assert.deepEqual(tags.writes, [{ a: '1' }]);
  });
  it('waits at most MAX_RETRY_AFTER_MS (1 h) whatever Retry-After a port passes on', async () => {
    const clock = new ManualClock();
    let failing = true;
    const month = 30 * 86_400_000;
    const tags = fakeTags(() => (failing ? new HttpError({ peer: 'cloud', status: 429, method: 'PATCH', path: '/x', body: '', retryAfterMs: month }) : undefined));
    const r = new Reporter({ tags, clock, random: () => 0, batchMs: 0 });
    r.update({ a: '1' });
    assert.equal(await r.flush(), false);
    assert.equal(r.delayMs(), MAX_RETRY_AFTER_MS);
    failing = false;
    await clock.advance(MAX_RETRY_AFTER_MS);
    assert.equal(await r.flush(), true);
    assert.deepEqual(tags.writes, [{ a: '1' }]);
  });
});
