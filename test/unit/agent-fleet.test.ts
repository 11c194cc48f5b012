/** Fleet commands, waves and maintenance windows as the admission step answers them (pure: snapshots in, actions out). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ackTags } from '../../src/agent/acks.js';
import { admit, type Proposed } from '../../src/agent/admission.js';
import { fleet, parseFleetCommand } from '../../src/agent/behaviours/fleet.js';
import { offlineReboot } from '../../src/agent/behaviours/offline-reboot.js';
import { operator } from '../../src/agent/behaviours/operator.js';
import { watchdog } from '../../src/agent/behaviours/watchdog.js';
import type { Action } from '../../src/agent/actions.js';
import type { Intent } from '../../src/agent/intent.js';
import type { Snapshot } from '../../src/agent/snapshot.js';
import { parseMaintenanceWindow } from '../../src/config/parsers.js';
import { entry, snap, testConfig } from '../helpers/agent-fixtures.js';

const MIN = 60_000;
/** A Thursday, 12:00 UTC. */
const NOON = Date.UTC(2026, 0, 1, 12);
const iso = (t: number) => new Date(t).toISOString();

/** The wave of a device, computed here from the rule's words (PRODUCT §3), not with the agent's code. */
function waveHere(uuid: string, token: string, percent: number): number {
  const b = createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0);
  return Math.floor((Number(b) / 2 ** 64) * 100 / percent);
}

/** A uuid whose wave in a 10 % rollout of `token` is `k`. */
function uuidInWave(token: string, k: number): string {
  for (let i = 0; ; i++) {
    const uuid = createHash('md5').update(String(i)).digest('hex');
    if (waveHere(uuid, token, 10) === k) return uuid;
  }
}

/** The fleet's and the device's tags through their behaviours and the admission step. */
function decideAll(s: Snapshot, extra: Proposed[] = []): Action[] {
  const mine: Proposed[] = [{ behaviour: operator, proposals: operator.decide(s).proposals }];
  if (fleet.enabled(s)) mine.push({ behaviour: fleet, proposals: fleet.decide(s).proposals });
  else mine.push({ behaviour: { name: 'fleet', level: true }, proposals: [], off: true });
  return admit(s, [...mine, ...extra]);
}

const brief = (a: Action) => [a.kind, a.command, a.token, 'detail' in a ? a.detail : '', 'startAt' in a ? iso(a.startAt) : ''];

describe('fleet commands: parsing', () => {
  it('reads rollout=, from=, services, force and now in any place after the token', () => {
    const p = parseFleetCommand('restart-service', 'T1 rollout=25%/30s main force now from=2026-12-05T08:00Z', ['main'], null);
    assert.ok(p.ok && !('abort' in p));
    assert.deepEqual(p.intent, { key: 'T1', origin: 'fleet', command: 'restart-service', args: { services: ['main'] }, force: true, now: true });
    assert.deepEqual(p.rollout, { percent: 25, periodMs: 30_000 });
    assert.equal(p.fromMs, Date.UTC(2026, 11, 5, 8));
  });
  it('reads `<token> abort`; an abort of a made-up command is refused as the command would be', () => {
    assert.deepEqual(parseFleetCommand('reboot', 'T1 abort', null), { ok: true, abort: true, command: 'reboot', token: 'T1' });
    const made = parseFleetCommand('explode', 'T1 abort', null);
    assert.equal(made.ok, false);
    assert.match((made as { detail: string }).detail, /^unknown command "explode"/);
  });
  const bad: [string, RegExp][] = [
    ['T1 rollout=10', /rollout=10: expected <percent>%\/<period>/],
    ['T1 rollout=0%/1h', /between 0 \(excluded\) and 100/],
    ['T1 rollout=10%/5', /the period needs a unit/],
    ['T1 from=2026-12-05', /a date alone is not a time/],
    ['T1 from=2026-12-05T08:00+01:00', /must be UTC/],
    ['T1 rollout=10%/1h rollout=20%/1h', /rollout= given twice/],
    ['T1 speed=fast', /unknown word; a fleet command takes rollout=/],
    ['T1 abort now', /unexpected "abort"/],
    ['now abort', /missing token \("now" is a reserved word\)/],
  ];
  for (const [value, reason] of bad) {
    it(`${JSON.stringify(value)} is rejected with its reason`, () => {
      const p = parseFleetCommand('reboot', value, null);
      assert.equal(p.ok, false);
      assert.match((p as { detail: string }).detail, reason);
      if (!value.startsWith('now')) assert.equal((p as { token: string }).token, 'T1');
    });
  }
  it('a malformed fleet value is recorded rejected in the device\'s own ack slot', () => {
    const out = decideAll(snap({ fleetTags: { 'agent.reboot': 'T1 rollout=150%/1h' } }));
    assert.deepEqual(out.map(brief), [['reject', 'reboot', 'T1', 'rollout=150%/1h: the percent must be between 0 (excluded) and 100', '']]);
    assert.equal(out[0]?.origin, 'fleet');
  });
});

