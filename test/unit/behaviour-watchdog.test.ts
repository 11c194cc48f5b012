import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LadderStep } from '../../src/config/schema.js';
import type { AckState } from '../../src/agent/acks.js';
import type { JournalEntry } from '../../src/agent/journal.js';
import { entryKey, type ServiceLook, type Snapshot } from '../../src/agent/snapshot.js';
import {
  COOL_OFFS_MS, HEALTHY_RESET_MS, decide, parseStepKey, readState, reason, stepKey, watchdog,
} from '../../src/agent/behaviours/watchdog.js';
import { entry, snap, testConfig } from '../helpers/agent-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Monotonic "now" of every snapshot: far enough from 0 for an hour of health to fit. */
const NOW = 10 * HOUR;

const ok: ServiceLook = { status: 'Running', downLooks: 0, checkFailures: 0, healthySince: NOW - MIN };
const down: ServiceLook = { status: 'exited', downLooks: 2, checkFailures: 0, healthySince: null };

interface World {
  looks?: Record<string, ServiceLook> | null;
  journal?: JournalEntry[];
  watchdog?: 'all' | string[] | null;
  ladder?: LadderStep[];
  state?: unknown;
  wall?: number;
  updating?: boolean;
  inProgress?: string[];
}

function world(w: World = {}): Snapshot {
  const config = testConfig({ watchdog: w.watchdog === undefined ? 'all' : w.watchdog, ...(w.ladder ? { watchdogLadder: w.ladder } : {}) });
  return snap({
    config,
    now: NOW,
    wall: w.wall ?? T0,
    looks: w.looks === undefined ? { main: down, 'fleet-agent': ok } : w.looks,
    journal: w.journal ?? [],
    state: w.state === undefined ? {} : { watchdog: w.state },
    updating: w.updating ?? false,
    inProgress: new Set(w.inProgress ?? []),
  });
}

/** The watchdog's journal entry of step k of a service (epoch 0 unless given). */
function step(service: string, k: number, command: LadderStep, state: AckState, updatedAt: number, epoch = 0): JournalEntry {
  return entry({
    command, token: stepKey(service, epoch, k), origin: 'watchdog', state,
    services: command === 'restart-service' ? [service] : [], createdAt: updatedAt, updatedAt,
  });
}

/** An operator's service command. */
function op(command: string, state: AckState, services: string[], origin?: 'operator'): JournalEntry {
  return entry({ command, token: `t-${command}-${state}`, state, services, ...(origin ? { origin } : {}) });
}

/** The proposals of a decide as [command, key, services]. */
function steps(s: Snapshot): [string, string, readonly string[]][] {
  return decide(s).proposals.map((p) => [p.intent.command, p.intent.key, p.intent.args.services]);
}

const restartMain: [string, string, readonly string[]] = ['restart-service', 'watchdog@main:0.0', ['main']];

describe('watchdog: the behaviour', () => {
  it('is named watchdog, not level, and enabled only when a watchdog is set', () => {
    assert.equal(watchdog.name, 'watchdog');
    assert.equal(watchdog.level, false);
    assert.equal(watchdog.enabled(world({ watchdog: null })), false);
    assert.equal(watchdog.enabled(world({ watchdog: 'all' })), true);
    assert.equal(watchdog.enabled(world({ watchdog: ['main'] })), true);
  });
  it('proposes a whole intent of origin watchdog, never forced', () => {
    assert.deepEqual(decide(world()), {
      proposals: [{ intent: { key: 'watchdog@main:0.0', origin: 'watchdog', command: 'restart-service', args: { services: ['main'] }, force: false } }],
    });
  });
  it('decides nothing with the watchdog off', () => {
    assert.deepEqual(decide(world({ watchdog: null })), { proposals: [] });
  });
});

