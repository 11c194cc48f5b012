import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidToken, needsImageIds, parseCommand } from '../../src/agent/behaviours/operator.js';
import { entryKey } from '../../src/agent/snapshot.js';
import { decide, entry, snap, testConfig, what } from '../helpers/agent-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);

describe('decide(): commands', () => {
  const table: { name: string; tags: Record<string, string>; want: unknown[] }[] = [
    { name: 'reboot', tags: { 'agent.reboot': 't1' }, want: [{ kind: 'run', origin: 'operator', command: 'reboot', token: 't1', force: false, services: [] }] },
    { name: 'reboot force', tags: { 'agent.reboot': 't1 force' }, want: [{ kind: 'run', origin: 'operator', command: 'reboot', token: 't1', force: true, services: [] }] },
    { name: 'restart', tags: { 'agent.restart': '2026-01-01' }, want: [{ kind: 'run', origin: 'operator', command: 'restart', token: '2026-01-01', force: false, services: [] }] },
    { name: 'identify', tags: { 'agent.identify': 'x' }, want: [{ kind: 'run', origin: 'operator', command: 'identify', token: 'x', force: false, services: [] }] },
    { name: 'update force', tags: { 'agent.update': 'u:1 force' }, want: [{ kind: 'run', origin: 'operator', command: 'update', token: 'u:1', force: true, services: [] }] },
    {
      name: 'restart-service two services',
      tags: { 'agent.restart-service': 'T-9 main,fleet-agent force' },
      want: [{ kind: 'run', origin: 'operator', command: 'restart-service', token: 'T-9', force: true, services: ['main', 'fleet-agent'] }],
    },
    { name: 'stop-service', tags: { 'agent.stop-service': 'a main' }, want: [{ kind: 'run', origin: 'operator', command: 'stop-service', token: 'a', force: false, services: ['main'] }] },
    {
      name: 'a service named by image id (as the CLI takes it) becomes its name',
      tags: { 'agent.restart-service': 'i1 1002,main' },
      want: [{ kind: 'run', origin: 'operator', command: 'restart-service', token: 'i1', force: false, services: ['fleet-agent', 'main'] }],
    },
    { name: 'reports, settings and acks are not commands', tags: { 'agent.health': 'ok', 'agent.health.detail': 'x', 'agent.reboot.ack': 'a done 2026-01-01T00:00:00.000Z', 'agent.config.poll-interval': '1m', 'other.reboot': 'x' }, want: [] },
    { name: 'another prefix is ignored', tags: { 'fleet.reboot': 't1' }, want: [] },
  ];
  for (const row of table) {
    it(row.name, () => assert.deepEqual(decide(snap({ deviceTags: row.tags })), row.want));
  }
  it('honours the configured prefix', () => {
    const config = testConfig({ tagPrefix: 'fa.' });
    assert.deepEqual(decide(snap({ config, deviceTags: { 'agent.reboot': 'a', 'fa.identify': 'b' } })).map(what), ['identify']);
  });
});

describe('decide(): tokens old and new', () => {
  const tags = { 'agent.reboot': 't1' };
  for (const state of ['done', 'failed', 'rejected', 'blocked', 'running'] as const) {
    it(`a token already ${state} does nothing`, () => {
      assert.deepEqual(decide(snap({ deviceTags: tags, journal: [entry({ command: 'reboot', token: 't1', state })] })), []);
    });
  }
  it('a new token runs again', () => {
    const out = decide(snap({ deviceTags: { 'agent.reboot': 't2' }, journal: [entry({ command: 'reboot', token: 't1' })] }));
    assert.deepEqual(out.map((a) => [what(a), a.token]), [['reboot', 't2']]);
  });
  it('the same token for another command is a different command', () => {
    const out = decide(snap({ deviceTags: { 'agent.identify': 't1' }, journal: [entry({ command: 'reboot', token: 't1' })] }));
    assert.deepEqual(out.map(what), ['identify']);
  });
  it('an accepted token (resumed after a restart) runs unless the runner has it', () => {
    const journal = [entry({ command: 'reboot', token: 't1', state: 'accepted' })];
    assert.equal(decide(snap({ deviceTags: tags, journal })).length, 1);
    assert.equal(decide(snap({ deviceTags: tags, journal, inProgress: new Set([entryKey('reboot', 't1')]) })).length, 0);
  });
});