describe('fleet commands: waves', () => {
  const token = 'R1';
  it('each device waits for its own wave: t0 + k × period, acked `scheduled <start> wave k+1/n`', () => {
    for (const k of [0, 1, 4, 9]) {
      const s = snap({ wall: NOON, uuid: uuidInWave(token, k), fleetTags: { 'agent.reboot': `${token} rollout=10%/10m` } });
      const out = decideAll(s);
      if (k === 0) assert.deepEqual(out.map(brief), [['run', 'reboot', token, '', '']], 'the first wave starts at its first sight');
      else assert.deepEqual(out.map(brief), [['schedule', 'reboot', token, `wave ${k + 1}/10`, iso(NOON + k * 10 * MIN)]]);
    }
  });
  it('t0 is the first sight kept in the journal: a later look keeps the start; from= overrides it', () => {
    const uuid = uuidInWave(token, 3);
    const journal = [entry({ command: 'reboot', token, origin: 'fleet', state: 'scheduled', detail: 'wave 4/10', t0: NOON, startAt: NOON + 30 * MIN, reason: 'wave' })];
    const later = snap({ wall: NOON + 10 * MIN, uuid, journal, fleetTags: { 'agent.reboot': `${token} rollout=10%/10m` } });
    assert.deepEqual(decideAll(later), [], 'already recorded with the same start: nothing to write');
    const due = snap({ wall: NOON + 30 * MIN, uuid, journal, fleetTags: { 'agent.reboot': `${token} rollout=10%/10m` } });
    assert.deepEqual(decideAll(due).map(brief), [['run', 'reboot', token, '', '']]);
    const from = snap({ wall: NOON, uuid, journal, fleetTags: { 'agent.reboot': `${token} rollout=10%/10m from=2026-01-01T13:00Z` } });
    assert.deepEqual(decideAll(from).map(brief), [['schedule', 'reboot', token, 'wave 4/10', iso(Date.UTC(2026, 0, 1, 13, 30))]]);
  });
  it('from= alone is one wave for every device; a from= in the past means now', () => {
    const ahead = decideAll(snap({ wall: NOON, fleetTags: { 'agent.identify': 'I1 from=2026-01-01T15:00Z' } }));
    assert.deepEqual(ahead.map(brief), [['schedule', 'identify', 'I1', 'wave 1/1', iso(Date.UTC(2026, 0, 1, 15))]]);
    const past = decideAll(snap({ wall: NOON, fleetTags: { 'agent.identify': 'I1 from=2025-12-01T00:00Z' } }));
    assert.deepEqual(past.map(brief), [['run', 'identify', 'I1', '', '']]);
  });
  it('without rollout= every device runs it at its next poll; the allow-list applies as to a device tag', () => {
    assert.deepEqual(decideAll(snap({ fleetTags: { 'agent.identify': 'I1' } })).map(brief), [['run', 'identify', 'I1', '', '']]);
    const out = decideAll(snap({ config: testConfig({ actions: ['identify'] }), fleetTags: { 'agent.reboot': 'X1' } }));
    assert.deepEqual(out.map(brief), [['reject', 'reboot', 'X1', 'reboot is not allowed here (add it to AGENT_ACTIONS)', '']]);
  });
  it('while the uuid is unknown, a rollout waits (held, not withdrawn)', () => {
    const journal = [entry({ command: 'reboot', token, origin: 'fleet', state: 'scheduled', detail: 'wave 2/10', t0: NOON, startAt: NOON + 10 * MIN, reason: 'wave' })];
    assert.deepEqual(decideAll(snap({ uuid: '', journal, fleetTags: { 'agent.reboot': `${token} rollout=10%/10m` } })), []);
  });
  it('one token namespace per command and device: a token done by a device tag never runs again from the fleet', () => {
    const journal = [entry({ command: 'reboot', token, state: 'done' })];
    assert.deepEqual(decideAll(snap({ journal, fleetTags: { 'agent.reboot': token } })), []);
    // Waiting under the device's tag, which is then removed while the fleet's tag names the token:
    // not withdrawn (the fleet's tag decides when it starts).
    const open = [entry({ command: 'reboot', token, state: 'scheduled', startAt: NOON + 10 * MIN, reason: 'window', detail: 'window' })];
    const claimed = decideAll(snap({ wall: NOON, uuid: uuidInWave(token, 1), journal: open, fleetTags: { 'agent.reboot': `${token} rollout=10%/10m` } }));
    assert.deepEqual(claimed.map(brief), [['schedule', 'reboot', token, 'wave 2/10', iso(NOON + 10 * MIN)]]);
    // Named by neither tag any more: withdrawn.
    assert.deepEqual(decideAll(snap({ wall: NOON, journal: open })).map(brief), [['supersede', 'reboot', token, 'withdrawn: the tag was removed before it ran', '']]);
  });
});

