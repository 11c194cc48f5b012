import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../src/agent/admission.js';
import { rebootSchedule } from '../../src/agent/behaviours/reboot-schedule.js';
import { watchdog } from '../../src/agent/behaviours/watchdog.js';
import type { Intent } from '../../src/agent/intent.js';
import { entryKey } from '../../src/agent/snapshot.js';
import { decide, entry, snap, testConfig, what } from '../helpers/agent-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const brief = (actions: ReturnType<typeof decide>) => actions.map((a) => [what(a), a.command, a.token, 'detail' in a ? a.detail : '']);

describe('decide(): a newer token supersedes an older one that never started', () => {
  it('a deferred reboot whose tag moved on is closed; the new token is deferred in its place', () => {
    const journal = [entry({ command: 'reboot', token: 'r1', state: 'deferred', detail: 'x' })];
    const out = decide(snap({ deviceTags: { 'agent.reboot': 'r2' }, journal, budget: { max: 1, used: 1, releaseAtWall: T0 } }));
    assert.deepEqual(brief(out), [
      ['supersede', 'reboot', 'r1', 'superseded by r2 before it ran'],
      ['defer', 'reboot', 'r2', `reboot budget spent (1 of 1 in 24 h); runs after ${new Date(T0).toISOString()}`],
    ]);
  });
  it('an accepted reboot waiting in the runner is closed, and the new one runs (its place in the budget is freed)', () => {
    const journal = [entry({ command: 'reboot', token: 'r1', state: 'accepted' })];
    const out = decide(snap({ deviceTags: { 'agent.reboot': 'r2 force' }, journal, inProgress: new Set([entryKey('reboot', 'r1')]), budget: { max: 1, used: 0, releaseAtWall: null } }));
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['supersede', 'r1'], ['reboot', 'r2']]);
  });
  it('a reboot waiting on a lock (running, nothing in flight) is closed', () => {
    const journal = [entry({ command: 'reboot', token: 'r1', state: 'running', sending: false })];
    assert.deepEqual(decide(snap({ deviceTags: { 'agent.reboot': 'r2' }, journal })).map((a) => [what(a), a.token]), [['supersede', 'r1'], ['reboot', 'r2']]);
  });
  it('a call that may be in flight is never closed', () => {
    const journal = [entry({ command: 'reboot', token: 'r1', state: 'running', sending: true })];
    assert.deepEqual(decide(snap({ deviceTags: { 'agent.reboot': 'r2' }, journal, budget: { max: 3, used: 1, releaseAtWall: null } })).map((a) => [what(a), a.token]), [['reboot', 'r2']]);
  });
  it('a job with a call in flight is told to stop retrying (the dispatcher will not close it)', () => {
    const journal = [entry({ command: 'restart', token: 'x1', state: 'running', sending: true })];
    const out = decide(snap({ deviceTags: { 'agent.restart': 'x2 force' }, journal, inProgress: new Set([entryKey('restart', 'x1')]) }));
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['supersede', 'x1'], ['restart', 'x2']]);
  });
  it('a removed tag withdraws a pending token', () => {
    const journal = [entry({ command: 'restart', token: 'x1', state: 'accepted' })];
    assert.deepEqual(brief(decide(snap({ deviceTags: {}, journal }))), [['supersede', 'restart', 'x1', 'withdrawn: the tag was removed before it ran']]);
  });
  it('a malformed new value supersedes too (without echoing it)', () => {
    const journal = [entry({ command: 'reboot', token: 'r1', state: 'deferred' })];
    const out = decide(snap({ deviceTags: { 'agent.reboot': 'to$ken' }, journal }));
    assert.deepEqual(out.map((a) => [a.kind, a.token.startsWith('#') ? '#' : a.token]), [['supersede', 'r1'], ['reject', '#']]);
    assert.equal((out[0] as { detail: string }).detail, 'superseded by a new tag value before it ran');
  });
  it('finished tokens and the token the tag still names are left alone', () => {
    const journal = [
      entry({ command: 'reboot', token: 'r0', state: 'done' }),
      entry({ command: 'reboot', token: 'r1', state: 'deferred', detail: 'same' }),
      entry({ command: 'identify', token: 'i0', state: 'failed' }),
    ];
    const out = decide(snap({ deviceTags: { 'agent.reboot': 'r1' }, journal, budget: { max: 3, used: 0, releaseAtWall: null } }));
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['reboot', 'r1']]);
  });
});