describe('decide(): allow-list', () => {
  it('purge and shutdown are not allowed by default', () => {
    const out = decide(snap({ deviceTags: { 'agent.purge': 'p1', 'agent.shutdown': 's1' } }));
    assert.deepEqual(out.map((a) => [a.kind, a.command, a.token]), [['reject', 'purge', 'p1'], ['reject', 'shutdown', 's1']]);
    assert.match((out[0] as { detail: string }).detail, /not allowed.*AGENT_ACTIONS/);
  });
  it('purge runs once allowed', () => {
    const config = testConfig({ actions: ['purge'] });
    assert.deepEqual(decide(snap({ config, deviceTags: { 'agent.purge': 'p1' } })).map(what), ['purge']);
  });
  it('a rejected token is not rejected again', () => {
    const journal = [entry({ command: 'purge', token: 'p1', state: 'rejected' })];
    assert.deepEqual(decide(snap({ deviceTags: { 'agent.purge': 'p1' }, journal })), []);
  });
});

describe('decide(): reboot budget', () => {
  const tags = { 'agent.reboot': 'r4' };
  it('within budget runs', () => {
    assert.deepEqual(decide(snap({ deviceTags: tags, budget: { max: 3, used: 2, releaseAtWall: null } })).map(what), ['reboot']);
  });
  it('beyond budget is deferred, saying when it runs', () => {
    const out = decide(snap({ deviceTags: tags, budget: { max: 3, used: 3, releaseAtWall: T0 + 3_600_000 } }));
    assert.deepEqual(out.map(what), ['defer']);
    assert.match((out[0] as { detail: string }).detail, /budget spent \(3 of 3 in 24 h\); runs after 2026-01-01T01:00:00.000Z/);
  });
  it('shutdown shares the budget', () => {
    const config = testConfig({ actions: ['shutdown'] });
    assert.deepEqual(decide(snap({ config, deviceTags: { 'agent.shutdown': 's' }, budget: { max: 1, used: 1, releaseAtWall: T0 } })).map(what), ['defer']);
  });
  it('a deferred token is not deferred again, and runs when the budget returns', () => {
    const detail = `reboot budget spent (3 of 3 in 24 h); runs after ${new Date(T0).toISOString()}`;
    const journal = [entry({ command: 'reboot', token: 'r4', state: 'deferred', detail })];
    assert.deepEqual(decide(snap({ deviceTags: tags, journal, budget: { max: 3, used: 3, releaseAtWall: T0 } })), []);
    assert.deepEqual(decide(snap({ deviceTags: tags, journal, budget: { max: 3, used: 2, releaseAtWall: null } })).map(what), ['reboot']);
  });
  it('other commands ignore the budget', () => {
    assert.deepEqual(decide(snap({ deviceTags: { 'agent.restart': 'x' }, budget: { max: 0, used: 0, releaseAtWall: null } })).map(what), ['restart']);
  });
});

