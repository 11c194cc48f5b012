import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inactiveSettings, notActedOn } from '../../src/agent/inactive.js';
import { buildStatus } from '../../src/agent/status.js';
import { loadConfig } from '../../src/config/load.js';

describe('settings accepted but not active yet', () => {
  it('none are reported at their defaults', () => {
    assert.deepEqual(inactiveSettings(loadConfig({})), []);
  });
  it('each one set is named by its variable; the behaviours\' and log forwarding\'s settings are active now', () => {
    const config = loadConfig({
      AGENT_WATCHDOG: 'all', AGENT_REBOOT_SCHEDULE: '0 3 * * *', AGENT_CHECK_MAIN: 'http://127.0.0.1:80/health', AGENT_OFFLINE_REBOOT: '6h',
      AGENT_POLL_INTERVAL: '1m', AGENT_LOGS_FORWARD: 'cloud', AGENT_METRICS_INTERVAL: '30s',
    });
    assert.deepEqual(inactiveSettings(config).sort(), ['AGENT_METRICS_INTERVAL']);
    assert.deepEqual(notActedOn(config), { AGENT_METRICS_INTERVAL: '30s' });
  });
  it('/status lists them under notActedOn and never among the settings in effect', () => {
    const config = loadConfig({ AGENT_METRICS_INTERVAL: '30s', AGENT_LOGS_FORWARD: 'cloud', AGENT_WATCHDOG: 'main' });
    const status = buildStatus({
      health: { state: 'ok', reasons: [] }, version: '1', config, lastGoodPollWall: undefined, lastPollError: undefined, failures: 0,
      supervisorReachable: true, entries: [], journalPath: '/data/j', journalWritable: true, budget: { max: 3, used: 0, releaseAtWall: null }, behaviours: [],
    });
    assert.deepEqual(status.notActedOn, { AGENT_METRICS_INTERVAL: '30s' });
    assert.deepEqual(status.config.logsForward, ['cloud']);
    assert.equal('metricsIntervalMs' in status.config, false);
    assert.deepEqual(status.config.watchdog, ['main']);
  });
});