describe('admit(): a behaviour\'s newer reboot replaces the one that waits', () => {
  const slot = (id: string): Intent => ({ key: `reboot-schedule@${id}`, origin: 'reboot-schedule', command: 'reboot', args: { services: [] }, force: false });
  const step = (service: string): Intent => ({ key: `watchdog@${service}:0.0`, origin: 'watchdog', command: 'restart-service', args: { services: [service] }, force: false });
  const spent = { max: 1, used: 1, releaseAtWall: T0 + 3_600_000 };

  it('a slot deferred by the budget is closed when the next slot comes; the next one waits in its place', () => {
    const journal = [entry({ command: 'reboot', token: slot('2026-01-01T02:00Z').key, origin: 'reboot-schedule', state: 'deferred', detail: 'x' })];
    const out = admit(snap({ journal, budget: spent }), [{ behaviour: rebootSchedule, proposals: [{ intent: slot('2026-01-01T03:00Z') }] }]);
    assert.deepEqual(brief(out), [
      ['supersede', 'reboot', 'reboot-schedule@2026-01-01T02:00Z', 'superseded by reboot-schedule@2026-01-01T03:00Z before it ran'],
      ['defer', 'reboot', 'reboot-schedule@2026-01-01T03:00Z', `reboot budget spent (1 of 1 in 24 h); runs after ${new Date(spent.releaseAtWall).toISOString()}`],
    ]);
  });
  it('with no newer slot, the deferred one stays and runs once the budget has room', () => {
    const journal = [entry({ command: 'reboot', token: slot('2026-01-01T02:00Z').key, origin: 'reboot-schedule', state: 'deferred', detail: 'x' })];
    const out = admit(snap({ journal, budget: { max: 1, used: 0, releaseAtWall: null } }), [{ behaviour: rebootSchedule, proposals: [] }]);
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['reboot', 'reboot-schedule@2026-01-01T02:00Z']]);
  });
  it('a slot refused as missed replaces nothing', () => {
    const journal = [entry({ command: 'reboot', token: slot('2026-01-01T02:00Z').key, origin: 'reboot-schedule', state: 'deferred', detail: 'x' })];
    const out = admit(snap({ journal, budget: { max: 1, used: 0, releaseAtWall: null } }), [{ behaviour: rebootSchedule, proposals: [{ intent: slot('2026-01-02T02:00Z'), refuse: 'missed' }] }]);
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['reboot', 'reboot-schedule@2026-01-01T02:00Z'], ['reject', 'reboot-schedule@2026-01-02T02:00Z']]);
  });
  it('the watchdog\'s restart of one service does not close its restart of another that waits (a retry)', () => {
    const journal = [entry({ command: 'restart-service', token: step('main').key, origin: 'watchdog', state: 'running', sending: false, services: ['main'] })];
    const out = admit(snap({ journal, inProgress: new Set([entryKey('restart-service', step('main').key)]) }), [{ behaviour: watchdog, proposals: [{ intent: step('worker') }] }]);
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['restart-service', 'watchdog@worker:0.0']]);
  });
});

describe('decide(): the reboot budget counts reboots not yet sent', () => {
  it('a reboot and a shutdown set together with a budget of 1: one runs, one is deferred', () => {
    const config = testConfig({ actions: ['reboot', 'shutdown'] });
    const out = decide(snap({ config, deviceTags: { 'agent.reboot': 'r', 'agent.shutdown': 's' }, budget: { max: 1, used: 0, releaseAtWall: null } }));
    assert.deepEqual(out.map((a) => [a.kind, a.command]), [['run', 'reboot'], ['defer', 'shutdown']]);
    assert.match((out[1] as { detail: string }).detail, /another reboot or shutdown is pending/);
  });
  it('an accepted reboot still queued holds its place against a new shutdown', () => {
    const config = testConfig({ actions: ['reboot', 'shutdown'] });
    const journal = [entry({ command: 'reboot', token: 'r', state: 'accepted' })];
    const out = decide(snap({ config, deviceTags: { 'agent.reboot': 'r', 'agent.shutdown': 's' }, journal, inProgress: new Set([entryKey('reboot', 'r')]), budget: { max: 1, used: 0, releaseAtWall: null } }));
    assert.deepEqual(out.map((a) => [a.kind, a.command]), [['defer', 'shutdown']]);
  });
  it('max-reboots-per-day 0 defers even a forced reboot, saying reboots are disabled', () => {
    const out = decide(snap({ config: testConfig({ maxRebootsPerDay: 0 }), deviceTags: { 'agent.reboot': 'r force' }, budget: { max: 0, used: 0, releaseAtWall: null } }));
    assert.deepEqual(brief(out), [['defer', 'reboot', 'r', 'reboot budget spent (0 of 0 in 24 h); reboots are disabled here (max-reboots-per-day is 0)']]);
  });
  it('a deferral is recorded again when what it tells has changed (e.g. the budget was lowered)', () => {
    const journal = [entry({ command: 'reboot', token: 'r', state: 'deferred', detail: 'reboot budget spent (3 of 3 in 24 h); runs after 2026-01-01T00:00:00.000Z' })];
    const out = decide(snap({ deviceTags: { 'agent.reboot': 'r' }, journal, budget: { max: 0, used: 3, releaseAtWall: null } }));
    assert.deepEqual(out.map(what), ['defer']);
    assert.match((out[0] as { detail: string }).detail, /reboots are disabled/);
  });
});
