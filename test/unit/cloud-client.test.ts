import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { CloudClient, KEY_REVOKED, type CloudClientOptions } from '../../src/cloud/client.js';
import { literal, queryString } from '../../src/cloud/query.js';
import { ManualClock, settle } from '../../src/lib/clock.js';
import { HttpError } from '../../src/lib/errors.js';

const ORIGIN = 'http://cloud.test';
const KEY = 'dEvIcEkEy-0123456789abcdef';
const UUID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

interface Seen {
  method: string;
  path: string;
  body: string;
  auth: string;
  at: number;
}
interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A scripted cloud on MockAgent: every request is recorded (with ManualClock time) and answered by `handler`. */
function mockCloud(clock: ManualClock, handler: (req: Seen) => Answer) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Seen[] = [];
  agent
    .get(ORIGIN)
    .intercept({ path: () => true, method: () => true })
    .reply((opts) => {
      const headers = opts.headers as Record<string, string> | undefined;
      const req: Seen = {
        method: opts.method,
        path: opts.path,
        body: typeof opts.body === 'string' ? opts.body : '',
        auth: headers?.authorization ?? '',
        at: clock.now(),
      };
      seen.push(req);
      const answer = handler(req);
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
      return { statusCode: answer.status, data: body, responseOptions: { headers: answer.headers ?? {} } };
    })
    .persist();
  return { agent, seen };
}

function client(clock: ManualClock, agent: MockAgent, extra: Partial<CloudClientOptions> = {}): CloudClient {
  return new CloudClient({ baseUrl: ORIGIN, apiKey: KEY, deviceUuid: UUID, dispatcher: agent, clock, random: () => 0.5, ...extra });
}

/** Runs `promise` to completion, moving the manual clock to each pending sleep. */
async function drive<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let spins = 0; !done && spins < 10_000; spins++) {
    await settle(2);
    const next = clock.nextAt();
    if (!done && next !== undefined) await clock.advance(Math.max(0, next - clock.now()));
  }
  return promise;
}

const DEVICE_ROW = {
  id: 7,
  uuid: UUID,
  device_name: 'dev-7',
  supervisor_version: '17.8.1',
  os_version: 'balenaOS 6.1.0',
  is_online: true,
  belongs_to__application: [{ id: 1, app_name: 'fleet-one' }],
};