describe('fleet commands: abort', () => {
  const waiting = entry({ command: 'reboot', token: 'R1', origin: 'fleet', state: 'scheduled', detail: 'wave 5/10', t0: NOON, startAt: NOON + 40 * MIN, reason: 'wave' });
  it('`<token> abort` cancels what has not started; a started one finishes; one never seen is recorded cancelled', () => {
    assert.deepEqual(decideAll(snap({ journal: [waiting], fleetTags: { 'agent.reboot': 'R1 abort' } })).map(brief), [['cancel', 'reboot', 'R1', 'the fleet rollout was aborted (R1 abort)', '']]);
    const running = { ...waiting, state: 'running' as const, sending: true };
    assert.deepEqual(decideAll(snap({ journal: [running], fleetTags: { 'agent.reboot': 'R1 abort' } })), []);
    const done = { ...waiting, state: 'done' as const };
    assert.deepEqual(decideAll(snap({ journal: [done], fleetTags: { 'agent.reboot': 'R1 abort' } })), []);
    assert.deepEqual(decideAll(snap({ fleetTags: { 'agent.reboot': 'R1 abort' } })).map((a) => a.kind), ['cancel']);
  });
  it('the fleet tag removed, or fleet commands off on this device, cancels what waits', () => {
    assert.deepEqual(decideAll(snap({ journal: [waiting] })).map(brief), [['cancel', 'reboot', 'R1', 'the fleet tag was removed before it started here', '']]);
    const off = snap({ config: testConfig({ fleetCommands: false }), journal: [waiting], fleetTags: { 'agent.reboot': 'R1 rollout=10%/10m' } });
    assert.deepEqual(decideAll(off).map(brief), [['cancel', 'reboot', 'R1', 'fleet commands are off on this device (fleet-commands=off)', '']]);
  });
  it('a new token on the fleet tag cancels the old one that waits', () => {
    const out = decideAll(snap({ wall: NOON, uuid: uuidInWave('R2', 0), journal: [waiting], fleetTags: { 'agent.reboot': 'R2 rollout=10%/10m' } }));
    assert.deepEqual(out.map(brief), [['cancel', 'reboot', 'R1', 'superseded by R2 before it started here', ''], ['run', 'reboot', 'R2', '', '']]);
  });
});

