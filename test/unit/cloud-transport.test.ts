/** The cloud client's manners: typed errors, bounded retries, Retry-After, ceiling, cap, no key anywhere. */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { KEY_REVOKED } from '../../src/cloud/client.js';
import { ManualClock } from '../../src/lib/clock.js';
import { HttpError } from '../../src/lib/errors.js';
import { DEVICE_ROW, drive, KEY, mockClient, mockCloudFixture, ORIGIN } from '../helpers/cloud-mock.js';

/** True when neither the message, the stack, nor any field of `err` holds the key. */
function keyFree(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  return !err.message.includes(KEY) && !(err.stack ?? '').includes(KEY) && !JSON.stringify(err).includes(KEY);
}

describe('CloudTransport manners (unit, MockAgent)', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });
  const { cloud, track } = mockCloudFixture(() => clock);

  it('401 after working is "key revoked", not retried, never shows the key', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 200, body: { d: [DEVICE_ROW] } } : { status: 401, body: `Unauthorized ${KEY}` }));
    await c.device();
    const err = await c.device().catch((e: unknown) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.equal(err.message, KEY_REVOKED);
    assert.ok(!err.body.includes(KEY));
    assert.equal(seen.length, 2);
  });

  it('403 and a 404 route are typed and not retried', async () => {
    let status = 403;
    const { client: c, seen } = cloud(() => ({ status, body: { error: 'no' } }));
    await assert.rejects(c.device(), { code: 'FORBIDDEN' });
    status = 404;
    await assert.rejects(c.device(), (e: unknown) => e instanceof HttpError && e.code === 'NOT_FOUND' && e.status === 404);
    assert.equal(seen.length, 2);
  });

  it('retries 5xx with bounded jittered backoff, then fails SERVER_ERROR', async () => {
    const { client: c, seen } = cloud(() => ({ status: 500, body: 'boom' }), { maxRetries: 2 });
    await assert.rejects(drive(clock, c.device()), { code: 'SERVER_ERROR' });
    assert.equal(seen.length, 3);
    // full jitter with random 0.5: 500 ms, then 1000 ms
    assert.deepEqual(seen.map((r) => r.at), [0, 500, 1500]);
  });

  it('honours Retry-After (seconds) on 429: no request inside the window, then succeeds', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 429, body: 'slow down', headers: { 'retry-after': '30' } } : { status: 200, body: { d: [DEVICE_ROW] } }));
    const device = await drive(clock, c.device());
    assert.equal(device.id, 7);
    assert.deepEqual(seen.map((r) => r.at), [0, 30_000]);
  });

  it('honours Retry-After as an HTTP-date on 503, for every later call too', async () => {
    let n = 0;
    const until = new Date(clock.wall() + 45_000).toUTCString();
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 503, body: 'busy', headers: { 'retry-after': until } } : { status: 200, body: { d: [DEVICE_ROW] } }), { maxRetries: 0 });
    await assert.rejects(c.device(), { code: 'SERVER_ERROR' });
    await drive(clock, c.device());
    // The header has whole seconds: the hold ends exactly at that instant, not a moment before.
    assert.equal(seen[1]!.at, Date.parse(until) - Date.UTC(2026, 0, 1));
  });

  it('Retry-After: 0 on a 429 storm never becomes an immediate resend', async () => {
    const { client: c, seen } = cloud(() => ({ status: 429, body: '', headers: { 'retry-after': '0' } }), { maxRetries: 3 });
    await assert.rejects(drive(clock, c.device()), { code: 'RATE_LIMITED' });
    assert.equal(seen.length, 4);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.at - seen[i - 1]!.at >= 1_000, `gap ${seen[i]!.at - seen[i - 1]!.at} ms`);
  });

  it('429 without Retry-After holds at least 60 s (with jitter)', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 429, body: '' } : { status: 200, body: { d: [DEVICE_ROW] } }));
    await drive(clock, c.device());
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.at, 90_000); // 60 s + 0.5 × 60 s
  });

  it('a 429 storm: bounded retries, RATE_LIMITED, never a request inside a window', async () => {
    const { client: c, seen } = cloud(() => ({ status: 429, body: '', headers: { 'retry-after': '20' } }), { maxRetries: 3 });
    await assert.rejects(drive(clock, c.device()), { code: 'RATE_LIMITED' });
    assert.equal(seen.length, 4);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.at - seen[i - 1]!.at >= 20_000);
  });

  it('malformed JSON is BAD_RESPONSE, not retried', async () => {
    const { client: c, seen } = cloud(() => ({ status: 200, body: `<html>${KEY}` }));
    const err = await c.device().catch((e: unknown) => e);
    assert.equal((err as { code: string }).code, 'BAD_RESPONSE');
    assert.ok(!(err as Error).message.includes(KEY));
    assert.equal(seen.length, 1);
  });

  it('refuses a body over the cap', async () => {
    const { client: c } = cloud(() => ({ status: 200, body: { d: [{ ...DEVICE_ROW, note: 'x'.repeat(5000) }] } }), { maxBodyBytes: 1024 });
    await assert.rejects(c.device(), { code: 'TOO_LARGE' });
  });

  it('keeps within the request ceiling on the injected clock', async () => {
    const { client: c, seen } = cloud(() => ({ status: 200, body: { d: [DEVICE_ROW] } }), { requestLimit: { count: 2, intervalMs: 10_000 } });
    await drive(clock, Promise.all([c.device(), c.device(), c.device(), c.device(), c.device()]));
    assert.deepEqual(seen.map((r) => r.at), [0, 0, 10_000, 10_000, 20_000]);
  });

  it('connection errors are retried, then UNREACHABLE', async () => {
    const agent = new MockAgent();
    track(agent);
    agent.disableNetConnect();
    const err = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    agent.get(ORIGIN).intercept({ path: () => true }).replyWithError(err).persist();
    const c = mockClient(clock, agent, { maxRetries: 2 });
    await assert.rejects(drive(clock, c.device()), (e: unknown) => (e as { code?: string }).code === 'UNREACHABLE' && !(e as Error).message.includes(KEY));
    assert.equal(c.requestsSent(), 3);
  });

  it('no status leaks the key: echoed in the body or a header, it is redacted from every error', async () => {
    for (const status of [400, 401, 403, 404, 409, 429, 500, 502, 503]) {
      const { client: c } = cloud(() => ({ status, body: `denied for ${KEY}`, headers: { 'x-echo': `Bearer ${KEY}`, 'retry-after': '3600' } }), { maxRetries: 0 });
      const err = await c.device().catch((e: unknown) => e);
      assert.ok(err instanceof HttpError, `${status}: ${String(err)}`);
      assert.equal(err.status, status);
      assert.ok(keyFree(err), `${status} leaks the key: ${JSON.stringify(err)}`);
      assert.match(err.body + (err.headers['x-echo'] ?? ''), /\[redacted\]/u);
    }
  });

  it('401 after working: later calls fail at once without a request until the hold ends, then one probe', async () => {
    let revoked = false;
    const { client: c, seen } = cloud(() => (revoked ? { status: 401, body: 'Unauthorized' } : { status: 200, body: { d: [DEVICE_ROW] } }), { revokedHoldMs: 60_000 });
    await c.device();
    revoked = true;
    await assert.rejects(c.poll(), { code: 'UNAUTHORIZED', message: KEY_REVOKED });
    for (let i = 0; i < 50; i++) await assert.rejects(c.tags(), { code: 'UNAUTHORIZED', message: KEY_REVOKED });
    assert.equal(seen.length, 2, 'a tight loop of callers sends nothing during the hold');
    await clock.advance(60_000);
    revoked = false;
    assert.equal((await c.device()).id, 7);
    assert.deepEqual(seen.map((r) => r.at), [0, 0, 60_000]);
  });

  it('a 401 on first use is not a revoked key: no hold, the message names the variable', async () => {
    const { client: c, seen } = cloud(() => ({ status: 401, body: 'Unauthorized' }));
    const first = await c.device().catch((e: unknown) => e);
    assert.ok(first instanceof HttpError && first.code === 'UNAUTHORIZED');
    assert.match(first.message, /BALENA_API_KEY/u);
    await assert.rejects(c.device(), { code: 'UNAUTHORIZED' });
    assert.equal(seen.length, 2);
  });

  it('concurrent callers: a Retry-After seen by one holds every request, queued or retrying', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 429, body: '', headers: { 'retry-after': '30' } } : { status: 200, body: { d: [DEVICE_ROW] } }), {
      requestLimit: { count: 1, intervalMs: 1_000 },
    });
    const all = await drive(clock, Promise.all([c.device(), c.device(), c.device(), c.device()]));
    assert.equal(all.length, 4);
    assert.equal(seen.length, 5);
    assert.equal(seen[0]!.at, 0);
    // The others were waiting for the ceiling when the 429 came: none of them went before 30 s.
    for (const r of seen.slice(1)) assert.ok(r.at >= 30_000, `a request at ${r.at} ms, inside the Retry-After window`);
    assert.deepEqual(seen.map((r) => r.at), [0, 30_000, 31_000, 32_000, 33_000]);
  });

  it('full-jitter backoff is capped at 30 s and the retries are bounded', async () => {
    const { client: c, seen } = cloud(() => ({ status: 503, body: 'busy' }), { maxRetries: 7, random: () => 0.999_999 });
    await assert.rejects(drive(clock, c.device()), { code: 'SERVER_ERROR' });
    assert.equal(seen.length, 8);
    const gaps = seen.slice(1).map((r, i) => r.at - seen[i]!.at);
    assert.deepEqual(gaps, [999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999]);
  });

  it('a Retry-After longer than maxRetryWaitMs: RATE_LIMITED at once, later calls too (no request) until it is short', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 429, body: '', headers: { 'retry-after': '3600' } } : { status: 200, body: { d: [DEVICE_ROW] } }));
    await assert.rejects(c.device(), { code: 'RATE_LIMITED' });
    assert.equal(c.notBefore(), 3_600_000);
    const early = await c.device().catch((e: unknown) => e);
    assert.ok(early instanceof HttpError && early.code === 'RATE_LIMITED', String(early));
    assert.equal(early.retryAfterMs, 3_600_000);
    assert.match(early.message, /not sent/u);
    assert.equal(seen.length, 1);
    await clock.advance(3_600_000 - 60_000);
    await drive(clock, c.device());
    assert.deepEqual(seen.map((r) => r.at), [0, 3_600_000]);
  });

  it('a timeout (no answer) is TIMEOUT after bounded retries', async () => {
    const agent = new MockAgent();
    track(agent);
    agent.disableNetConnect();
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    agent.get(ORIGIN).intercept({ path: () => true }).replyWithError(timeout).persist();
    const c = mockClient(clock, agent, { maxRetries: 1 });
    const err = await drive(clock, c.device()).catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, 'TIMEOUT');
    assert.ok(keyFree(err));
    assert.equal(c.requestsSent(), 2);
  });
});