describe('CloudClient (unit, MockAgent)', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });
  const agents: MockAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.close();
  });
  function cloud(handler: (req: Seen) => Answer, extra: Partial<CloudClientOptions> = {}) {
    const m = mockCloud(clock, handler);
    agents.push(m.agent);
    return { ...m, client: client(clock, m.agent, extra) };
  }

  it('polls in exactly one request with raw OData syntax and a prefix filter', async () => {
    const { client: c, seen } = cloud(() => ({
      status: 200,
      body: {
        d: [
          {
            ...DEVICE_ROW,
            device_tag: [{ tag_key: 'agent.a', value: '1' }],
            device_environment_variable: [{ name: 'X', value: 'dev' }],
            belongs_to__application: [
              { id: 1, app_name: 'fleet-one', application_tag: [{ tag_key: 'agent.b', value: '2' }], application_environment_variable: [{ name: 'X', value: 'fleet' }] },
            ],
          },
        ],
      },
    }));
    const snap = await c.poll({ tagPrefix: 'agent.' });
    assert.equal(seen.length, 1);
    assert.equal(
      seen[0]!.path,
      `/v7/device(uuid='${UUID}')?$select=id,uuid,device_name,supervisor_version,os_version,is_online` +
        `&$expand=device_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.')),device_environment_variable($select=name,value),` +
        `belongs_to__application($select=id,app_name;$expand=application_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.')),application_environment_variable($select=name,value))`,
    );
    assert.equal(seen[0]!.auth, `Bearer ${KEY}`);
    assert.deepEqual(snap, {
      device: { id: 7, uuid: UUID, deviceName: 'dev-7', appId: 1, appName: 'fleet-one', supervisorVersion: '17.8.1', osVersion: 'balenaOS 6.1.0', isOnline: true },
      deviceTags: { 'agent.a': '1' },
      fleetTags: { 'agent.b': '2' },
      deviceVars: { X: 'dev' },
      fleetVars: { X: 'fleet' },
    });
    assert.equal(c.requestsSent(), 1);
  });

  it('reports a filtered miss ({"d":[]}) as NOT_FOUND without the key', async () => {
    const { client: c } = cloud(() => ({ status: 200, body: { d: [] } }));
    const err = await c.device().catch((e: unknown) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.code, 'NOT_FOUND');
    assert.match(err.message, /not visible to this key/);
    assert.ok(!err.message.includes(KEY));
  });

  it('upserts a tag: POST, then PATCH by natural key on a unique clash', async () => {
    const { client: c, seen } = cloud((req) => {
      if (req.path.startsWith('/v7/device(')) return { status: 200, body: { d: [DEVICE_ROW] } };
      if (req.method === 'POST') return { status: 409, body: '"device" and "tag_key" must be unique.' };
      return { status: 200, body: 'OK' };
    });
    await c.setTag("it's", 'a&b c');
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.path.split('?')[0]}`),
      ['GET /v7/device(uuid=\'' + UUID + '\')', 'POST /v7/device_tag', "PATCH /v7/device_tag(device=7,tag_key='it''s')"],
    );
    assert.deepEqual(JSON.parse(seen[1]!.body), { device: 7, tag_key: "it's", value: 'a&b c' });
    assert.deepEqual(JSON.parse(seen[2]!.body), { value: 'a&b c' });
    // the device id is cached
    await c.setTag('k', 'v');
    assert.equal(seen.filter((r) => r.path.startsWith('/v7/device(')).length, 1);
  });

  it('a 409 without "unique" is a CONFLICT error, not a PATCH', async () => {
    const { client: c, seen } = cloud((req) => (req.method === 'GET' ? { status: 200, body: { d: [DEVICE_ROW] } } : { status: 409, body: 'something else' }));
    await assert.rejects(c.setTag('k', 'v'), { code: 'CONFLICT' });
    assert.equal(seen.filter((r) => r.method === 'PATCH').length, 0);
  });

  it('bulk tags go in one PATCH /device/v3/tags; a missing route falls back to upserts once', async () => {
    let bulk = 200;
    const { client: c, seen } = cloud((req) => {
      if (req.path === '/device/v3/tags') return { status: bulk, body: bulk === 200 ? 'OK' : 'Not Found' };
      if (req.method === 'GET') return { status: 200, body: { d: [DEVICE_ROW] } };
      return { status: 201, body: {} };
    });
    await c.setTags({ 'agent.a': '1', 'agent.b': '2' });
    assert.equal(seen.length, 1);
    assert.deepEqual(JSON.parse(seen[0]!.body), { [UUID]: { 'agent.a': '1', 'agent.b': '2' } });
    bulk = 404;
    await c.setTags({ 'agent.a': '3' });
    await c.setTags({ 'agent.b': '4' });
    assert.deepEqual(
      seen.slice(1).map((r) => `${r.method} ${r.path.split('?')[0]}`),
      ['PATCH /device/v3/tags', `GET /v7/device(uuid='${UUID}')`, 'POST /v7/device_tag', 'POST /v7/device_tag'],
    );
    await c.setTags({});
    assert.equal(seen.length, 5);
  });

  it('removes a tag with the natural-key filter, literal escaped', async () => {
    const { client: c, seen } = cloud((req) => (req.method === 'GET' ? { status: 200, body: { d: [DEVICE_ROW] } } : { status: 200, body: 'OK' }));
    await c.removeTag("a'b#%");
    assert.equal(seen[1]!.method, 'DELETE');
    assert.equal(seen[1]!.path, "/v7/device_tag?$filter=device%20eq%207%20and%20tag_key%20eq%20'a''b%23%25'");
  });

  it('rejects bad tag keys before sending anything', async () => {
    const { client: c, seen } = cloud(() => ({ status: 200, body: { d: [DEVICE_ROW] } }));
    await assert.rejects(c.setTag('has space', 'v'), { code: 'BAD_REQUEST' });
    await assert.rejects(c.setTag('io.balena.x', 'v'), { code: 'BAD_REQUEST' });
    await assert.rejects(c.setTags({ '': 'v' }), { code: 'BAD_REQUEST' });
    assert.equal(seen.length, 0);
  });

  it('merges variables with device+service > device > fleet+service > fleet', async () => {
    const { client: c } = cloud((req) => {
      const p = req.path;
      if (p.startsWith('/v7/device(')) return { status: 200, body: { d: [DEVICE_ROW] } };
      const rows: Record<string, unknown[]> = {
        '/v7/device_environment_variable': [{ name: 'A', value: 'device' }, { name: 'B', value: 'device' }],
        '/v7/device_config_variable': [{ name: 'BALENA_X', value: 'dc' }],
        '/v7/application_environment_variable': [{ name: 'A', value: 'fleet' }, { name: 'C', value: 'fleet' }, { name: 'D', value: 'fleet' }],
        '/v7/application_config_variable': [{ name: 'BALENA_X', value: 'fc' }, { name: 'BALENA_Y', value: 'fc' }],
        '/v7/service_environment_variable': [
          { name: 'C', value: 'fleet+main', service: [{ service_name: 'main' }] },
          { name: 'D', value: 'fleet+other', service: [{ service_name: 'other' }] },
        ],
        '/v7/device_service_environment_variable': [{ name: 'B', value: 'device+main', service_install: [{ installs__service: [{ id: 3, service_name: 'main' }] }] }],
      };
      return { status: 200, body: { d: rows[p.split('?')[0]!] ?? [] } };
    });
    const vars = await c.variables('main');
    assert.deepEqual(
      vars.env.map((v) => [v.name, v.value, v.source]),
      [
        ['A', 'device', 'device'],
        ['B', 'device+main', 'device+service'],
        ['C', 'fleet+main', 'fleet+service'],
        ['D', 'fleet', 'fleet'],
      ],
    );
    assert.deepEqual(vars.env.find((v) => v.name === 'A')!.overrides, ['fleet']);
    assert.deepEqual(
      vars.config.map((v) => [v.name, v.value, v.source]),
      [
        ['BALENA_X', 'dc', 'device-config'],
        ['BALENA_Y', 'fc', 'fleet-config'],
      ],
    );
    const none = await c.variables();
    assert.deepEqual(none.env.map((v) => v.source), ['device', 'device', 'fleet', 'fleet']);
  });

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
    const second = drive(clock, c.device());
    await second;
    assert.ok(seen[1]!.at >= 45_000 - 1000, `second request at ${seen[1]!.at}`);
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

  it('a Retry-After longer than maxRetryWaitMs fails at once but still holds later calls', async () => {
    let n = 0;
    const { client: c, seen } = cloud(() => (n++ === 0 ? { status: 429, body: '', headers: { 'retry-after': '3600' } } : { status: 200, body: { d: [DEVICE_ROW] } }));
    await assert.rejects(c.device(), { code: 'RATE_LIMITED' });
    assert.equal(c.notBefore(), 3_600_000);
    await drive(clock, c.device());
    assert.equal(seen[1]!.at, 3_600_000);
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
    agents.push(agent);
    agent.disableNetConnect();
    const err = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    agent.get(ORIGIN).intercept({ path: () => true }).replyWithError(err).persist();
    const c = client(clock, agent, { maxRetries: 2 });
    await assert.rejects(drive(clock, c.device()), (e: unknown) => (e as { code?: string }).code === 'UNREACHABLE' && !(e as Error).message.includes(KEY));
    assert.equal(c.requestsSent(), 3);
  });
});

describe('OData query text', () => {
  it('escapes only literal values', () => {
    assert.equal(literal("o'neil & co #1 50%+"), "'o''neil%20%26%20co%20%231%2050%25%2B'");
    assert.equal(literal('a/b,c:(d)'), "'a/b,c:(d)'");
    assert.equal(literal('é'), "'%C3%A9'");
    assert.equal(queryString([['$filter', "device eq 1 and tag_key eq 'x'"]]), "?$filter=device%20eq%201%20and%20tag_key%20eq%20'x'");
  });
});
