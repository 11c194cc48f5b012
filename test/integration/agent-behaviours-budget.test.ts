/** The agent's behaviours against both simulators: what waits on the reboot budget across restarts of the agent. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startWorld, type World } from '../helpers/agent-harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const MIN = 60_000;
const slot = (hour: string): string => `reboot-schedule@2026-01-01T${hour}:00Z`;
const state = (w: World, token: string) => w.agent.status().recentActions.find((a) => a.origin === 'reboot-schedule' && a.token === token);

describe('a scheduled reboot deferred by the reboot budget', () => {
  it('is kept across a restart of the agent (which decides before its first poll), and the next slot replaces it', async () => {
    // The clock starts at 2026-01-01T00:00Z; the schedule starts now, so its first slot is 01:00.
    const w = (world = await startWorld({ config: { rebootSchedule: '0 * * * *', scheduleSpreadMs: 0, maxRebootsPerDay: 1 } }));
    await w.step(61 * MIN);
    assert.equal(w.sup.reboots, 1, 'the 01:00 slot rebooted the device');
    await w.restart();
    await w.step(60 * MIN);
    assert.equal(state(w, slot('02'))?.state, 'deferred', 'the budget (1 a day) is spent');

    await w.restart();
    assert.equal(state(w, slot('02'))?.state, 'deferred', 'a new process keeps it: the schedule has not been read yet, it was not switched off');

    await w.step(60 * MIN);
    assert.deepEqual([state(w, slot('02'))?.state, state(w, slot('02'))?.detail], ['rejected', `superseded by ${slot('03')} before it ran`]);
    assert.equal(state(w, slot('03'))?.state, 'deferred', 'one reboot waits, for the newest slot');
    assert.equal(w.sup.reboots, 1);
  });
});