describe('watchdog: unhealthy or not', () => {
  const table: { name: string; look: ServiceLook; want: string | null }[] = [
    { name: 'not running on two looks', look: down, want: 'not running (exited) on 2 looks in a row' },
    { name: 'not running on five looks', look: { ...down, status: 'Dead', downLooks: 5 }, want: 'not running (Dead) on 5 looks in a row' },
    { name: 'running, check failed three times', look: { ...ok, checkFailures: 3, healthySince: null }, want: 'check failed 3 times in a row' },
    { name: 'both', look: { ...down, checkFailures: 4 }, want: 'not running (exited) on 2 looks in a row, check failed 4 times in a row' },
    { name: 'one look not running (the engine may be restarting it)', look: { ...down, downLooks: 1 }, want: null },
    { name: 'check failed twice', look: { ...ok, checkFailures: 2, healthySince: null }, want: null },
    { name: 'running, check passing', look: ok, want: null },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.want === null ? 'nothing' : 'the first step'}`, () => {
      assert.equal(reason(row.look), row.want);
      assert.deepEqual(steps(world({ looks: { main: row.look } })), row.want === null ? [] : [restartMain]);
    });
  }
  it('decides nothing at all while the app is being updated', () => {
    const s = world({ updating: true, watchdog: ['main', 'nope', 'fleet-agent'], journal: [step('main', 2, 'reboot', 'done', T0 - HOUR)] });
    assert.deepEqual(decide(s), { proposals: [] });
    assert.equal(steps(world({ updating: false })).length, 1);
  });
  it('decides nothing at all while the supervisor cannot be asked (looks null)', () => {
    assert.deepEqual(decide(world({ looks: null, watchdog: ['main', 'nope', 'fleet-agent'] })), { proposals: [] });
  });
});

describe('watchdog: stopped on purpose', () => {
  const table: { name: string; journal: JournalEntry[]; watched: boolean }[] = [
    { name: 'stop-service done', journal: [op('stop-service', 'done', ['main'])], watched: false },
    { name: 'stop-service running', journal: [op('stop-service', 'running', ['main'])], watched: false },
    { name: 'stop-service done, origin written out', journal: [op('stop-service', 'done', ['main'], 'operator')], watched: false },
    { name: 'stop-service of two services', journal: [op('stop-service', 'done', ['other', 'main'])], watched: false },
    { name: 'stop-service failed', journal: [op('stop-service', 'failed', ['main'])], watched: true },
    { name: 'stop-service of another service', journal: [op('stop-service', 'done', ['other'])], watched: true },
    { name: 'started again', journal: [op('stop-service', 'done', ['main']), op('start-service', 'done', ['main'])], watched: true },
    { name: 'restarted by the operator after the stop', journal: [op('stop-service', 'done', ['main']), op('restart-service', 'failed', ['main'])], watched: true },
    { name: 'stopped after a start', journal: [op('start-service', 'done', ['main']), op('stop-service', 'done', ['main'])], watched: false },
    { name: 'another command after the stop', journal: [op('stop-service', 'done', ['main']), op('reboot', 'done', [])], watched: false },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.watched ? 'watched' : 'left alone'}`, () => {
      const out = decide(world({ journal: row.journal }));
      assert.deepEqual(out.proposals.map((p) => [p.intent.command, p.intent.key, p.intent.args.services]), row.watched ? [restartMain] : []);
      assert.equal(out.problems, undefined);
    });
  }
});

