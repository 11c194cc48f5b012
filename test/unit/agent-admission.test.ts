import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit, type Proposed } from '../../src/agent/admission.js';
import { behaviourKey, type Intent, type Origin } from '../../src/agent/intent.js';
import { entry, snap, testConfig, what } from '../helpers/agent-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const reboot = (origin: Origin, key: string): Intent => ({ key, origin, command: 'reboot', args: { services: [] }, force: false });
const from = (name: Origin, level: boolean, ...intents: Intent[]): Proposed => ({ behaviour: { name, level }, proposals: intents.map((intent) => ({ intent })) });
const brief = (actions: ReturnType<typeof admit>) => actions.map((a) => [what(a), a.origin, a.token]);

describe('admit(): every origin through the same rules', () => {
  it('the reboot budget is shared: an operator reboot and a scheduled one with a budget of 1 → one runs, one is deferred', () => {
    const s = snap({ budget: { max: 1, used: 0, releaseAtWall: null } });
    const out = admit(s, [from('operator', true, reboot('operator', 'r1')), from('reboot-schedule', false, reboot('reboot-schedule', behaviourKey('reboot-schedule', 'x')))]);
    assert.deepEqual(brief(out), [['reboot', 'operator', 'r1'], ['defer', 'reboot-schedule', 'reboot-schedule@x']]);
  });
  it('a behaviour\'s reboot counts pending ones of every origin (accepted, not yet sent)', () => {
    const s = snap({ budget: { max: 2, used: 1, releaseAtWall: null }, journal: [entry({ command: 'reboot', token: 'watchdog@main:0.2', origin: 'watchdog', state: 'accepted' })] });
    const out = admit(s, [from('offline-reboot', false, reboot('offline-reboot', 'offline-reboot@a'))]);
    assert.deepEqual(brief(out), [['defer', 'offline-reboot', 'offline-reboot@a']]);
    assert.match((out[0] as { detail: string }).detail, /^reboot budget spent \(2 of 2 in 24 h\); another reboot or shutdown is pending/);
  });
  it('the allow-list is for operators only: a behaviour\'s restart runs with `restart` not in AGENT_ACTIONS', () => {
    const s = snap({ config: testConfig({ actions: ['identify'] }) });
    const restart = (origin: Origin, key: string): Intent => ({ key, origin, command: 'restart', args: { services: [] }, force: false });
    const out = admit(s, [from('operator', true, restart('operator', 'o1')), from('watchdog', false, restart('watchdog', 'watchdog@main:0.1'))]);
    assert.deepEqual(out.map((a) => [a.kind, a.origin]), [['reject', 'operator'], ['run', 'watchdog']]);
  });
  it('a deferred behaviour intent its behaviour no longer proposes is resumed when the budget returns', () => {
    const journal = [entry({ command: 'reboot', token: 'offline-reboot@a', origin: 'offline-reboot', state: 'deferred', detail: 'x' })];
    const spent = admit(snap({ journal, budget: { max: 1, used: 1, releaseAtWall: T0 } }), [from('offline-reboot', false)]);
    assert.deepEqual(brief(spent), [['defer', 'offline-reboot', 'offline-reboot@a']], 'told again, with the new detail');
    const back = admit(snap({ journal, budget: { max: 1, used: 0, releaseAtWall: null } }), [from('offline-reboot', false)]);
    assert.deepEqual(brief(back), [['reboot', 'offline-reboot', 'offline-reboot@a']]);
  });
  it('a newer key of a behaviour supersedes its older deferred one (the next slot replaces a missed one); the newer one is then judged', () => {
    const journal = [entry({ command: 'reboot', token: 'reboot-schedule@d1', origin: 'reboot-schedule', state: 'deferred', detail: 'x' })];
    const out = admit(snap({ journal, budget: { max: 1, used: 1, releaseAtWall: T0 } }), [from('reboot-schedule', false, reboot('reboot-schedule', 'reboot-schedule@d2'))]);
    assert.deepEqual(out.map((a) => [a.kind, a.token, 'detail' in a ? a.detail.slice(0, 30) : '']), [
      ['supersede', 'reboot-schedule@d1', 'superseded by reboot-schedule@'],
      ['defer', 'reboot-schedule@d2', 'reboot budget spent (1 of 1 in'],
    ]);
  });
  it('a behaviour switched off (level, nothing proposed) withdraws what it left waiting', () => {
    const journal = [entry({ command: 'reboot', token: 'reboot-schedule@d1', origin: 'reboot-schedule', state: 'deferred', detail: 'x' })];
    const out = admit(snap({ journal }), [{ behaviour: { name: 'reboot-schedule', level: true }, proposals: [] }]);
    assert.deepEqual(out.map((a) => [a.kind, a.token, 'detail' in a ? a.detail : '']), [['supersede', 'reboot-schedule@d1', 'withdrawn: no longer wanted']]);
  });
  it('an operator\'s tags never close a behaviour\'s intent, nor the other way round', () => {
    const journal = [
      entry({ command: 'reboot', token: 'watchdog@main:0.2', origin: 'watchdog', state: 'accepted' }),
      entry({ command: 'reboot', token: 'op1', state: 'accepted' }),
    ];
    const out = admit(snap({ journal, budget: { max: 5, used: 0, releaseAtWall: null } }), [from('operator', true, reboot('operator', 'op1'))]);
    assert.deepEqual(brief(out), [['reboot', 'operator', 'op1']], 'the watchdog\'s entry is not the operator\'s to withdraw');
  });
  it('already finished, running, or queued: nothing; refused: rejected; held: nothing', () => {
    const journal = [entry({ command: 'reboot', token: 'a', state: 'done' }), entry({ command: 'reboot', token: 'b', state: 'running', sending: true })];
    const s = snap({ journal, inProgress: new Set(['identify q']) });
    const identify: Intent = { key: 'q', origin: 'operator', command: 'identify', args: { services: [] }, force: false };
    const out = admit(s, [{
      behaviour: { name: 'operator', level: true },
      proposals: [{ intent: reboot('operator', 'a') }, { intent: reboot('operator', 'b') }, { intent: identify }, { intent: reboot('reboot-schedule', 'reboot-schedule@m'), refuse: 'missed' }, { intent: reboot('operator', 'h'), hold: true }],
    }]);
    assert.deepEqual(out.map((a) => [a.kind, a.token]), [['reject', 'reboot-schedule@m']]);
  });
});
