import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLive } from '../../src/config/live.js';
import { loadConfig } from '../../src/config/load.js';
import { LIVE_SETTINGS } from '../../src/config/schema.js';
import { nextWindow } from '../../src/agent/window.js';

const T = 'agent.config.poll-interval';

describe('applyLive precedence', () => {
  // device tag, fleet tag, env → expected value and source
  const table: [string | undefined, string | undefined, string | undefined, number, string][] = [
    [undefined, undefined, undefined, 300_000, 'default'],
    [undefined, undefined, '2m', 120_000, 'env'],
    [undefined, '3m', '2m', 180_000, 'fleet-tag'],
    ['4m', '3m', '2m', 240_000, 'device-tag'],
    ['4m', undefined, undefined, 240_000, 'device-tag'],
    [undefined, '3m', undefined, 180_000, 'fleet-tag'],
    ['', '3m', '2m', 180_000, 'fleet-tag'],
    ['  ', '', '2m', 120_000, 'env'],
  ];
  for (const [device, fleet, env, ms, source] of table) {
    it(`device=${String(device)} fleet=${String(fleet)} env=${String(env)} → ${ms} from ${source}`, () => {
      const base = loadConfig(env === undefined ? {} : { AGENT_POLL_INTERVAL: env });
      const result = applyLive(base, device === undefined ? {} : { [T]: device }, fleet === undefined ? {} : { [T]: fleet });
      assert.equal(result.config.pollIntervalMs, ms);
      assert.equal(result.sources.pollIntervalMs, source);
      assert.deepEqual(result.problems, []);
    });
  }
  it('applies every live setting from tags and leaves the rest alone', () => {
    const base = loadConfig({ AGENT_HTTP_PORT: '9000' });
    const tags = {
      'agent.config.metrics-interval': '30s',
      'agent.config.report': 'off',
      'agent.config.actions': 'reboot,purge',
      'agent.config.max-reboots-per-day': '1',
      'agent.config.lock-wait': '5m',
      'agent.config.reboot-schedule': '30 4 * * SUN',
      'agent.config.schedule-spread': '0',
      'agent.config.watchdog': 'main',
      'agent.config.watchdog-ladder': 'reboot',
      'agent.config.offline-reboot': '12h',
      'agent.config.watchdog-interval': '10s',
      'agent.config.log-level': 'warn',
      'agent.config.logs-forward': 'cloud',
      'agent.config.logs-units': 'kernel',
      'agent.config.logs-match': 'oom',
      'agent.config.maintenance-window': 'Sat 23:00-02:00',
      'agent.config.fleet-commands': 'off',
    };
    const { config, problems, sources } = applyLive(base, tags, {});
    assert.deepEqual(problems, []);
    assert.deepEqual(
      { ...config },
      {
        ...base, metricsIntervalMs: 30_000, report: false, actions: ['reboot', 'purge'], maxRebootsPerDay: 1, lockWaitMs: 300_000,
        rebootSchedule: '30 4 * * SUN', scheduleSpreadMs: 0, watchdog: ['main'], watchdogLadder: ['reboot'], offlineRebootMs: 43_200_000,
        watchdogIntervalMs: 10_000, logLevel: 'warn', logsForward: ['cloud'], logsUnits: ['kernel'], logsMatch: 'oom',
        maintenanceWindow: [{ days: [5], start: 23 * 60, end: 2 * 60 }], fleetCommands: false,
      },
    );
    assert.ok(Object.isFrozen(config));
    assert.equal(sources.httpPort, 'env');
    assert.equal(sources.dataDir, 'default');
    assert.equal(sources.logLevel, 'device-tag');
    assert.equal(LIVE_SETTINGS.length, Object.keys(tags).length + 1);
  });
  it('turns an optional setting off with a tag', () => {
    const base = loadConfig({ AGENT_REBOOT_SCHEDULE: '0 3 * * *', AGENT_WATCHDOG: 'all' });
    const { config } = applyLive(base, { 'agent.config.reboot-schedule': 'off' }, { 'agent.config.watchdog': 'off' });
    assert.equal(config.rebootSchedule, null);
    assert.equal(config.watchdog, null);
  });
  it('follows the tag prefix', () => {
    const base = loadConfig({ AGENT_TAG_PREFIX: 'fa.' });
    const result = applyLive(base, { 'fa.config.log-level': 'debug', 'agent.config.log-level': 'trace' }, {});
    assert.equal(result.config.logLevel, 'debug');
    assert.deepEqual(result.problems, []);
  });
  it('returns to env or default when a tag is removed', () => {
    const base = loadConfig({ AGENT_LOG_LEVEL: 'warn' });
    const first = applyLive(base, { 'agent.config.log-level': 'debug' }, {});
    const second = applyLive(base, {}, {}, first.config);
    assert.equal(second.config.logLevel, 'warn');
    assert.equal(second.sources.logLevel, 'env');
  });
});