describe('watchdog: the ladder', () => {
  const table: { name: string; journal: JournalEntry[]; wall: number; want: [string, string, readonly string[]][]; problem?: RegExp }[] = [
    { name: 'nothing taken yet: restart-service', journal: [], wall: T0, want: [restartMain] },
    { name: 'restart-service done, 1 ms before its cool-off: wait', journal: [step('main', 0, 'restart-service', 'done', T0)], wall: T0 + 5 * MIN - 1, want: [] },
    { name: 'restart-service done, at its cool-off: restart', journal: [step('main', 0, 'restart-service', 'done', T0)], wall: T0 + 5 * MIN, want: [['restart', 'watchdog@main:0.1', []]] },
    {
      name: 'restart done, 1 ms before its cool-off: wait',
      journal: [step('main', 0, 'restart-service', 'done', T0 - HOUR), step('main', 1, 'restart', 'done', T0)], wall: T0 + 15 * MIN - 1, want: [],
    },
    {
      name: 'restart done, at its cool-off: reboot',
      journal: [step('main', 0, 'restart-service', 'done', T0 - HOUR), step('main', 1, 'restart', 'done', T0)], wall: T0 + 15 * MIN, want: [['reboot', 'watchdog@main:0.2', []]],
    },
    {
      name: 'reboot done, 1 ms before its cool-off: wait, no problem yet',
      journal: [step('main', 0, 'restart-service', 'done', T0 - 2 * HOUR), step('main', 1, 'restart', 'done', T0 - HOUR), step('main', 2, 'reboot', 'done', T0)], wall: T0 + 45 * MIN - 1, want: [],
    },
    {
      name: 'reboot done, at its cool-off: the ladder is spent, a problem and no intent',
      journal: [step('main', 0, 'restart-service', 'done', T0 - 2 * HOUR), step('main', 1, 'restart', 'done', T0 - HOUR), step('main', 2, 'reboot', 'done', T0)], wall: T0 + 45 * MIN, want: [],
      problem: /^watchdog: main still unhealthy after the whole ladder; waiting for an operator \(not running \(exited\) on 2 looks in a row\)$/,
    },
    {
      name: 'days after the ladder was spent: still only the problem (never a loop)',
      journal: [step('main', 0, 'restart-service', 'done', T0 - 2 * HOUR), step('main', 1, 'restart', 'done', T0 - HOUR), step('main', 2, 'reboot', 'done', T0)], wall: T0 + 10 * 24 * HOUR, want: [],
      problem: /still unhealthy after the whole ladder/,
    },
    ...(['failed', 'blocked', 'rejected'] as const).map((state) => ({
      name: `restart-service ${state}: the next step after the cool-off`, journal: [step('main', 0, 'restart-service', state, T0)], wall: T0 + 5 * MIN,
      want: [['restart', 'watchdog@main:0.1', []]] as [string, string, readonly string[]][],
    })),
    ...(['accepted', 'running', 'deferred'] as const).map((state) => ({
      name: `previous step still ${state}: wait`, journal: [step('main', 0, 'restart-service', 'done', T0 - 2 * HOUR), step('main', 1, 'restart', state, T0 - HOUR)],
      wall: T0 + 10 * HOUR, want: [],
    })),
    {
      name: 'a step of another epoch does not count',
      journal: [step('main', 0, 'restart-service', 'done', T0 - HOUR, 7)], wall: T0, want: [restartMain],
    },
    {
      name: 'a trimmed step is not taken again: one past the highest',
      journal: [step('main', 1, 'restart', 'done', T0 - HOUR)], wall: T0, want: [['reboot', 'watchdog@main:0.2', []]],
    },
    {
      name: 'an operator entry with a look-alike token does not count',
      journal: [entry({ command: 'restart-service', token: 'watchdog@main:0.0', services: ['main'], updatedAt: T0 })], wall: T0, want: [restartMain],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const out = decide(world({ journal: row.journal, wall: row.wall }));
      assert.deepEqual(out.proposals.map((p) => [p.intent.command, p.intent.key, p.intent.args.services]), row.want);
      if (row.problem) {
        assert.equal(out.problems?.length, 1);
        assert.match(out.problems?.[0] ?? '', row.problem);
      } else assert.equal(out.problems, undefined);
      assert.equal(out.state, undefined);
    });
  }
  it('a previous step finished but still in the runner: wait', () => {
    const last = step('main', 0, 'restart-service', 'done', T0);
    const journal = [last];
    assert.deepEqual(steps(world({ journal, wall: T0 + HOUR, inProgress: [entryKey(last.command, last.token)] })), []);
    assert.deepEqual(steps(world({ journal, wall: T0 + HOUR })), [['restart', 'watchdog@main:0.1', []]]);
  });
  it('cool-offs are 5, 15 and 45 minutes', () => {
    assert.deepEqual(COOL_OFFS_MS, [5 * MIN, 15 * MIN, 45 * MIN]);
  });
});

describe('watchdog: custom ladders', () => {
  it('reboot only: reboot first, then after 5 minutes the problem', () => {
    const ladder: LadderStep[] = ['reboot'];
    assert.deepEqual(steps(world({ ladder })), [['reboot', 'watchdog@main:0.0', []]]);
    const journal = [step('main', 0, 'reboot', 'done', T0)];
    assert.deepEqual(decide(world({ ladder, journal, wall: T0 + 5 * MIN - 1 })), { proposals: [] });
    const out = decide(world({ ladder, journal, wall: T0 + 5 * MIN }));
    assert.deepEqual(out.proposals, []);
    assert.match(out.problems?.[0] ?? '', /^watchdog: main still unhealthy after the whole ladder/);
  });
  it('restart-service then reboot: the reboot 5 minutes after the restart, the problem 15 after the reboot', () => {
    const ladder: LadderStep[] = ['restart-service', 'reboot'];
    assert.deepEqual(steps(world({ ladder })), [restartMain]);
    const first = step('main', 0, 'restart-service', 'done', T0);
    assert.deepEqual(steps(world({ ladder, journal: [first], wall: T0 + 5 * MIN })), [['reboot', 'watchdog@main:0.1', []]]);
    const journal = [first, step('main', 1, 'reboot', 'done', T0 + HOUR)];
    assert.deepEqual(decide(world({ ladder, journal, wall: T0 + HOUR + 15 * MIN - 1 })), { proposals: [] });
    const out = decide(world({ ladder, journal, wall: T0 + HOUR + 15 * MIN }));
    assert.deepEqual(out.proposals, []);
    assert.match(out.problems?.[0] ?? '', /still unhealthy after the whole ladder/);
  });
  it('its own previous step open, in the journal or the runner, holds even a step no other rule holds', () => {
    const ladder: LadderStep[] = ['restart-service', 'restart-service'];
    for (const state of ['accepted', 'running', 'deferred'] as const) {
      assert.deepEqual(steps(world({ ladder, journal: [step('main', 0, 'restart-service', state, T0)], wall: T0 + HOUR })), [], state);
    }
    const done = step('main', 0, 'restart-service', 'done', T0);
    assert.deepEqual(steps(world({ ladder, journal: [done], wall: T0 + HOUR, inProgress: [entryKey(done.command, done.token)] })), []);
    assert.deepEqual(steps(world({ ladder, journal: [done], wall: T0 + HOUR })), [['restart-service', 'watchdog@main:0.1', ['main']]]);
  });
  it('a step named twice keys each rung apart', () => {
    const ladder: LadderStep[] = ['restart-service', 'restart-service'];
    const journal = [step('main', 0, 'restart-service', 'done', T0)];
    assert.deepEqual(steps(world({ ladder, journal, wall: T0 + 5 * MIN })), [['restart-service', 'watchdog@main:0.1', ['main']]]);
  });
});

