import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/lib/clock.js';

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