describe('decide(): malformed values are rejected with a detail', () => {
  const long = 'x'.repeat(10_000);
  const table: { name: string; key: string; value: string; token: string; detail: RegExp }[] = [
    { name: 'empty', key: 'agent.reboot', value: '', token: invalidToken(''), detail: /empty value/ },
    { name: 'blank', key: 'agent.reboot', value: '   ', token: invalidToken('   '), detail: /empty value/ },
    { name: 'unknown command', key: 'agent.explode', value: 't1', token: 't1', detail: /unknown command "explode"/ },
    { name: 'unknown service', key: 'agent.restart-service', value: 't1 nope', token: 't1', detail: /unknown service "nope"; known: main, fleet-agent/ },
    { name: 'missing service', key: 'agent.stop-service', value: 't1', token: 't1', detail: /missing service/ },
    { name: 'token with odd characters', key: 'agent.reboot', value: 'to$ken', token: invalidToken('to$ken'), detail: /token may only hold/ },
    { name: 'token longer than 64', key: 'agent.reboot', value: 'a'.repeat(65), token: invalidToken('a'.repeat(65)), detail: /longer than 64/ },
    { name: 'token with spaces (extra words)', key: 'agent.reboot', value: 'my token', token: 'my', detail: /unexpected "token"/ },
    { name: 'extra word after force now', key: 'agent.reboot', value: 't1 force now later', token: 't1', detail: /unexpected "later"/ },
    { name: 'now twice', key: 'agent.reboot', value: 't1 now now', token: 't1', detail: /unexpected "now"/ },
    { name: 'identify takes no force', key: 'agent.identify', value: 't1 force', token: 't1', detail: /unexpected "force"/ },
    { name: '10,000-character value', key: 'agent.reboot', value: long, token: invalidToken(long), detail: /value too long \(10000 characters/ },
    { name: 'force without token', key: 'agent.reboot', value: 'force', token: invalidToken('force'), detail: /missing token/ },
    { name: 'now as the token (a reserved word)', key: 'agent.reboot', value: 'now', token: invalidToken('now'), detail: /missing token \("now" is a reserved word\)/ },
    { name: 'abort as the token (a reserved word)', key: 'agent.restart', value: 'abort force', token: invalidToken('abort force'), detail: /missing token \("abort" is a reserved word\)/ },
  ];
  for (const row of table) {
    it(row.name, () => {
      const out = decide(snap({ deviceTags: { [row.key]: row.value } }));
      assert.equal(out.length, 1);
      const action = out[0]!;
      assert.equal(action.kind, 'reject');
      assert.equal(action.token, row.token);
      assert.match((action as { detail: string }).detail, row.detail);
    });
  }
  it('an image id that is not one of the app\'s is rejected, naming the known ids', () => {
    const [action] = decide(snap({ deviceTags: { 'agent.stop-service': 'i2 4242' } }));
    assert.equal(action?.kind, 'reject');
    assert.match((action as { detail: string }).detail, /^unknown service or image id "4242"; known: main, fleet-agent; image ids: 1001 \(main\), 1002 \(fleet-agent\)$/);
  });
  it('an image id waits (no action, no ack) while the supervisor cannot name it, and runs once it can', () => {
    const tags = { 'agent.stop-service': 'i3 1001' };
    assert.deepEqual(decide(snap({ deviceTags: tags, services: null, serviceImages: null })), []);
    assert.deepEqual(decide(snap({ deviceTags: tags, serviceImages: null })), []);
    assert.deepEqual(decide(snap({ deviceTags: tags })).map((a) => a.services), [['main']]);
  });
  it('image ids are needed only for a tag naming an unresolved one whose token is not in the journal', () => {
    const tags = { 'agent.stop-service': 'i4 1001', 'agent.restart-service': 'n1 main' };
    assert.equal(needsImageIds(snap({ deviceTags: tags, serviceImages: null })), true);
    assert.equal(needsImageIds(snap({ deviceTags: tags })), false, 'already resolved');
    assert.equal(needsImageIds(snap({ deviceTags: { 'agent.restart-service': 'n1 main' }, serviceImages: null })), false, 'names only');
    const journal = [entry({ command: 'stop-service', token: 'i4', state: 'done' })];
    assert.equal(needsImageIds(snap({ deviceTags: tags, serviceImages: null, journal })), false, 'token already recorded');
    assert.equal(needsImageIds(snap({ deviceTags: { 'other.stop-service': 'i5 1001' }, serviceImages: null })), false, 'another prefix');
  });
  it('service names are not checked while the supervisor state is unknown', () => {
    const parsed = parseCommand('restart-service', 't1 whatever', null);
    assert.equal(parsed.ok, true);
  });
  it('a malformed value is rejected only once', () => {
    const journal = [entry({ command: 'reboot', token: invalidToken(long), state: 'rejected' })];
    assert.deepEqual(decide(snap({ deviceTags: { 'agent.reboot': long }, journal })), []);
  });
});

describe('decide() sees a frozen copy', () => {
  it('makeSnapshot freezes every level and copies its inputs, so decide() cannot change them', () => {
    const deviceTags: Record<string, string> = { 'agent.reboot': 'a', 'agent.identify': 'b' };
    const journal = [entry({ command: 'restart', token: 'r1', state: 'done' })];
    const s = snap({ deviceTags, journal });
    for (const part of [s, s.deviceTags, s.fleetTags, s.services, s.journal, s.journal[0], s.budget]) assert.equal(Object.isFrozen(part), true);
    deviceTags['agent.update'] = 'u1';
    journal.push(entry({ command: 'reboot', token: 'a', state: 'done' }));
    assert.deepEqual(decide(s).map(what).sort(), ['identify', 'reboot'], 'the tag and the entry added to the inputs afterwards are not seen');
  });
});
