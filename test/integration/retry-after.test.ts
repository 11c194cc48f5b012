/** A huge Retry-After (past what one timer can hold) is honoured only up to the ceiling, at every layer. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { Reporter } from '../../src/agent/reporter.js';
import { CloudClient } from '../../src/cloud/client.js';
import { TagWriter } from '../../src/cloud/tags.js';
import { MAX_RETRY_AFTER_MS } from '../../src/lib/backoff.js';
import { ManualClock } from '../../src/lib/clock.js';
import { HttpError } from '../../src/lib/errors.js';
import { CloudSimulator, DEMO, demoSeed } from '../../src/sim/cloud/simulator.js';

const KEY = 'itest-retry-after-key-0a1b2c3d4e';
/** The first whole second past 2^31-1 ms: a timer given this many milliseconds fires after 1 ms. */
const OVERFLOW_SECONDS = 2_147_484;

describe('a Retry-After past what a timer can hold', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function setup() {
    const clock = new ManualClock();
    const sim = new CloudSimulator({ seed: demoSeed({ deviceKey: KEY }) });
    const url = await sim.start();
    const dispatcher = new Agent();
    cleanups.push(() => sim.stop(), () => dispatcher.close());
    const client = new CloudClient({ baseUrl: url, apiKey: KEY, deviceUuid: DEMO.deviceUuid, dispatcher, clock, random: () => 0.5, maxRetries: 0 });
    return { clock, sim, client };
  }

  it('the cloud transport holds requests for at most MAX_RETRY_AFTER_MS and says so in the error', async () => {
    const { clock, sim, client } = await setup();
    sim.rateLimit({ count: 1, retryAfterSeconds: OVERFLOW_SECONDS });
    const err = await client.setTags({ 'agent.health': 'ok' }).then(() => assert.fail('expected a 429'), (e: unknown) => e);
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, MAX_RETRY_AFTER_MS);
    assert.equal(client.notBefore() - clock.now(), MAX_RETRY_AFTER_MS);
    // Refused without a request during the hold, with the time left for the caller to plan.
    const early = await client.poll().then(() => assert.fail('expected a refusal'), (e: unknown) => e);
    assert.ok(early instanceof HttpError && early.code === 'RATE_LIMITED' && (early.retryAfterMs ?? 0) <= MAX_RETRY_AFTER_MS, String(early));
    assert.equal(sim.requests.length, 1);
    await clock.advance(MAX_RETRY_AFTER_MS);
    await client.poll();
    assert.equal(sim.requests.length, 2);
  });

  it('one 429 on a tag write: the reporter writes again an hour later, not in 24.8 days', async () => {
    const { clock, sim, client } = await setup();
    const reporter = new Reporter({ tags: new TagWriter({ cloud: client, clock }), clock, batchMs: 0, random: () => 0 });
    sim.rateLimit({ count: 1, retryAfterSeconds: OVERFLOW_SECONDS });
    reporter.update({ 'agent.health': 'degraded' });
    assert.equal(await reporter.flush(), false);
    assert.equal(reporter.delayMs(), MAX_RETRY_AFTER_MS);
    await clock.advance(MAX_RETRY_AFTER_MS);
    assert.equal(await reporter.flush(), true);
    assert.deepEqual(sim.deviceTags(DEMO.deviceUuid), { 'agent.health': 'degraded' });
  });
});
