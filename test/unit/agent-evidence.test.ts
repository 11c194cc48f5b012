import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOOT_GRACE_MS, CONTAINER_GRACE_MS, judge, type Observation } from '../../src/agent/evidence.js';
import type { JournalEntry } from '../../src/agent/journal.js';
import { entry } from '../helpers/agent-fixtures.js';

const seen = (o: Partial<Observation> = {}): Observation => ({ bootId: 'b1', containers: null, statuses: null, wiped: false, ...o });
const ids = { main: 'c1', 'fleet-agent': 'c2' };

describe('evidence: done only on evidence, failed when the grace period ends without it', () => {
  const cases: { name: string; e: Partial<JournalEntry> & { command: string }; obs: Observation; elapsed: number; want: string; detail?: RegExp }[] = [
    { name: 'reboot, new boot → done', e: { command: 'reboot', bootId: 'b1' }, obs: seen({ bootId: 'b2' }), elapsed: 0, want: 'done' },
    { name: 'reboot, same boot, in grace → watch', e: { command: 'reboot', bootId: 'b1' }, obs: seen(), elapsed: BOOT_GRACE_MS - 1, want: 'watch' },
    { name: 'reboot, same boot, grace over → failed', e: { command: 'reboot', bootId: 'b1' }, obs: seen(), elapsed: BOOT_GRACE_MS, want: 'failed', detail: /still up 15 min later \(same boot\)/ },
    { name: 'restart, own container recreated → done', e: { command: 'restart', before: ids }, obs: seen({ containers: { main: 'c3', 'fleet-agent': 'c4' } }), elapsed: 0, want: 'done', detail: /recreated/ },
    { name: 'restart, same containers, in grace → watch', e: { command: 'restart', before: ids }, obs: seen({ containers: ids }), elapsed: 1_000, want: 'watch' },
    { name: 'restart, same containers, grace over → failed, not repeated', e: { command: 'restart', before: ids }, obs: seen({ containers: ids }), elapsed: CONTAINER_GRACE_MS, want: 'failed', detail: /no container recreated.*not repeated/ },
    { name: 'restart, supervisor cannot say, in grace → watch', e: { command: 'restart', before: ids }, obs: seen(), elapsed: 1_000, want: 'watch' },
    { name: 'restart, no ids before the call → failed at once (nothing to compare)', e: { command: 'restart', before: null }, obs: seen({ containers: ids }), elapsed: 0, want: 'failed', detail: /could not be read before/ },
    { name: 'purge, volume wiped → done', e: { command: 'purge', before: null }, obs: seen({ wiped: true }), elapsed: 0, want: 'done', detail: /wiped/ },
    { name: 'purge, containers recreated → done', e: { command: 'purge', before: ids }, obs: seen({ containers: { main: 'c5', 'fleet-agent': 'c6' } }), elapsed: 0, want: 'done' },
    { name: 'restart-service of two, one recreated, in grace → watch', e: { command: 'restart-service', services: ['main', 'fleet-agent'], before: ids }, obs: seen({ containers: { main: 'c9', 'fleet-agent': 'c2' } }), elapsed: 0, want: 'watch' },
    { name: 'restart-service of two, one recreated, grace over → failed naming it', e: { command: 'restart-service', services: ['main', 'fleet-agent'], before: ids }, obs: seen({ containers: { main: 'c9', 'fleet-agent': 'c2' } }), elapsed: CONTAINER_GRACE_MS, want: 'failed', detail: /only main recreated/ },
    { name: 'restart-service, the named one recreated → done', e: { command: 'restart-service', services: ['main'], before: ids }, obs: seen({ containers: { main: 'c9', 'fleet-agent': 'c2' } }), elapsed: 0, want: 'done' },
    { name: 'stop-service of another service, running before, found exited → done', e: { command: 'stop-service', services: ['main'], before: { main: 'Running' } }, obs: seen({ statuses: { main: 'exited' } }), elapsed: 0, want: 'done' },
    { name: 'stop-service of a service already stopped before the call → failed, outcome unknown (not done on a state it already had)', e: { command: 'stop-service', services: ['main'], before: { main: 'exited' } }, obs: seen({ statuses: { main: 'exited' } }), elapsed: 0, want: 'failed', detail: /already stopped before the call/ },
    { name: 'stop-service of another service, still Running, grace over → failed', e: { command: 'stop-service', services: ['main'], before: { main: 'Running' } }, obs: seen({ statuses: { main: 'Running' } }), elapsed: CONTAINER_GRACE_MS, want: 'failed' },
    { name: 'stop-service of the agent itself → failed at once: it runs again, nothing proves the stop', e: { command: 'stop-service', services: ['fleet-agent'] }, obs: seen({ statuses: { 'fleet-agent': 'Running' } }), elapsed: 0, want: 'failed', detail: /outcome unknown/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = judge(entry({ token: 't', state: 'running', sending: true, ...c.e }), c.obs, 'fleet-agent', c.elapsed);
      assert.equal(v.state, c.want, v.detail);
      if (c.detail) assert.match(v.detail, c.detail);
    });
  }
});
