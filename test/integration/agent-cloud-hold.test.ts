/** The agent under a cloud Retry-After: held at most an hour, and health says why it is quiet. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MAX_RETRY_AFTER_MS } from '../../src/lib/backoff.js';
import { startWorld, type World } from '../helpers/agent-harness.js';

describe('agent: a cloud that asks for a hold past what a timer can hold', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('one 429 with Retry-After 2147484 s: health says the cloud asked for a hold; an hour later the agent polls and reports again', async () => {
    // An older supervisor: tags go to the cloud directly, so the hold covers them too.
    w = await startWorld({ supervisorVersion: '17.7.0' });
    const world = w;
    assert.equal(world.agent.health().state, 'ok');
    world.cloudSim.rateLimit({ count: 1, retryAfterSeconds: 2_147_484 });
    world.agent.pollNow();
    await world.agent.idle();
    assert.ok(world.agent.health().reasons.includes('cloud asked the agent to hold its requests (rate limited)'), world.agent.health().reasons.join('; '));
    const sent = world.cloudSim.requests.length;
    await world.step(MAX_RETRY_AFTER_MS - 60_000);
    assert.equal(world.cloudSim.requests.length, sent, 'nothing sent during the hold');
    await world.step(60_000 + 2 * world.agent.effectiveConfig().pollIntervalMs);
    assert.ok(world.cloudSim.requests.length > sent, 'polling again after the hold');
    assert.equal(world.agent.health().state, 'ok', world.agent.health().reasons.join('; '));
    assert.equal(world.tags()['agent.health'], 'ok');
  });
});
