import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AT_RECHECK_MS, Scheduler } from '../../src/agent/scheduler.js';
import { ManualClock } from '../../src/lib/clock.js';

describe('scheduler', () => {
  it('waits the initial delay (start spread), then runs every interval', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    const at: number[] = [];
    s.every('t', { initialDelayMs: 700, intervalMs: () => 1000 }, () => Promise.resolve(void at.push(clock.now())));
    await clock.advance(699);
    assert.deepEqual(at, []);
    await clock.advance(3001);
    await s.idle();
    assert.deepEqual(at, [700, 1700, 2700, 3700]);
    await s.stop();
  });
  it('never overlaps runs of one task, and runNow during a run coalesces into one more run', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    s.every('slow', { initialDelayMs: 0, intervalMs: () => 10_000 }, async (signal) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      runs += 1;
      await clock.sleep(5_000, signal).finally(() => (running -= 1));
    });
    await clock.advance(1);
    s.runNow('slow');
    s.runNow('slow');
    s.runNow('slow');
    await clock.advance(5_000);
    await clock.advance(5_000);
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2, 'three runNow calls during a run give one more run');
    await s.stop();
  });
  it('runNow wakes a sleeping task at once', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    let runs = 0;
    s.every('t', { initialDelayMs: 0, intervalMs: () => 60_000 }, () => Promise.resolve(void (runs += 1)));
    await clock.advance(1);
    await s.idle();
    assert.equal(runs, 1);
    s.runNow('t');
    await s.idle();
    assert.equal(runs, 2);
    assert.equal(clock.now(), 1);
    await s.stop();
  });
  it('reads the interval before every sleep (live settings apply on the next cycle)', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    let interval = 1000;
    const at: number[] = [];
    s.every('t', { initialDelayMs: 0, intervalMs: () => interval }, () => Promise.resolve(void at.push(clock.now())));
    await s.idle();
    await clock.advance(1500);
    interval = 5000;
    await clock.advance(10_000);
    assert.deepEqual(at, [0, 1000, 2000, 7000]);
    await s.stop();
  });
  it('stop aborts sleeps and the running task; nothing runs afterwards', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    let aborted = false;
    let runs = 0;
    s.every('t', { initialDelayMs: 0, intervalMs: () => 1000 }, async (signal) => {
      runs += 1;
      await clock.sleep(60_000, signal).catch((err: { code?: string }) => {
        aborted = err.code === 'ABORTED';
      });
    });
    await clock.advance(1);
    await s.stop();
    assert.equal(aborted, true);
    assert.equal(clock.pending(), 0, 'no sleep left behind');
    await clock.advance(10_000);
    assert.equal(runs, 1);
  });
  it('a failing task is logged and keeps its schedule', async () => {
    const clock = new ManualClock();
    const warnings: string[] = [];
    const s = new Scheduler({ clock, log: { warn: (_o: unknown, m?: string) => void warnings.push(m ?? ''), debug: () => undefined } as never });
    let runs = 0;
    s.every('t', { initialDelayMs: 0, intervalMs: () => 1000 }, () => {
      runs += 1;
      return Promise.reject(new Error('boom'));
    });
    await s.idle();
    await clock.advance(2500);
    assert.equal(runs, 3);
    assert.equal(warnings.length, 3);
    await s.stop();
  });

  it('at(): fires at the instant asked, once; a clock stepped forward past it fires it once; back, it waits for the next', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const s = new Scheduler({ clock });
    const fired: string[] = [];
    let next: number | null = Date.UTC(2026, 0, 1, 3, 0);
    s.at('t', () => next, () => Promise.resolve(void fired.push(new Date(clock.wall()).toISOString())));
    await clock.advance(3 * 3_600_000 - 1);
    await s.idle();
    assert.deepEqual(fired, [], 'not a millisecond early');
    next = Date.UTC(2026, 0, 2, 3, 0);
    await clock.advance(1);
    await s.idle();
    assert.deepEqual(fired, ['2026-01-01T03:00:00.000Z']);
    // NTP steps the wall clock a day forward: the 03:00 of the next day is passed by: it fires once.
    next = Date.UTC(2026, 0, 2, 3, 0);
    clock.stepWall(30 * 3_600_000);
    next = Date.UTC(2026, 0, 2, 3, 0);
    await clock.advance(AT_RECHECK_MS);
    await s.idle();
    assert.equal(fired.length, 2, 'the step forward fired the passed instant once');
    next = null;
    await clock.advance(10 * AT_RECHECK_MS);
    await s.idle();
    assert.equal(fired.length, 2, 'nothing asked: nothing fires');
    await s.stop();
  });
  it('service(): a long-lived task that idle() does not wait for, started again with a backoff when it ends, aborted by stop', async () => {
    const clock = new ManualClock();
    const s = new Scheduler({ clock });
    const starts: number[] = [];
    let failNext = true;
    s.service('stream', async (signal) => {
      starts.push(clock.now());
      if (failNext) {
        failNext = false;
        throw new Error('connection reset');
      }
      await clock.sleep(3_600_000, signal).catch(() => undefined);
    }, { baseMs: 1_000, maxMs: 1_000, random: () => 0 });
    await s.idle();
    assert.deepEqual(starts, [0], 'idle() returns while it runs');
    await clock.advance(999);
    assert.deepEqual(starts, [0]);
    await clock.advance(1);
    assert.deepEqual(starts, [0, 1_000], 'started again after its backoff');
    await s.stop();
    assert.equal(clock.pending(), 0, 'stop ended its sleep');
    await clock.advance(10_000);
    assert.equal(starts.length, 2);
  });
});
