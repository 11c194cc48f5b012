import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inactiveSettings } from '../../src/agent/inactive.js';
import { loadConfig } from '../../src/config/load.js';

describe('settings accepted but not active yet', () => {
  it('none are reported at their defaults', () => {
    assert.deepEqual(inactiveSettings(loadConfig({})), []);
  });
  it('each one set is named by its variable', () => {
    const config = loadConfig({ AGENT_METRICS_INTERVAL: '30s', AGENT_LOGS_FORWARD: 'cloud', AGENT_POLL_INTERVAL: '1m' });
    assert.deepEqual(inactiveSettings(config).sort(), ['AGENT_LOGS_FORWARD', 'AGENT_METRICS_INTERVAL']);
  });
  it('the behaviours\' settings are active: not named', () => {
    const config = loadConfig({
      AGENT_WATCHDOG: 'all', AGENT_CHECK_MAIN: 'http://127.0.0.1:80/health', AGENT_WATCHDOG_LADDER: 'restart-service,reboot',
      AGENT_REBOOT_SCHEDULE: '0 3 * * *', AGENT_SCHEDULE_SPREAD: '0', AGENT_OFFLINE_REBOOT: '6h',
    });
    assert.deepEqual(inactiveSettings(config), []);
  });
});
