import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/lib/errors.js';
import { behaviourLines, DEMO_OFFLINE_REBOOT, DEMO_WATCHDOG, nextMinuteCron, reportLine } from '../../src/sim/demo-behaviours.js';

const target = { cloudUrl: 'http://127.0.0.1:4000', operatorKey: 'opkey', deviceId: 1 };

describe('what the demo prints about the behaviours', () => {
  it('the reboot schedule\'s slot is the first whole UTC minute at least a minute away', () => {
    const table: Array<[string, string, string]> = [
      ['2026-03-01T12:34:00.000Z', '35 12 * * *', '2026-03-01T12:35:00.000Z'],
      ['2026-03-01T12:34:00.001Z', '36 12 * * *', '2026-03-01T12:36:00.000Z'],
      ['2026-03-01T12:34:59.000Z', '36 12 * * *', '2026-03-01T12:36:00.000Z'],
      ['2026-03-01T23:59:30.000Z', '1 0 * * *', '2026-03-02T00:01:00.000Z'],
    ];
    for (const [now, cron, at] of table) assert.deepEqual(nextMinuteCron(Date.parse(now)), { cron, at: Date.parse(at) }, now);
  });

  it('every setting it suggests is one the agent accepts; the offline reboot is the shortest there is', () => {
    const { cron } = nextMinuteCron(Date.parse('2026-03-01T12:34:00Z'));
    const config = loadConfig({ ...DEMO_WATCHDOG, AGENT_REBOOT_SCHEDULE: cron, AGENT_SCHEDULE_SPREAD: '0', AGENT_OFFLINE_REBOOT: DEMO_OFFLINE_REBOOT });
    assert.equal(config.watchdog, 'all');
    assert.equal(config.scheduleSpreadMs, 0);
    assert.equal(config.offlineRebootMs, 10 * 60_000);
    assert.throws(() => loadConfig({ AGENT_OFFLINE_REBOOT: `${(config.offlineRebootMs ?? 0) / 1000 - 1}s` }), ConfigError, 'one second less is refused');
    assert.throws(() => loadConfig({ AGENT_WATCHDOG_INTERVAL: '4s' }), ConfigError, 'the demo\'s watchdog interval is the shortest too');
  });

  it('the lines set the tags with curl as an operator; the watchdog line says whether it is on', () => {
    const on = behaviourLines(target, { prefix: 'agent.', watchdog: 'all', watchdogInterval: '5s', checked: 'main' }, Date.parse('2026-03-01T12:34:10Z'));
    const bodies = on.flatMap((l) => /-d '(\{.*\})'/.exec(l)?.[1] ?? []).map((b) => JSON.parse(b) as unknown);
    assert.deepEqual(bodies, [
      { device: 1, tag_key: 'agent.config.schedule-spread', value: '0' },
      { device: 1, tag_key: 'agent.config.reboot-schedule', value: '36 12 * * *' },
      { device: 1, tag_key: 'agent.config.offline-reboot', value: '10m' },
    ]);
    assert.ok(on.some((l) => l.includes('reboot at 12:36 UTC')));
    assert.ok(on.some((l) => l.includes('AGENT_WATCHDOG=all, a look every 5s, main\'s check URL in AGENT_CHECK_MAIN')));
    assert.ok(on.some((l) => l.trim().startsWith('hang main')));
    const off = behaviourLines(target, { prefix: 'x.', watchdog: undefined, watchdogInterval: undefined, checked: undefined }, 0);
    assert.ok(off.some((l) => l.includes('Watchdog (off here: set AGENT_WATCHDOG=all')));
    assert.ok(!off.some((l) => l.trim().startsWith('hang main')), 'no check URL: a hang is not found');
    assert.ok(off.some((l) => l.includes('"tag_key":"x.config.reboot-schedule"')), 'the tag prefix in effect');
  });

  it('acks and the behaviours\' reports get lines of their own; other tags none', () => {
    assert.deepEqual(reportLine('agent.watchdog.last', 'restart-service main done 2026-03-01T12:00:00.000Z', 'agent.'), {
      fields: { behaviour: 'watchdog' }, text: 'behaviour   watchdog: restart-service main done 2026-03-01T12:00:00.000Z',
    });
    assert.deepEqual(reportLine('agent.reboot.ack', 'demo1 done 2026-03-01T12:00:00.000Z', 'agent.'), {
      fields: { command: 'reboot' }, text: 'ack         reboot: demo1 done 2026-03-01T12:00:00.000Z',
    });
    assert.equal(reportLine('agent.health', 'ok', 'agent.'), undefined);
    assert.equal(reportLine('agent.config.reboot-schedule', '0 3 * * *', 'agent.'), undefined);
    assert.equal(reportLine('other.watchdog.last', 'x', 'agent.'), undefined);
  });
});
