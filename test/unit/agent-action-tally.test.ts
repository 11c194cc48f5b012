import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActionTally } from '../../src/agent/action-tally.js';
import type { JournalEntry } from '../../src/agent/journal.js';

const entry = (token: string, state: JournalEntry['state'], over: Partial<JournalEntry> = {}): JournalEntry => ({
  command: 'reboot', token, state, detail: '', bootId: 'b', attempts: 0, sending: false, force: false, services: [], createdAt: 0, updatedAt: 0, ...over,
});

describe('action tally (fleet_agent_actions_total)', () => {
  it('counts each entry once per final state, and never goes down when the journal drops entries', () => {
    const tally = new ActionTally();
    tally.observe([entry('a', 'running'), entry('b', 'done', { command: 'identify' })]);
    assert.deepEqual(tally.list(), [{ command: 'identify', origin: 'operator', state: 'done', count: 1 }]);
    tally.observe([entry('a', 'done'), entry('b', 'done', { command: 'identify' })]);
    tally.observe([entry('a', 'done'), entry('b', 'done', { command: 'identify' })]);
    tally.observe([entry('w@1', 'failed', { origin: 'watchdog', command: 'restart-service' })]);
    assert.deepEqual(tally.list().sort((x, y) => x.command.localeCompare(y.command)), [
      { command: 'identify', origin: 'operator', state: 'done', count: 1 },
      { command: 'reboot', origin: 'operator', state: 'done', count: 1 },
      { command: 'restart-service', origin: 'watchdog', state: 'failed', count: 1 },
    ]);
  });
});
