import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Action } from '../../src/agent/actions.js';
import { Activity } from '../../src/agent/activity.js';
import { BEHAVIOURS } from '../../src/agent/behaviours/index.js';
import { Decider, DECIDE_IDLE_MS } from '../../src/agent/decider.js';
import type { CommandDispatch } from '../../src/agent/dispatch.js';
import { Journal } from '../../src/agent/journal.js';
import { Observer } from '../../src/agent/observer.js';
import { CloudPoller } from '../../src/agent/poller.js';
import type { CloudPort, SupervisorPort } from '../../src/agent/ports.js';
import { Runner } from '../../src/agent/runner.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock, settle } from '../../src/lib/clock.js';
import { entry, silentLog, testConfig } from '../helpers/agent-fixtures.js';

const MINUTE = 60_000;
const UUID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A decider over real parts that make no call (nothing here reaches a supervisor or a cloud). */
async function decider(over: Partial<Config>, dispatchAll?: (actions: readonly Action[]) => Promise<void>) {
  dir = await mkdtemp(join(tmpdir(), 'decider-'));
  const clock = new ManualClock();
  const log = silentLog();
  const config = testConfig({ dataDir: dir, ...over });
  const journal = new Journal({ dir, clock });
  const runner = new Runner({ clock, activity: new Activity() });
  const observer = new Observer({ supervisor: {} as SupervisorPort, clock, log });
  const poller = new CloudPoller({ cloud: {} as CloudPort, clock, log, random: () => 0.5, intervalMs: () => config.pollIntervalMs });
  const dispatched: Action[] = [];
  const dispatch = { dispatchAll: dispatchAll ?? ((actions: readonly Action[]) => (dispatched.push(...actions), Promise.resolve())) } as unknown as CommandDispatch;
  const d = new Decider({
    behaviours: BEHAVIOURS, journal, runner, dispatch, observer, poller, clock, log, bootId: 'boot-1', ownService: 'fleet-agent',
    config: () => config, startedAt: () => 0, device: () => ({ uuid: poller.last?.device.uuid ?? '', appId: poller.last?.device.appId }),
  });
  /** As after a good poll: the device's uuid and tags are known, and it was a contact. */
  const polled = (): void => {
    poller.last = { device: { id: 1, uuid: UUID, appId: 1 }, deviceTags: {}, fleetTags: {} };
    poller.lastContactAt = clock.now();
    poller.lastContactWall = clock.wall();
  };
  return { d, clock, journal, dispatched, polled };
}

describe('Decider.idleMs: when the behaviours must look again by themselves', () => {
  it('wakes at the offline deadline while it is ahead; once it has passed, no sooner than DECIDE_IDLE_MS', async () => {
    const { d, clock, polled } = await decider({ offlineRebootMs: 30 * MINUTE });
    assert.equal(d.idleMs(), DECIDE_IDLE_MS);
    await clock.advance(28 * MINUTE);
    assert.equal(d.idleMs(), 2 * MINUTE);
    // Past the deadline (its reboot ran, or the device stays offline after it): not every second.
    await clock.advance(3 * MINUTE);
    assert.equal(d.idleMs(), DECIDE_IDLE_MS);
    await clock.advance(5 * 60 * MINUTE);
    assert.equal(d.idleMs(), DECIDE_IDLE_MS);
    // A contact starts the count again.
    polled();
    await clock.advance(27 * MINUTE);
    assert.equal(d.idleMs(), 3 * MINUTE);
  });

  it('a deferred reboot wakes it when the budget returns, even with the offline deadline passed', async () => {
    const { d, clock, journal } = await decider({ offlineRebootMs: 30 * MINUTE, maxRebootsPerDay: 1 });
    await journal.put(entry({ command: 'reboot', token: 'r1', state: 'running', sending: true }), 'add');
    await journal.put(entry({ command: 'reboot', token: 'offline-reboot@x', origin: 'offline-reboot', state: 'deferred' }));
    await clock.advance(40 * MINUTE);
    assert.equal(d.idleMs(), DECIDE_IDLE_MS);
    await clock.advance(24 * 60 * MINUTE - 42 * MINUTE);
    assert.equal(d.idleMs(), 2 * MINUTE);
  });
});

describe('Decider.round: a behaviour that looks off', () => {
  it('before this process read the tags, a deferred scheduled reboot is kept, never withdrawn (the schedule may be a live tag, the uuid is unknown): it runs as the budget allows', async () => {
    const { d, journal, dispatched } = await decider({ rebootSchedule: null, maxRebootsPerDay: 1 });
    await journal.put(entry({ command: 'reboot', token: 'reboot-schedule@2026-01-01T03:00Z', origin: 'reboot-schedule', state: 'deferred' }));
    await d.round();
    assert.deepEqual(dispatched, [], 'the schedule looks off (a live tag may set it): nothing withdrawn');
    const on = await decider({ rebootSchedule: '0 3 * * *', maxRebootsPerDay: 1 });
    await on.journal.put(entry({ command: 'reboot', token: 'reboot-schedule@2026-01-01T03:00Z', origin: 'reboot-schedule', state: 'deferred' }));
    await on.d.round();
    assert.deepEqual(on.dispatched.map((a) => [a.kind, a.token]), [['run', 'reboot-schedule@2026-01-01T03:00Z']], 'set, uuid unknown: resumed, the budget allowing');
  });

  it('once the tags were read, a behaviour switched off withdraws what it left waiting', async () => {
    const { d, journal, dispatched, polled } = await decider({ rebootSchedule: null, maxRebootsPerDay: 1 });
    await journal.put(entry({ command: 'reboot', token: 'reboot-schedule@2026-01-01T03:00Z', origin: 'reboot-schedule', state: 'deferred' }));
    polled();
    await d.round();
    assert.deepEqual(dispatched.map((a) => [a.kind, a.token, 'detail' in a ? a.detail : '']), [
      ['supersede', 'reboot-schedule@2026-01-01T03:00Z', 'withdrawn: no longer wanted'],
    ]);
  });
});

describe('Decider.round: rounds from every source, one at a time', () => {
  it('a round asked for while one dispatches waits for it (the poll, a watchdog look and the timer never judge one snapshot twice)', async () => {
    let gate: () => void = () => undefined;
    let calls = 0;
    const { d } = await decider({}, () => {
      calls += 1;
      return calls === 1 ? new Promise<void>((release) => (gate = release)) : Promise.resolve();
    });
    const first = d.round();
    const second = d.round();
    await settle();
    assert.equal(calls, 1, 'the second round has not started while the first dispatches');
    gate();
    await Promise.all([first, second]);
    assert.equal(calls, 2);
  });
});
