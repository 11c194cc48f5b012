import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { MAX_RETRY_AFTER_MS } from '../../src/lib/backoff.js';
import { AgentError, UnreachableError, UpdatesLockedError, type HttpError } from '../../src/lib/errors.js';
import { ManualClock } from '../../src/lib/clock.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { assertNoSecret } from '../helpers/supervisor-sim.js';

const KEY = 'unitkey0123456789abcdefSECRET';
const ORIGIN = 'http://supervisor.test:48484';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

type Answer = [number, string | object];

/** A MockAgent answering like a supervisor of `version`; `answers` override by "METHOD /path". */
function fake(version: string | null, answers: Record<string, Answer> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Seen[] = [];
  agent
    .get(ORIGIN)
    .intercept({ path: () => true, method: () => true })
    .reply((opts) => {
      const headers = (opts.headers ?? {}) as Record<string, string>;
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const text = typeof opts.body === 'string' ? opts.body : undefined;
      seen.push({ method: opts.method, path: opts.path, authorization: lower.authorization, contentType: lower['content-type'], body: text === undefined ? undefined : JSON.parse(text) });
      const bare = opts.path.split('?')[0] ?? '';
      const answer = answers[`${opts.method} ${bare}`];
      if (answer) return { statusCode: answer[0], data: answer[1] };
      if (bare === '/v2/version') return version === null ? { statusCode: 404, data: 'Not Found' } : { statusCode: 200, data: { status: 'success', version } };
      return { statusCode: 200, data: 'OK' };
    })
    .persist();
  const client = new SupervisorClient({ baseUrl: ORIGIN, apiKey: KEY, appId: 1234, dispatcher: agent, clock: new ManualClock(), timeoutMs: 1_000 });
  const last = (): Seen => seen[seen.length - 1]!;
  return { client, seen, last, agent };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AgentError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AgentError, `expected an AgentError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assertNoSecret(err, KEY);
    return err;
  }
  assert.fail(`expected a ${code} rejection`);
}

describe('SupervisorClient request building', () => {
  const cases: Array<{ name: string; call: (c: SupervisorClient) => Promise<unknown>; method: string; path: string; body?: unknown }> = [
    { name: 'blink', call: (c) => c.blink(), method: 'POST', path: '/v1/blink' },
    { name: 'reboot', call: (c) => c.reboot(), method: 'POST', path: '/v1/reboot', body: {} },
    { name: 'reboot --force', call: (c) => c.reboot({ force: true }), method: 'POST', path: '/v1/reboot', body: { force: true } },
    { name: 'shutdown --force', call: (c) => c.shutdown({ force: true }), method: 'POST', path: '/v1/shutdown', body: { force: true } },
    { name: 'update', call: (c) => c.update(), method: 'POST', path: '/v1/update', body: {} },
    { name: 'update cancel', call: (c) => c.update({ force: true, cancel: true }), method: 'POST', path: '/v1/update', body: { force: true, cancel: true } },
    { name: 'restartApp', call: (c) => c.restartApp(), method: 'POST', path: '/v1/restart', body: { appId: 1234 } },
    { name: 'purge --force', call: (c) => c.purge({ force: true }), method: 'POST', path: '/v1/purge', body: { appId: 1234, force: true } },
    { name: 'service by name', call: (c) => c.serviceAction('restart', 'main'), method: 'POST', path: '/v2/applications/1234/restart-service', body: { serviceName: 'main' } },
    { name: 'service by number', call: (c) => c.serviceAction('stop', 1001, { force: true }), method: 'POST', path: '/v2/applications/1234/stop-service', body: { imageId: 1001, force: true } },
    { name: 'service by digits', call: (c) => c.serviceAction('start', '1001'), method: 'POST', path: '/v2/applications/1234/start-service', body: { imageId: 1001 } },
    { name: 'deviceState', call: (c) => c.deviceState(), method: 'GET', path: '/v1/device' },
    { name: 'applicationsState', call: (c) => c.applicationsState(), method: 'GET', path: '/v2/applications/state' },
    { name: 'stateStatus', call: (c) => c.stateStatus(), method: 'GET', path: '/v2/state/status' },
    { name: 'deviceName', call: (c) => c.deviceName(), method: 'GET', path: '/v2/device/name' },
    { name: 'deviceTags', call: (c) => c.deviceTags(), method: 'GET', path: '/v2/device/tags' },
    { name: 'patchDeviceTags', call: (c) => c.patchDeviceTags({ 'agent.health': 'ok' }), method: 'PATCH', path: '/v2/device/tags', body: { 'agent.health': 'ok' } },
    { name: 'vpn', call: (c) => c.vpn(), method: 'GET', path: '/v2/device/vpn' },
  ];
  const answers: Record<string, Answer> = {
    'POST /v1/reboot': [202, { Data: 'OK', Error: null }],
    'POST /v1/shutdown': [202, { Data: 'OK', Error: null }],
    'POST /v1/purge': [200, { Data: 'OK', Error: '' }],
    'POST /v1/update': [204, ''],
    'GET /v1/device': [200, { os_version: 'balenaOS 6.0.0' }],
    'GET /v2/applications/state': [200, { app: { appId: 1234, commit: 'abc', services: {} } }],
    'GET /v2/state/status': [200, { status: 'success', appState: 'applied', containers: [], images: [], release: 'abc' }],
    'GET /v2/device/name': [200, { status: 'success', deviceName: 'quiet-river' }],
    'GET /v2/device/tags': [200, { status: 'success', tags: [{ id: 1, name: 'k', value: 'v' }] }],
    'PATCH /v2/device/tags': [202, { status: 'success' }],
    'GET /v2/device/vpn': [200, { status: 'success', vpn: { enabled: true, connected: false } }],
  };
  for (const c of cases) {
    it(`${c.name}: ${c.method} ${c.path} with Bearer auth and a JSON body`, async () => {
      const { client, seen, last } = fake('19.0.5', answers);
      await c.call(client);
      assert.equal(seen[0]!.path, `/v2/version?apikey=${KEY}`, 'the version probe uses ?apikey=');
      assert.equal(seen[0]!.authorization, undefined);
      const req = last();
      assert.equal(req.method, c.method);
      assert.equal(req.path, c.path, 'no key in the URL on a modern supervisor');
      assert.equal(req.authorization, `Bearer ${KEY}`);
      assert.deepEqual(req.body, c.body);
      if (c.body !== undefined) assert.equal(req.contentType, 'application/json');
    });
  }

  it('ping and healthy send no key at all and do not probe the version', async () => {
    const { client, seen } = fake('19.0.5', { 'GET /v1/healthy': [500, 'Unhealthy'] });
    await client.ping();
    assert.equal(await client.healthy(), false);
    assert.deepEqual(seen.map((s) => [s.path, s.authorization]), [['/ping', undefined], ['/v1/healthy', undefined]]);
  });

  it('caches the version after the first success', async () => {
    const { client, seen } = fake('19.0.5+rev2');
    assert.equal(await client.version(), '19.0.5');
    await client.blink();
    await client.blink();
    assert.equal(seen.filter((s) => s.path.startsWith('/v2/version')).length, 1);
  });

  it('sends ?apikey= (URL-encoded) instead of a header to supervisors older than 11.3.0', async () => {
    const { client, last } = fake('11.2.9');
    await client.blink();
    assert.equal(last().path, `/v1/blink?apikey=${KEY}`);
    assert.equal(last().authorization, undefined);
  });

  it('sends ?apikey= even to a new supervisor when the key is not \\w+ (the header form would be refused)', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const paths: Array<{ path: string; authorization: unknown }> = [];
    agent
      .get(ORIGIN)
      .intercept({ path: () => true, method: () => true })
      .reply((opts) => {
        paths.push({ path: opts.path, authorization: (opts.headers as Record<string, string> | undefined)?.authorization });
        return opts.path.startsWith('/v2/version') ? { statusCode: 200, data: { status: 'success', version: '19.0.5' } } : { statusCode: 200, data: 'OK' };
      })
      .persist();
    const odd = 'key-with+odd/chars';
    const client = new SupervisorClient({ baseUrl: ORIGIN, apiKey: odd, appId: 1, dispatcher: agent, clock: new ManualClock(), timeoutMs: 1_000 });
    await client.blink();
    assert.deepEqual(paths.at(-1), { path: `/v1/blink?apikey=${encodeURIComponent(odd)}`, authorization: undefined });
    await agent.close();
  });

  it('answers "triggered" for 204 and "ignored" for 202 from /v1/update', async () => {
    assert.equal(await fake('19.0.5', { 'POST /v1/update': [204, ''] }).client.update(), 'triggered');
    assert.equal(await fake('19.0.5', { 'POST /v1/update': [202, ''] }).client.update(), 'ignored');
  });

  it('journalLogs posts the options as JSON and yields lines', async () => {
    const { client, last } = fake('19.0.5', { 'POST /v2/journal-logs': [200, 'one\ntwo\r\nthree'] });
    const lines: string[] = [];
    for await (const line of client.journalLogs({ count: 3, unit: 'balena.service', format: 'json', follow: false }, new AbortController().signal)) lines.push(line);
    assert.deepEqual(lines, ['one', 'two', 'three']);
    assert.deepEqual(last().body, { count: 3, unit: 'balena.service', format: 'json' });
    assert.equal(last().authorization, `Bearer ${KEY}`);
  });
});

describe('SupervisorClient version gates', () => {
  it('refuses a name-based service action below 8.2.2 and says to pass the image id', async () => {
    const { client, seen } = fake('8.2.1');
    const err = await rejectsWith(client.serviceAction('restart', 'main'), 'UNSUPPORTED');
    assert.match(err.message, /needs supervisor ≥ 8\.2\.2; this device runs 8\.2\.1/);
    assert.match(err.message, /image id/);
    assert.ok(!seen.some((s) => s.path.includes('restart-service')), 'nothing sent');
    await client.serviceAction('restart', 1001);
  });

  it('refuses v2 service actions below 7.0.0', async () => {
    const err = await rejectsWith(fake('6.9.0').client.serviceAction('stop', 5), 'UNSUPPORTED');
    assert.match(err.message, /needs supervisor ≥ 7\.0\.0; this device runs 6\.9\.0/);
  });

  it('treats a supervisor without /v2/version as older than 7.21.0 and uses ?apikey=', async () => {
    const { client, last } = fake(null);
    const err = await rejectsWith(client.serviceAction('stop', 'main'), 'UNSUPPORTED');
    assert.match(err.message, /this device runs a supervisor older than 7\.21\.0/);
    await client.serviceAction('stop', 5);
    assert.equal(last().path, `/v2/applications/1234/stop-service?apikey=${KEY}`);
  });

  it('gates PATCH tags at 17.8.0, journal logs at 10.2.0 and update cancel at 17.1.0', async () => {
    const old = fake('17.7.9');
    assert.equal(await old.client.supportsTagPatch(), false);
    const tagErr = await rejectsWith(old.client.patchDeviceTags({ a: 'b' }), 'UNSUPPORTED');
    assert.match(tagErr.message, /needs supervisor ≥ 17\.8\.0; this device runs 17\.7\.9/);
    assert.ok(!old.seen.some((s) => s.method === 'PATCH'));
    assert.equal(await old.client.update({ cancel: true }), 'triggered');
  });

  it('journal logs on 10.2: the default short format is sent without a format; json and since are refused', async () => {
    const { client, last } = fake('10.2.0', { 'POST /v2/journal-logs': [200, 'Mar 01 10:00:00 dev balenad: up\n'] });
    const lines: string[] = [];
    for await (const line of client.journalLogs({ format: 'short', count: 1, containerId: 'agent' }, new AbortController().signal)) lines.push(line);
    assert.deepEqual(lines, ['Mar 01 10:00:00 dev balenad: up']);
    assert.deepEqual(last().body, { count: 1, containerId: 'agent' });
    await rejectsWith(client.journalLogs({ format: 'json' }, new AbortController().signal).next(), 'UNSUPPORTED');
    const until = await rejectsWith(client.journalLogs({ until: '2026-03-01' }, new AbortController().signal).next(), 'UNSUPPORTED');
    assert.match(until.message, /14\.7\.0/);
  });

  it('journal logs on a new supervisor send format, since and until as given', async () => {
    const { client, last } = fake('19.0.5', { 'POST /v2/journal-logs': [200, ''] });
    for await (const line of client.journalLogs({ format: 'short', since: '-1h', until: 'now' }, new AbortController().signal)) assert.fail(line);
    assert.deepEqual(last().body, { since: '-1h', until: 'now', format: 'short' });
  });

  it('gates journal logs at 10.2.0', async () => {
    const { client } = fake('10.1.0');
    const lines = client.journalLogs({}, new AbortController().signal);
    const err = await rejectsWith(lines.next(), 'UNSUPPORTED');
    assert.match(err.message, /10\.2\.0; this device runs 10\.1\.0/);
  });

  it('gates update cancel at 17.1.0', async () => {
    const err = await rejectsWith(fake('17.0.0').client.update({ cancel: true }), 'UNSUPPORTED');
    assert.match(err.message, /17\.1\.0/);
    assert.equal(await fake('17.8.0').client.supportsTagPatch(), true);
  });
});

describe('SupervisorClient error mapping', () => {
  it('423 {Data,Error} → UpdatesLockedError carrying the supervisor message', async () => {
    const { client } = fake('19.0.5', { 'POST /v1/reboot': [423, { Data: '', Error: 'Lockfile exists for { appId: 1234, service: main }' }] });
    const err = await rejectsWith(client.reboot(), 'LOCKED');
    assert.ok(err instanceof UpdatesLockedError);
    assert.equal(err.lockMessage, 'Lockfile exists for { appId: 1234, service: main }');
  });

  it('423 {status,message} → UpdatesLockedError', async () => {
    const { client } = fake('19.0.5', { 'POST /v1/restart': [423, { status: 'failed', message: 'Locks for app 1234 are being held by another supervisor operation' }] });
    const err = await rejectsWith(client.restartApp(), 'LOCKED');
    assert.match((err as UpdatesLockedError).lockMessage, /being held/);
  });

  it('401 → UNAUTHORIZED without the key, naming the app for scoped endpoints', async () => {
    const { client } = fake('19.0.5', { 'POST /v1/purge': [401, { status: 'failed', message: 'Unauthorized' }] });
    const err = await rejectsWith(client.purge(), 'UNAUTHORIZED');
    assert.match(err.message, /app 1234/);
    const probe = fake('19.0.5', { 'GET /v2/version': [401, 'Unauthorized'] });
    const probeErr = await rejectsWith(probe.client.blink(), 'UNAUTHORIZED');
    assert.equal((probeErr as HttpError).path, '/v2/version');
  });

  it('404 on a service action → NOT_FOUND naming the service', async () => {
    const { client } = fake('19.0.5', { 'POST /v2/applications/1234/stop-service': [404, 'Service not found, a container must exist for this endpoint to work'] });
    const err = await rejectsWith(client.serviceAction('stop', 'ghost'), 'NOT_FOUND');
    assert.match(err.message, /service "ghost" not found/);
    const byId = fake('19.0.5', { 'POST /v2/applications/1234/stop-service': [404, 'Service not found'] });
    assert.match((await rejectsWith(byId.client.serviceAction('stop', 77), 'NOT_FOUND')).message, /image id 77/);
  });

  it('400 and 503 keep the supervisor message; garbage JSON is BAD_RESPONSE', async () => {
    const { client } = fake('19.0.5', {
      'POST /v1/restart': [400, 'Missing app id'],
      'GET /v2/state/status': [503, { status: 'failed', message: 'boom' }],
      'GET /v1/device': [200, '<html>oops'],
      'GET /v2/device/vpn': [200, { status: 'success' }],
    });
    assert.match((await rejectsWith(client.restartApp(), 'BAD_REQUEST')).message, /Missing app id/);
    assert.match((await rejectsWith(client.stateStatus(), 'SERVER_ERROR')).message, /boom/);
    assert.match((await rejectsWith(client.deviceState(), 'BAD_RESPONSE')).message, /not JSON/);
    await rejectsWith(client.vpn(), 'BAD_RESPONSE');
  });

  it('a network failure becomes UNREACHABLE for the supervisor without the key', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent.get(ORIGIN).intercept({ path: () => true, method: () => true }).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).persist();
    const client = new SupervisorClient({ baseUrl: ORIGIN, apiKey: KEY, appId: 1, dispatcher: agent, clock: new ManualClock() });
    const err = await rejectsWith(client.reboot(), 'UNREACHABLE');
    assert.equal((err as { peer?: string }).peer, 'supervisor');
    assert.match(err.message, /connection refused/);
  });
});

/** A MockAgent whose replies come from `answer` (by call order), recording "METHOD /path". */
function scripted(answer: (method: string, bare: string, n: number) => { status: number; body: string; headers?: Record<string, string> } | Error) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: string[] = [];
  const pool = agent.get(ORIGIN);
  // One interceptor per expected request, each answering (or failing) as `answer` says.
  for (let n = 0; n < 20; n++) {
    pool.intercept({ path: () => true, method: () => true }).reply((opts) => {
      const bare = opts.path.split('?')[0] ?? '';
      seen.push(`${opts.method} ${bare}`);
      const a = answer(opts.method, bare, seen.length);
      if (a instanceof Error) throw a;
      return { statusCode: a.status, data: a.body, responseOptions: { headers: a.headers ?? {} } };
    });
  }
  const client = new SupervisorClient({ baseUrl: ORIGIN, apiKey: KEY, appId: 1234, dispatcher: agent, clock: new ManualClock(), timeoutMs: 1_000 });
  return { client, seen };
}

const VERSION = { status: 200, body: JSON.stringify({ status: 'success', version: '19.0.5' }) };
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe('SupervisorClient: what failed before a request left', () => {
  const mutating: Array<[string, (c: SupervisorClient) => Promise<unknown>, string]> = [
    ['restart-service', (c) => c.serviceAction('restart', 'main'), 'POST /v2/applications/1234/restart-service'],
    ['restart (auth needs the version)', (c) => c.restartApp(), 'POST /v1/restart'],
    ['update with cancel', (c) => c.update({ cancel: true }), 'POST /v1/update'],
    ['tag patch', (c) => c.patchDeviceTags({ a: '1' }), 'PATCH /v2/device/tags'],
  ];
  for (const [name, call, sent] of mutating) {
    it(`${name}: a connection reset on the version probe says the request never left; a retry sends it once`, async () => {
      const { client, seen } = scripted((_m, bare, n) => (bare === '/v2/version' && n === 1 ? reset() : bare === '/v2/version' ? VERSION : { status: 200, body: '{}' }));
      const err = await call(client).then(() => assert.fail('expected a rejection'), (e: unknown) => e);
      assert.ok(err instanceof UnreachableError, String(err));
      assert.deepEqual([err.code, err.mayHaveArrived], ['UNREACHABLE', false]);
      assert.deepEqual(seen, ['GET /v2/version']);
      await call(client);
      assert.deepEqual(seen, ['GET /v2/version', 'GET /v2/version', sent]);
    });
  }

  it('a reset on the mutating request itself still may have arrived', async () => {
    const { client } = scripted((_m, bare) => (bare === '/v2/version' ? VERSION : reset()));
    const err = await client.serviceAction('restart', 'main').then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    assert.ok(err instanceof UnreachableError, String(err));
    assert.equal(err.mayHaveArrived, true);
  });
});

describe('SupervisorClient: a supervisor that echoes the request', () => {
  it('hides its key in the message, body and headers of the error (500 echoing ?apikey= and Authorization)', async () => {
    const echo = `GET /v1/device?apikey=${KEY} failed; authorization: Bearer ${KEY}; key ${KEY}`;
    const { client } = scripted((_m, bare) =>
      bare === '/v2/version' ? VERSION : { status: 500, body: JSON.stringify({ message: echo }), headers: { 'x-echo': `Bearer ${KEY}`, 'x-raw': KEY } },
    );
    const err = (await rejectsWith(client.deviceState(), 'SERVER_ERROR')) as HttpError;
    assert.match(err.message, /apikey=\[redacted\]/);
    assert.ok(!err.body.includes(KEY) && !JSON.stringify(err.headers).includes(KEY));
  });

  it('hides its key in a BAD_RESPONSE preview of a 2xx reply that is not JSON', async () => {
    const { client } = scripted((_m, bare) => (bare === '/v2/version' ? VERSION : { status: 200, body: `<html>${KEY}</html>` }));
    await rejectsWith(client.deviceState(), 'BAD_RESPONSE');
  });
});

describe('SupervisorClient: Retry-After', () => {
  it('a 429 with a Retry-After past what a timer can hold is capped at MAX_RETRY_AFTER_MS', async () => {
    const { client } = scripted((_m, bare) => (bare === '/v2/version' ? VERSION : { status: 429, body: 'slow down', headers: { 'retry-after': '2147484' } }));
    const err = (await rejectsWith(client.patchDeviceTags({ a: '1' }), 'RATE_LIMITED')) as HttpError;
    assert.equal(err.retryAfterMs, MAX_RETRY_AFTER_MS);
  });
});