describe('watchdog: back to the bottom', () => {
  const spent = [step('main', 0, 'restart-service', 'done', T0 - 3 * HOUR), step('main', 1, 'restart', 'done', T0 - 2 * HOUR), step('main', 2, 'reboot', 'done', T0 - HOUR)];
  it('healthy for an hour after steps in its epoch: the epoch goes up, no intent', () => {
    const look = { ...ok, healthySince: NOW - HEALTHY_RESET_MS };
    assert.deepEqual(decide(world({ looks: { main: look }, journal: spent })), { proposals: [], state: { epochs: { main: 1 } } });
  });
  it('healthy for 1 ms less than an hour: nothing', () => {
    const look = { ...ok, healthySince: NOW - HEALTHY_RESET_MS + 1 };
    assert.deepEqual(decide(world({ looks: { main: look }, journal: spent })), { proposals: [] });
  });
  it('healthy for an hour with no step in its epoch: nothing to reset', () => {
    const look = { ...ok, healthySince: 0 };
    assert.deepEqual(decide(world({ looks: { main: look }, journal: spent, state: { epochs: { main: 1 } } })), { proposals: [] });
  });
  it('keeps the other services\' epochs when one goes up', () => {
    const look = { ...ok, healthySince: 0 };
    const out = decide(world({ looks: { main: look, web: ok }, journal: [step('main', 0, 'restart-service', 'done', T0, 4)], state: { epochs: { main: 4, web: 2 } } }));
    assert.deepEqual(out.state, { epochs: { main: 5, web: 2 } });
  });
  it('in the next epoch, trouble starts again at the bottom step', () => {
    assert.deepEqual(steps(world({ journal: spent, state: { epochs: { main: 1 } } })), [['restart-service', 'watchdog@main:1.0', ['main']]]);
    assert.match(decide(world({ journal: spent })).problems?.[0] ?? '', /whole ladder/);
  });
  const states: { name: string; raw: unknown }[] = [
    { name: 'missing', raw: undefined },
    { name: 'null', raw: null },
    { name: 'a string', raw: 'x' },
    { name: 'epochs an array', raw: { epochs: [3] } },
    { name: 'a negative epoch', raw: { epochs: { main: -1 } } },
    { name: 'an epoch as text', raw: { epochs: { main: '1' } } },
    { name: 'a fractional epoch', raw: { epochs: { main: 0.5 } } },
  ];
  for (const row of states) {
    it(`a malformed state (${row.name}) counts as epoch 0`, () => {
      assert.deepEqual(readState(row.raw), { epochs: {} });
      assert.deepEqual(steps(world({ state: row.raw, journal: spent })), []);
    });
  }
  it('a service named like an object property has epoch 0', () => {
    assert.deepEqual(steps(world({ looks: { constructor: down } })), [['restart-service', 'watchdog@constructor:0.0', ['constructor']]]);
  });
});

