import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Activity } from '../../src/agent/activity.js';
import { PRIORITY, Runner } from '../../src/agent/runner.js';
import { ManualClock, settle } from '../../src/lib/clock.js';

/** A "call" that stays in flight until released, recording how many are in flight at once. */
function calls() {
  const state = { inFlight: 0, peak: 0, log: [] as string[] };
  const open = new Map<string, () => void>();
  return {
    state,
    call: (name: string) =>
      new Promise<void>((resolve) => {
        state.inFlight += 1;
        state.peak = Math.max(state.peak, state.inFlight);
        state.log.push(`start ${name}`);
        open.set(name, () => {
          state.inFlight -= 1;
          state.log.push(`end ${name}`);
          resolve();
        });
      }),
    finish: (name: string) => open.get(name)?.(),
  };
}

describe('runner', () => {
  it('one job at a time; a sleeping job lets the next one run, then queues again', async () => {
    const clock = new ManualClock();
    const activity = new Activity();
    const runner = new Runner({ clock, activity });
    const c = calls();
    void runner.enqueue('a', PRIORITY.operator, async (job) => {
      await c.call('a1');
      await job.sleep(60_000);
      await c.call('a2');
    });
    void runner.enqueue('b', PRIORITY.operator, async () => {
      await c.call('b');
    });
    await settle();
    c.finish('a1');
    await settle();
    assert.deepEqual(c.state.log, ['start a1', 'end a1', 'start b'], 'b runs while a sleeps');
    await clock.advance(60_000);
    assert.deepEqual(c.state.log.slice(3), [], 'a waits for b to let go of the slot');
    c.finish('b');
    await settle();
    c.finish('a2');
    await settle();
    assert.deepEqual(c.state.log.slice(3), ['end b', 'start a2', 'end a2']);
    assert.equal(c.state.peak, 1, 'never two calls at once');
    assert.equal(runner.active().size, 0);
  });

  it('cancel: a queued job never starts; a running one ends its sleep at once, and nothing starts while it is in a call', async () => {
    const clock = new ManualClock();
    const activity = new Activity();
    const runner = new Runner({ clock, activity });
    const c = calls();
    let afterSleep = 'not yet';
    void runner.enqueue('a', PRIORITY.operator, async (job) => {
      await c.call('a');
      try {
        await job.sleep(3_600_000);
        afterSleep = 'woke';
      } catch {
        afterSleep = job.signal.aborted ? 'cancelled' : 'error';
      }
    });
    void runner.enqueue('b', PRIORITY.operator, async () => {
      await c.call('b');
    });
    void runner.enqueue('q', PRIORITY.operator, async () => {
      await c.call('q');
    });
    await settle();
    assert.equal(runner.cancel('q'), true);
    assert.equal(runner.cancel('a'), true, 'cancelled while inside its call');
    await settle();
    assert.deepEqual(c.state.log, ['start a'], 'b does not start while the cancelled job is in a call');
    c.finish('a');
    await settle();
    assert.equal(afterSleep, 'cancelled');
    c.finish('b');
    await settle();
    assert.deepEqual(c.state.log, ['start a', 'end a', 'start b', 'end b'], 'q never started');
    assert.equal(runner.cancel('q'), false);
  });
});
