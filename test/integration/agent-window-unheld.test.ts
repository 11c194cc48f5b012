/** A maintenance window is checked and shown, and until the agent holds work for it, health says so. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WINDOW_NOT_HELD } from '../../src/agent/window.js';
import { parseMaintenanceWindow } from '../../src/config/parsers.js';
import { startWorld, type World } from '../helpers/agent-harness.js';

describe('agent: a maintenance window this version does not act on', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('is a health reason while set (not silently ignored), and none without one', async () => {
    w = await startWorld({ config: { maintenanceWindow: parseMaintenanceWindow('Mon-Fri 02:00-05:00') } });
    assert.equal(w.agent.health().state, 'degraded');
    assert.deepEqual(w.agent.health().reasons, [WINDOW_NOT_HELD]);
    await w.close();
    w = await startWorld();
    assert.equal(w.agent.health().state, 'ok', w.agent.health().reasons.join('; '));
  });
});
