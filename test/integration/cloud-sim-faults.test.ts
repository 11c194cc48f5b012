/** The cloud simulator's injectable faults, state helpers and supervisor proxy. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CloudSimulator } from '../../src/sim/cloud/simulator.js';
import { ManualClock } from '../../src/lib/clock.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { call, startCloud, T } from '../helpers/cloud-sim.js';

const SELF = `/v7/device(uuid='${T.uuid}')?$select=id`;

describe('cloud simulator: faults', () => {
  let sim: CloudSimulator;
  before(async () => {
    sim = await startCloud();
  });
  afterEach(() => {
    sim.setDown(false);
    sim.setLatency(0);
    sim.setGarbage('none');
    sim.setDripBody(null);
  });
  after(() => sim.stop());

  it('rateLimit: the next N requests get 429, with or without Retry-After', async () => {
    sim.rateLimit({ count: 2, retryAfterSeconds: 7 });
    const first = await call(sim, SELF, { key: T.deviceKey });
    const second = await call(sim, SELF, { key: T.deviceKey });
    const third = await call(sim, SELF, { key: T.deviceKey });
    assert.deepEqual([first.status, second.status, third.status], [429, 429, 200]);
    assert.equal(first.headers['retry-after'], '7');
    sim.rateLimit({ count: 1 });
    const bare = await call(sim, SELF, { key: T.deviceKey });
    assert.equal(bare.status, 429);
    assert.equal(bare.headers['retry-after'], undefined);
  });

  it('setRequestLimit: a window per credential from its first request, 429 with the seconds left, then a new window', async () => {
    const clock = new ManualClock();
    const limited = await startCloud({ clock });
    try {
      limited.setRequestLimit({ points: 2, windowMs: 60_000 });
      const statuses = async (key: string, n: number): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await call(limited, SELF, { key })).status);
        return out;
      };
      assert.deepEqual(await statuses(T.deviceKey, 2), [200, 200]);
      await clock.advance(20_400);
      const refused = await call(limited, SELF, { key: T.deviceKey });
      assert.deepEqual([refused.status, refused.headers['retry-after']], [429, '40']);
      assert.deepEqual(await statuses(T.otherDeviceKey, 3), [200, 200, 429], 'another key has its own window');
      await clock.advance(39_600);
      assert.deepEqual(await statuses(T.deviceKey, 3), [200, 200, 429], 'the window ended: a new one');
      limited.setRequestLimit({ points: 1, windowMs: 60_000, shared: true });
      assert.deepEqual([...(await statuses(T.deviceKey, 1)), ...(await statuses(T.otherDeviceKey, 1))], [200, 429], 'shared: one window for all');
      limited.setRequestLimit(null);
      assert.deepEqual(await statuses(T.otherDeviceKey, 2), [200, 200]);
    } finally {
      await limited.stop();
    }
  });

  it('failNext: the next N requests get the status and body', async () => {
    sim.failNext(1, 503, 'maintenance');
    const failed = await call(sim, SELF, { key: T.deviceKey });
    assert.deepEqual([failed.status, failed.text], [503, 'maintenance']);
    assert.equal((await call(sim, SELF, { key: T.deviceKey })).status, 200);
  });

  it('revokeDevice: the key gets 401 everywhere, recorded as invalid', async () => {
    const other = await startCloud();
    try {
      other.revokeDevice(T.uuid);
      assert.equal((await call(other, SELF, { key: T.deviceKey })).status, 401);
      assert.equal((await call(other, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { a: 'b' } } })).status, 401);
      assert.equal(other.requests.at(-1)?.auth, 'invalid');
    } finally {
      await other.stop();
    }
  });

  it('setDown: connections are reset without a reply', async () => {
    sim.setDown(true);
    await assert.rejects(call(sim, SELF, { key: T.deviceKey }), { code: 'ECONNRESET' });
    sim.setDown(false);
    assert.equal((await call(sim, SELF, { key: T.deviceKey })).status, 200);
  });

  it('setGarbage: 200 with a non-JSON body, or several MB', async () => {
    sim.setGarbage('not-json');
    const bad = await call(sim, SELF, { key: T.deviceKey });
    assert.equal(bad.status, 200);
    assert.throws(() => bad.json() as unknown, SyntaxError);
    sim.setGarbage('huge');
    const huge = await call(sim, SELF, { key: T.deviceKey });
    assert.ok(huge.text.length > 5 * 1024 * 1024);
  });

  it('setLatency and setDripBody slow the reply down', async () => {
    sim.setLatency(150);
    let t0 = performance.now();
    assert.equal((await call(sim, SELF, { key: T.deviceKey })).status, 200);
    assert.ok(performance.now() - t0 >= 140);
    sim.setLatency(0);
    sim.setDripBody(100);
    t0 = performance.now();
    const dripped = await call(sim, SELF, { key: T.deviceKey });
    assert.deepEqual(dripped.json(), { d: [{ id: T.deviceId }] });
    assert.ok(performance.now() - t0 >= 100, 'a ~20-byte body at 100 B/s takes more than one tick');
  });

  it('waitFor and onRequest see requests; state helpers change what clients read', async () => {
    const seen: string[] = [];
    const off = sim.onRequest((r) => seen.push(r.path));
    const waiting = sim.waitFor((r) => r.path === '/v7/device_tag' && r.auth === 'device');
    sim.setDeviceTag(T.uuid, 'agent.from-dashboard', 'yes');
    sim.setFleetTag(T.fleetId, 'agent.fleet', 'on');
    const res = await call(sim, `/v7/device_tag?$select=tag_key,value&$filter=tag_key eq 'agent.from-dashboard'`, { key: T.deviceKey });
    assert.deepEqual(res.json(), { d: [{ tag_key: 'agent.from-dashboard', value: 'yes' }] });
    assert.equal((await waiting).status, 200);
    off();
    sim.removeDeviceTag(T.uuid, 'agent.from-dashboard');
    await call(sim, SELF, { key: T.deviceKey });
    assert.deepEqual(seen, ['/v7/device_tag']);
    assert.equal(sim.deviceTags(T.uuid)['agent.from-dashboard'], undefined);
    const fleet = await call(sim, `/v7/application_tag?$select=value&$filter=tag_key eq 'agent.fleet'`, { key: T.deviceKey });
    assert.deepEqual(fleet.json(), { d: [{ value: 'on' }] });
  });
});

describe('cloud simulator: supervisor proxy', () => {
  const KEY = 'proxy-global-key-0123456789abcdef';
  let supervisor: SupervisorSimulator;
  let sim: CloudSimulator;
  before(async () => {
    supervisor = new SupervisorSimulator({ globalApiKey: KEY, appId: T.fleetId });
    await supervisor.start();
    sim = await startCloud({ supervisor: { url: supervisor.url, apiKey: KEY } });
  });
  after(async () => {
    await sim.stop();
    await supervisor.stop();
  });

  it('forwards with the global key and relays status and JSON body', async () => {
    const res = await call(sim, '/supervisor/v1/device', { key: T.operatorKey, method: 'POST', body: { uuid: T.uuid, method: 'GET' } });
    assert.equal(res.status, 200);
    assert.equal(typeof res.json(), 'object');
    const got = supervisor.requests.at(-1);
    assert.equal(`${got?.method} ${got?.path} ${got?.status}`, 'GET /v1/device 200');
  });

  it('a device key may proxy to itself only; no target is 400; unknown is 404', async () => {
    const own = await call(sim, '/supervisor/v1/blink', { key: T.deviceKey, method: 'POST', body: { uuid: T.uuid } });
    assert.equal(own.status, 200);
    const other = await call(sim, '/supervisor/v1/blink', { key: T.deviceKey, method: 'POST', body: { deviceId: T.otherDeviceId } });
    assert.deepEqual([other.status, other.text], [404, 'No online device(s) found']);
    assert.equal((await call(sim, '/supervisor/v1/blink', { key: T.operatorKey, method: 'POST', body: {} })).status, 400);
    assert.equal((await call(sim, '/supervisor/v1/blink', { method: 'POST', body: { uuid: T.uuid } })).status, 401);
  });

  it('an unreachable supervisor is 502', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const cloud = await startCloud({ supervisor: { url: `http://127.0.0.1:${port}`, apiKey: KEY } });
    try {
      const res = await call(cloud, '/supervisor/v1/reboot', { key: T.operatorKey, method: 'POST', body: { deviceId: T.deviceId, data: { force: false } } });
      assert.equal(res.status, 502);
      assert.ok(!res.text.includes(KEY));
    } finally {
      await cloud.stop();
    }
  });
});
