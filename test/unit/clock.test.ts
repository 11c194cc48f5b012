import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { MAX_TIMER_MS, ManualClock, systemClock } from '../../src/lib/clock.js';

describe('ManualClock', () => {
  it('wakes sleepers in deadline order and lets chained sleeps run', async () => {
    const clock = new ManualClock();
    const woke: string[] = [];
    void clock.sleep(200).then(() => woke.push('b'));
    void clock.sleep(100).then(async () => {
      woke.push('a');
      await clock.sleep(50);
      woke.push('a2');
    });
    await clock.advance(120);
    assert.deepEqual(woke, ['a']);
    await clock.advance(100);
    assert.deepEqual(woke, ['a', 'a2', 'b']);
    assert.equal(clock.now(), 220);
  });
  it('rejects an aborted sleep with code ABORTED', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort();
    await assert.rejects(sleeping, { code: 'ABORTED' });
    assert.equal(clock.pending(), 0);
  });
  it('steps the wall clock without moving monotonic time', () => {
    const clock = new ManualClock(1_000_000);
    clock.stepWall(-500_000);
    assert.equal(clock.wall(), 500_000);
    assert.equal(clock.now(), 0);
  });
});

describe('systemClock.sleep', () => {
  it('a sleep longer than one timer can hold neither fires at once nor warns (TimeoutOverflowWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    let woke = false;
    const sleeping = systemClock.sleep(2_147_484_000, controller.signal).then(() => (woke = true));
    try {
      // The real timer is what is under test: an overflowing one fires after 1 ms.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(woke, false, 'woke after 100 ms from a 24.8-day sleep');
      assert.deepEqual(warnings, []);
    } finally {
      controller.abort();
      process.off('warning', onWarning);
    }
    await assert.rejects(sleeping, { code: 'ABORTED' });
  });

  it('chains timers so the whole wait is honoured, to the millisecond', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let woke = false;
      const sleeping = systemClock.sleep(MAX_TIMER_MS + 5_000).then(() => (woke = true));
      mock.timers.tick(MAX_TIMER_MS);
      await Promise.resolve();
      assert.equal(woke, false);
      mock.timers.tick(4_999);
      await Promise.resolve();
      assert.equal(woke, false);
      mock.timers.tick(1);
      await sleeping;
      assert.equal(woke, true);
    } finally {
      mock.timers.reset();
    }
  });
});