describe('maintenance windows', () => {
  // 02:00–05:00 UTC every day; at NOON the next opening is tomorrow 02:00.
  const config = testConfig({ maintenanceWindow: parseMaintenanceWindow('daily 02:00-05:00') });
  const opens = Date.UTC(2026, 0, 2, 2);
  const intent = (origin: Intent['origin'], command: Intent['command'], key: string, services: string[] = []): Intent => ({ key, origin, command, args: { services }, force: false });
  it('holds an operator\'s disruptive command until the window opens; `now` and identify start at once', () => {
    const s = snap({ wall: NOON, config, deviceTags: { 'agent.reboot': 'A', 'agent.restart': 'B now', 'agent.identify': 'C' } });
    assert.deepEqual(decideAll(s).map(brief), [
      ['run', 'identify', 'C', '', ''],
      ['schedule', 'reboot', 'A', 'window', iso(opens)],
      ['run', 'restart', 'B', '', ''],
    ]);
  });
  it('inside the window everything starts; a recorded start is not written again', () => {
    const inside = snap({ wall: opens + 30 * MIN, config, deviceTags: { 'agent.update': 'U' } });
    assert.deepEqual(decideAll(inside).map(brief), [['run', 'update', 'U', '', '']]);
    const journal = [entry({ command: 'update', token: 'U', state: 'scheduled', detail: 'window', startAt: opens, reason: 'window' })];
    assert.deepEqual(decideAll(snap({ wall: NOON, config, journal, deviceTags: { 'agent.update': 'U' } })), []);
  });
  it('each behaviour\'s own rule: the watchdog\'s restart-service and offline-reboot are not held, its restart is', () => {
    const s = snap({ wall: NOON, config });
    const out = admit(s, [
      { behaviour: watchdog, proposals: [{ intent: intent('watchdog', 'restart-service', 'watchdog@main:0.0', ['main']) }, { intent: intent('watchdog', 'restart', 'watchdog@x:0.1') }] },
      { behaviour: offlineReboot, proposals: [{ intent: intent('offline-reboot', 'reboot', 'offline-reboot@a') }] },
    ]);
    assert.deepEqual(out.map(brief), [
      ['run', 'restart-service', 'watchdog@main:0.0', '', ''],
      ['schedule', 'restart', 'watchdog@x:0.1', 'window', iso(opens)],
      ['run', 'reboot', 'offline-reboot@a', '', ''],
    ]);
  });
  it('a wave and the window combine as the later of the two', () => {
    const uuid = uuidInWave('R1', 2);
    const out = decideAll(snap({ wall: NOON, uuid, config, fleetTags: { 'agent.reboot': 'R1 rollout=10%/10m' } }));
    assert.deepEqual(out.map(brief), [['schedule', 'reboot', 'R1', 'window (wave 3/10)', iso(opens)]]);
    // A wave that starts inside the window starts at its own time.
    const early = decideAll(snap({ wall: opens - 5 * MIN, uuid, config, fleetTags: { 'agent.reboot': 'R1 rollout=10%/10m' } }));
    assert.deepEqual(early.map(brief), [['schedule', 'reboot', 'R1', 'wave 3/10', iso(opens + 15 * MIN)]]);
  });
  it('a scheduled entry is acked with its start and reason', () => {
    const e = entry({ command: 'reboot', token: 'R1', origin: 'fleet', state: 'scheduled', detail: 'wave 3/10', startAt: NOON + 20 * MIN, reason: 'wave', updatedAt: NOON });
    assert.deepEqual(ackTags([e], 'agent.'), { 'agent.reboot.ack': `R1 scheduled ${iso(NOON + 20 * MIN)} wave 3/10` });
    const w = entry({ command: 'reboot', token: 'watchdog@main:0.2', origin: 'watchdog', state: 'scheduled', detail: 'window', startAt: opens, reason: 'window', updatedAt: NOON });
    assert.deepEqual(ackTags([w], 'agent.'), { 'agent.watchdog.last': `reboot scheduled ${iso(opens)} window` });
  });
});

describe('fleet commands: one answer per token and round', () => {
  it('a token on the device\'s tag and `<token> abort` on the fleet\'s: the device\'s decides, nothing is run and cancelled at once', () => {
    const out = decideAll(snap({ deviceTags: { 'agent.identify': 'T1' }, fleetTags: { 'agent.identify': 'T1 abort' } }));
    assert.deepEqual(out.map(brief), [['run', 'identify', 'T1', '', '']]);
  });
});