describe('applyLive problems', () => {
  it('keeps the previous value for a bad tag and reports it', () => {
    const base = loadConfig({});
    const first = applyLive(base, { [T]: '1m' }, {});
    assert.equal(first.config.pollIntervalMs, 60_000);
    const second = applyLive(base, { [T]: '3s' }, {}, first.config);
    assert.equal(second.config.pollIntervalMs, 60_000);
    assert.deepEqual(second.problems, ['tag agent.config.poll-interval="3s": must be at least 10s; keeping 1m']);
    assert.equal(second.sources.pollIntervalMs, undefined);
  });
  it('keeps the base value when there is no previous one', () => {
    const base = loadConfig({ AGENT_POLL_INTERVAL: '10m' });
    const result = applyLive(base, {}, { [T]: 'soon', 'agent.config.report': 'perhaps' });
    assert.equal(result.config.pollIntervalMs, 600_000);
    assert.equal(result.config.report, true);
    assert.equal(result.sources.pollIntervalMs, 'env');
    assert.deepEqual(result.problems, [
      'fleet tag agent.config.poll-interval="soon": must be a duration like 90s, 5m, 2h, 1d or 1h30m (a bare number is seconds); keeping 10m',
      'fleet tag agent.config.report="perhaps": must be a boolean: 1/true/on/yes or 0/false/off/no; keeping on',
    ]);
  });
  it('a bad device tag keeps the previous value rather than the fleet tag', () => {
    const base = loadConfig({});
    const result = applyLive(base, { 'agent.config.actions': 'reboot,nuke' }, { 'agent.config.actions': 'reboot' });
    assert.deepEqual(result.config.actions, base.actions);
    assert.deepEqual(result.problems, [
      'tag agent.config.actions="reboot,nuke": unknown command "nuke"; expected a comma list of reboot, shutdown, restart, restart-service, stop-service, start-service, purge, identify, update; keeping reboot,restart,restart-service,stop-service,start-service,identify,update',
    ]);
  });
  it('reports unknown config tags, with hints, and non-live settings', () => {
    const base = loadConfig({});
    const result = applyLive(
      base,
      { 'agent.config.pol-interval': '1m', 'agent.config.http-port': '80', 'agent.reboot': 'abc', 'other.config.x': '1' },
      { 'agent.config.colour': 'blue' },
    );
    assert.deepEqual(result.problems, [
      'tag agent.config.http-port: not a live setting; set AGENT_HTTP_PORT instead',
      'tag agent.config.pol-interval: unknown setting; did you mean agent.config.poll-interval?',
      'fleet tag agent.config.colour: unknown setting',
    ]);
    assert.deepEqual(result.config, base);
  });
  it('clips long tag values and hides sink credentials', () => {
    const base = loadConfig({});
    const result = applyLive(base, { 'agent.config.log-level': 'v'.repeat(10_000), 'agent.config.logs-forward': 'loki+ftp://u:hunter2@h/' }, {});
    assert.equal(result.problems.length, 2);
    for (const p of result.problems) assert.ok(p.length < 300 && !p.includes('hunter2'), p);
  });
});

describe('applyLive: maintenance window and fleet commands', () => {
  const W = 'agent.config.maintenance-window';
  const F = 'agent.config.fleet-commands';
  it('a device tag sets the window, read in the environment\'s TZ; a fleet tag opts the fleet out of fleet commands', () => {
    const base = loadConfig({ TZ: 'America/New_York', AGENT_MAINTENANCE_WINDOW: 'daily 01:00-02:00' });
    const { config, problems, sources } = applyLive(base, { [W]: 'Sun 01:15-01:45' }, { [F]: 'off', [W]: 'Sat 03:00-04:00' });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.maintenanceWindow, [{ days: [6], start: 75, end: 105 }]);
    assert.equal(config.fleetCommands, false);
    assert.deepEqual([sources.maintenanceWindow, sources.fleetCommands, sources.timeZone], ['device-tag', 'fleet-tag', 'env']);
    // The night New York's clocks go back: from the first 01:15 EDT to the second 01:45 EST.
    const open = nextWindow(config.maintenanceWindow ?? [], config.timeZone, Date.parse('2026-10-31T12:00Z'));
    assert.deepEqual([open?.start, open?.end], [Date.parse('2026-11-01T05:15Z'), Date.parse('2026-11-01T06:45Z')]);
  });
  it('a bad window tag keeps the last good window and says why', () => {
    const base = loadConfig({ TZ: 'Europe/Berlin' });
    const first = applyLive(base, { [W]: 'Sat 23:00-02:00', [F]: 'off' }, {});
    assert.deepEqual(first.problems, []);
    const second = applyLive(base, { [W]: 'Sat 23:00-23:00', [F]: 'maybe' }, {}, first.config);
    assert.deepEqual(second.config.maintenanceWindow, [{ days: [5], start: 1380, end: 120 }]);
    assert.equal(second.config.fleetCommands, false);
    assert.deepEqual(second.problems, [
      'tag agent.config.maintenance-window="Sat 23:00-23:00": start and end are equal: a window must have a length (the whole day is 00:00-24:00); keeping Sat 23:00-02:00',
      'tag agent.config.fleet-commands="maybe": must be a boolean: 1/true/on/yes or 0/false/off/no; keeping off',
    ]);
    const fresh = applyLive(base, {}, { [W]: 'Mon-Fry 01:00-02:00' });
    assert.equal(fresh.config.maintenanceWindow, null);
    assert.deepEqual(fresh.problems, [
      'fleet tag agent.config.maintenance-window="Mon-Fry 01:00-02:00": unknown day "Fry"; days are Mon, Tue, Wed, Thu, Fri, Sat, Sun (or full names), ranges like Mon-Fri, or daily; keeping off',
    ]);
  });
  it('the tag off turns a window from the environment off', () => {
    const base = loadConfig({ AGENT_MAINTENANCE_WINDOW: 'Mon-Fri 02:00-05:00' });
    assert.equal(applyLive(base, { [W]: 'off' }, {}).config.maintenanceWindow, null);
  });
});
