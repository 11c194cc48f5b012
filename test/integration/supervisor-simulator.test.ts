import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SupervisorSimulator } from '../../src/supervisor/simulator.js';

/** Raw HTTP to the simulator, for requests the client never builds. */
async function call(sim: SupervisorSimulator, method: string, path: string, opts: { body?: string; type?: string; auth?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.type) headers['content-type'] = opts.type;
  if (opts.auth) headers.authorization = opts.auth;
  const res = await fetch(`${sim.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get('content-type') };
}

describe('SupervisorSimulator answers like the supervisor (CONTRACT §2)', () => {
  const sim = new SupervisorSimulator({ apiKey: 'appkey123', globalApiKey: 'globalkey456', appId: 55, services: [{ name: 'main', imageId: 9, serviceId: 1 }, { name: 'side', imageId: 10, serviceId: 2 }] });
  const q = (path: string, key = 'appkey123') => `${path}${path.includes('?') ? '&' : '?'}apikey=${key}`;
  before(() => sim.start());
  after(() => sim.stop());

  it('/ping and /v1/healthy need no key; everything else does (401 text)', async () => {
    assert.deepEqual(await call(sim, 'GET', '/ping'), { status: 200, text: 'OK', type: 'text/plain; charset=utf-8' });
    assert.equal((await call(sim, 'GET', '/v1/healthy')).status, 200);
    const denied = await call(sim, 'POST', '/v1/blink');
    assert.deepEqual([denied.status, denied.text], [401, 'Unauthorized']);
    assert.equal((await call(sim, 'GET', '/no/such/route')).status, 401, 'auth runs before routing');
    assert.equal((await call(sim, 'GET', q('/no/such/route'))).status, 404);
  });

  it('takes ?apikey= first, then Bearer or ApiKey in any case', async () => {
    assert.equal((await call(sim, 'POST', '/v1/blink', { auth: 'bearer appkey123' })).status, 200);
    assert.equal((await call(sim, 'POST', '/v1/blink', { auth: 'ApiKey appkey123' })).status, 200);
    assert.equal((await call(sim, 'POST', q('/v1/blink', 'wrong'), { auth: 'Bearer appkey123' })).status, 401, 'a wrong query key wins over a right header');
    const kinds = sim.requests.filter((r) => r.path === '/v1/blink').map((r) => r.auth);
    assert.deepEqual(kinds.slice(-3), ['bearer', 'apikey-scheme', 'query']);
    assert.ok(!JSON.stringify(sim.requests).includes('appkey123'), 'the record never holds the key');
  });

  it('reads bodies only with a JSON or urlencoded content type, coercing booleans and ints', async () => {
    const noType = await call(sim, 'POST', q('/v1/restart'), { body: '{"appId":55}' });
    assert.deepEqual([noType.status, noType.text], [400, 'Missing app id']);
    const purge = await call(sim, 'POST', q('/v1/purge'), { body: '{"appId":"x"}', type: 'application/json' });
    assert.deepEqual([purge.status, purge.text], [400, 'Invalid or missing appId']);
    const form = await call(sim, 'POST', q('/v1/restart'), { body: 'appId=55', type: 'application/x-www-form-urlencoded' });
    assert.deepEqual([form.status, form.text], [200, 'OK']);
    const purged = await call(sim, 'POST', q('/v1/purge'), { body: '{"appId":"55"}', type: 'application/json' });
    assert.deepEqual([purged.status, JSON.parse(purged.text)], [200, { Data: 'OK', Error: '' }]);
  });

  it('scopes the app key to its app (401 JSON); the global key sees every app', async () => {
    const foreign = await call(sim, 'POST', q('/v2/applications/56/restart-service'), { body: '{"imageId":9}', type: 'application/json' });
    assert.deepEqual([foreign.status, JSON.parse(foreign.text)], [401, { status: 'failed', message: 'Unauthorized' }]);
    const global = await call(sim, 'POST', q('/v2/applications/56/restart-service', 'globalkey456'), { body: '{"imageId":9}', type: 'application/json' });
    assert.equal(global.status, 404);
    const bad = await call(sim, 'POST', q('/v2/applications/abc/restart-service'), { body: '{}', type: 'application/json' });
    assert.deepEqual([bad.status, JSON.parse(bad.text)], [400, { status: 'failed', message: 'Invalid app id' }]);
  });

  it('service actions: 400 without name or id on a multi-service app, 404 text for an unknown one', async () => {
    const none = await call(sim, 'POST', q('/v2/applications/55/stop-service'), { body: '{}', type: 'application/json' });
    assert.equal(none.status, 400);
    assert.match(none.text, /^serviceName or imageId parameters were not provided/);
    const unknown = await call(sim, 'POST', q('/v2/applications/55/stop-service'), { body: '{"serviceName":"nope"}', type: 'application/json' });
    assert.deepEqual([unknown.status, unknown.text], [404, 'Service not found, a container must exist for this endpoint to work']);
  });

  it('locks: v1 reboot 423 {Data,Error}, v2 423 {status,message}; "on" counts as force; start-service takes no lock', async () => {
    sim.setLock('Lockfile exists for { appId: 55, service: main }');
    try {
      const reboot = await call(sim, 'POST', q('/v1/reboot'), { body: '{}', type: 'application/json' });
      assert.deepEqual([reboot.status, JSON.parse(reboot.text)], [423, { Data: '', Error: 'Lockfile exists for { appId: 55, service: main }' }]);
      const stop = await call(sim, 'POST', q('/v2/applications/55/stop-service'), { body: '{"imageId":9}', type: 'application/json' });
      assert.deepEqual([stop.status, JSON.parse(stop.text)], [423, { status: 'failed', message: 'Lockfile exists for { appId: 55, service: main }' }]);
      assert.equal((await call(sim, 'POST', q('/v2/applications/55/start-service'), { body: '{"imageId":9}', type: 'application/json' })).status, 200);
      const forced = await call(sim, 'POST', q('/v1/shutdown'), { body: 'force=on', type: 'application/x-www-form-urlencoded' });
      assert.deepEqual([forced.status, JSON.parse(forced.text)], [202, { Data: 'OK', Error: null }]);
    } finally {
      sim.setLock(null);
    }
  });

  it('/v2/version has no leading v; PATCH tags is 404 below 17.8.0 and 400 for bad tags', async () => {
    assert.deepEqual(JSON.parse((await call(sim, 'GET', q('/v2/version'))).text), { status: 'success', version: '19.0.5' });
    const bad = await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"has space":"x"}', type: 'application/json' });
    assert.equal(bad.status, 400);
    const notString = await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"k":1}', type: 'application/json' });
    assert.equal(notString.status, 400);
    sim.setVersion('17.7.0');
    try {
      assert.equal((await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"k":"v"}', type: 'application/json' })).status, 404);
      assert.equal((await call(sim, 'POST', '/v1/blink', { auth: 'Bearer appkey123' })).status, 200);
      sim.setVersion('11.2.0');
      assert.equal((await call(sim, 'POST', '/v1/blink', { auth: 'Bearer appkey123' })).status, 401, 'no header auth before 11.3.0');
    } finally {
      sim.setVersion('19.0.5');
    }
  });

  it('onRequest runs before the reply; waitFor resolves on a future request', async () => {
    const order: string[] = [];
    const off = sim.onRequest((r) => order.push(`hook ${r.path} ${r.status}`));
    const waiting = sim.waitFor((r) => r.path === '/v2/device/name');
    const reply = await call(sim, 'GET', q('/v2/device/name'));
    order.push('reply');
    off();
    assert.deepEqual(order, ['hook /v2/device/name 200', 'reply']);
    assert.deepEqual(JSON.parse(reply.text), { status: 'success', deviceName: 'quiet-river' });
    assert.equal((await waiting).method, 'GET');
  });

  it('/v1/update answers 202 (ignored) without force when instant updates are off', async () => {
    const quiet = new SupervisorSimulator({ instantUpdates: false });
    await quiet.start();
    try {
      const key = `?apikey=${quiet.apiKey}`;
      assert.equal((await fetch(`${quiet.url}/v1/update${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 202);
      assert.equal((await fetch(`${quiet.url}/v1/update${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"force":"1"}' })).status, 204);
      assert.equal(quiet.counts.updates, 1);
    } finally {
      await quiet.stop();
    }
  });

  it('creates the boot id file, writes a new boot id after a reboot reply, adopts an existing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-boot-'));
    const path = join(dir, 'boot_id');
    const dev = new SupervisorSimulator({ bootIdPath: path });
    await dev.start();
    try {
      const first = (await readFile(path, 'utf8')).trim();
      assert.equal(first, dev.bootId);
      const res = await fetch(`${dev.url}/v1/reboot?apikey=${dev.apiKey}`, { method: 'POST' });
      assert.equal(res.status, 202);
      await res.text();
      const deadline = Date.now() + 3_000;
      while (dev.reboots === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      assert.equal(dev.reboots, 1);
      assert.notEqual(dev.bootId, first);
      assert.equal((await readFile(path, 'utf8')).trim(), dev.bootId);
      const again = new SupervisorSimulator({ bootIdPath: path });
      await again.start();
      await again.stop();
      assert.equal(again.bootId, dev.bootId, 'an existing boot id file is adopted, not overwritten');
    } finally {
      await dev.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