describe('watchdog: which services', () => {
  it('all: every service but the agent\'s own', () => {
    const looks = { b: down, a: down, 'fleet-agent': down };
    assert.deepEqual(steps(world({ looks })), [['restart-service', 'watchdog@a:0.0', ['a']], ['restart-service', 'watchdog@b:0.0', ['b']]]);
  });
  it('a list: only those', () => {
    assert.deepEqual(steps(world({ watchdog: ['b'], looks: { a: down, b: down } })), [['restart-service', 'watchdog@b:0.0', ['b']]]);
  });
  it('its own service listed: a problem, never an intent', () => {
    assert.deepEqual(decide(world({ watchdog: ['fleet-agent'], looks: { 'fleet-agent': down } })), {
      proposals: [], problems: ['watchdog: cannot watch its own service fleet-agent'],
    });
  });
  it('a check URL of a service it does not watch (not listed, or its own): a problem naming it, never silently unasked', () => {
    const s = world({ watchdog: ['main'], looks: { main: ok, 'fleet-agent': ok } });
    const checks = { main: 'http://127.0.0.1:1/', worker: 'http://127.0.0.1:2/', 'fleet-agent': 'http://127.0.0.1:3/' };
    assert.deepEqual(decide({ ...s, config: { ...s.config, checks } }).problems, [
      'watchdog: the check URL of fleet-agent is not asked (fleet-agent is not watched)',
      'watchdog: the check URL of worker is not asked (worker is not watched)',
    ]);
  });
  it('a listed name the supervisor does not report: a problem; the others are still watched', () => {
    assert.deepEqual(decide(world({ watchdog: ['nope', 'main'] })), {
      proposals: [{ intent: { key: 'watchdog@main:0.0', origin: 'watchdog', command: 'restart-service', args: { services: ['main'] }, force: false } }],
      problems: ['watchdog: no service named nope'],
    });
  });
});

describe('watchdog: several unhealthy services', () => {
  const atRestart = (service: string) => step(service, 0, 'restart-service', 'done', T0 - HOUR);
  const looks = { a: down, b: down };
  it('each takes its own restart-service', () => {
    assert.deepEqual(steps(world({ looks })).map(([, key]) => key), ['watchdog@a:0.0', 'watchdog@b:0.0']);
  });
  it('two due a restart: one restart', () => {
    assert.deepEqual(steps(world({ looks, journal: [atRestart('a'), atRestart('b')] })), [['restart', 'watchdog@a:0.1', []]]);
  });
  it('one due a reboot, one due a restart: the restart first', () => {
    const journal = [atRestart('a'), step('a', 1, 'restart', 'done', T0 - HOUR), atRestart('b')];
    assert.deepEqual(steps(world({ looks, journal })), [['restart', 'watchdog@b:0.1', []]]);
  });
  it('no restart or reboot while another watchdog step is open, in the journal or the runner', () => {
    const other = step('b', 0, 'restart-service', 'running', T0);
    assert.deepEqual(steps(world({ looks, journal: [atRestart('a'), other] })), []);
    const inRunner = step('b', 0, 'restart-service', 'done', T0);
    assert.deepEqual(steps(world({ looks, journal: [atRestart('a'), inRunner], inProgress: [entryKey(inRunner.command, inRunner.token)] })), []);
    assert.deepEqual(steps(world({ looks, journal: [atRestart('a'), inRunner] })), [['restart', 'watchdog@a:0.1', []]]);
    const unjournaled = entryKey('restart-service', stepKey('b', 0, 0));
    assert.deepEqual(steps(world({ looks: { a: down }, journal: [atRestart('a')], inProgress: [unjournaled] })), []);
    assert.deepEqual(steps(world({ looks: { a: down }, journal: [atRestart('a')], inProgress: [entryKey('restart-service', 'op1')] })), [['restart', 'watchdog@a:0.1', []]]);
  });
  it('no restart or reboot in the same decide as a restart-service', () => {
    assert.deepEqual(steps(world({ looks, journal: [atRestart('a')] })), [['restart-service', 'watchdog@b:0.0', ['b']]]);
  });
  it('no step at all while a watchdog restart or reboot is open (it restarts every service)', () => {
    const journal = [atRestart('a'), step('a', 1, 'reboot', 'deferred', T0)];
    assert.deepEqual(steps(world({ looks, journal })), []);
  });
  it('an operator\'s open command does not hold the watchdog', () => {
    const journal = [atRestart('a'), atRestart('b'), entry({ command: 'restart', token: 'op1', state: 'running' })];
    assert.deepEqual(steps(world({ looks, journal })), [['restart', 'watchdog@a:0.1', []]]);
  });
});

describe('watchdog: keys', () => {
  it('parses back what it builds', () => {
    assert.equal(stepKey('my.svc-1', 3, 2), 'watchdog@my.svc-1:3.2');
    assert.deepEqual(parseStepKey(stepKey('my.svc-1', 3, 2)), { service: 'my.svc-1', epoch: 3, k: 2 });
    assert.equal(parseStepKey('reboot-schedule@x'), null);
    assert.equal(parseStepKey('t1'), null);
  });
});
