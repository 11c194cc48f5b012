import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideOffline } from '../../src/agent/behaviours/offline-reboot.js';
import { entry, snap, testConfig } from '../helpers/agent-fixtures.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const config = testConfig({ offlineRebootMs: 6 * H });
const keys = (d: ReturnType<typeof decideOffline>) => d.proposals.map((p) => p.intent.key);

describe('offline-reboot decide()', () => {
  it('off: nothing', () => assert.deepEqual(decideOffline(snap({ now: 100 * H })), { proposals: [] }));
  it('counts from the agent\'s start when it never had contact: 1 ms short → nothing; at the limit → one reboot, its period remembered', () => {
    assert.deepEqual(keys(decideOffline(snap({ config, startedAt: H, now: 7 * H - 1 }))), []);
    const d = decideOffline(snap({ config, startedAt: H, now: 7 * H, wall: T0 }));
    assert.deepEqual(keys(d), ['offline-reboot@2026-01-01T00:00:00.000Z']);
    assert.equal(d.proposals[0]?.intent.command, 'reboot');
    assert.equal(d.proposals[0]?.intent.origin, 'offline-reboot');
    assert.deepEqual(d.state, { key: 'offline-reboot@2026-01-01T00:00:00.000Z', contactWall: null });
  });
  it('counts from the later of the last contact and the start', () => {
    assert.deepEqual(keys(decideOffline(snap({ config, startedAt: 0, lastContactAt: 2 * H, lastContactWall: T0, now: 8 * H - 1 }))), []);
    assert.equal(keys(decideOffline(snap({ config, startedAt: 0, lastContactAt: 2 * H, lastContactWall: T0, now: 8 * H })))[0]?.startsWith('offline-reboot@'), true);
  });
  it('once per offline period: after its reboot, no contact since → nothing, however long it lasts', () => {
    const state = { 'offline-reboot': { key: 'offline-reboot@k1', contactWall: T0 } };
    const journal = [entry({ command: 'reboot', token: 'offline-reboot@k1', origin: 'offline-reboot', state: 'done' })];
    assert.deepEqual(decideOffline(snap({ config, state, journal, startedAt: 0, now: 100 * H })), { proposals: [] });
  });
  it('the period remembered but its entry lost (a failed write) → the same key is proposed again, never a new one', () => {
    const state = { 'offline-reboot': { key: 'offline-reboot@k1', contactWall: null } };
    assert.deepEqual(keys(decideOffline(snap({ config, state, startedAt: 0, now: 100 * H }))), ['offline-reboot@k1']);
  });
  it('a contact after the period ends it: forgotten at once, and a new period counts from that contact', () => {
    const state = { 'offline-reboot': { key: 'offline-reboot@k1', contactWall: T0 } };
    const journal = [entry({ command: 'reboot', token: 'offline-reboot@k1', origin: 'offline-reboot', state: 'done' })];
    const back = decideOffline(snap({ config, state, journal, startedAt: 0, lastContactAt: H, lastContactWall: T0 + 9 * H, now: 2 * H }));
    assert.deepEqual(back, { proposals: [], state: null });
    const again = decideOffline(snap({ config, state: {}, journal, startedAt: 0, lastContactAt: H, lastContactWall: T0 + 9 * H, now: 7 * H, wall: T0 + 15 * H }));
    assert.deepEqual(keys(again), ['offline-reboot@2026-01-01T15:00:00.000Z']);
  });
  it('a malformed remembered state (from disk) counts as none', () => {
    const state = { 'offline-reboot': { key: 7 } };
    assert.equal(keys(decideOffline(snap({ config, state, startedAt: 0, now: 6 * H }))).length, 1);
  });
});
