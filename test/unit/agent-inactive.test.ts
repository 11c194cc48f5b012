import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inactiveSettings } from '../../src/agent/inactive.js';
import { loadConfig } from '../../src/config/load.js';

describe('settings accepted but not active yet', () => {
  it('none are reported at their defaults', () => {
    assert.deepEqual(inactiveSettings(loadConfig({})), []);
  });
  it('each one set is named by its variable', () => {
    const config = loadConfig({ AGENT_WATCHDOG: 'all', AGENT_REBOOT_SCHEDULE: '0 3 * * *', AGENT_CHECK_MAIN: 'http://127.0.0.1:80/health', AGENT_POLL_INTERVAL: '1m' });
    assert.deepEqual(inactiveSettings(config).sort(), ['AGENT_CHECK_<SERVICE>', 'AGENT_REBOOT_SCHEDULE', 'AGENT_WATCHDOG']);
  });
});
