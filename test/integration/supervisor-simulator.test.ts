import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { until } from '../helpers/cli.js';

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
    assert.deepEqual(await call(sim, 'GET', '/ping'), { status: 200, text: 'OK', type: 'text/html; charset=utf-8' }, 'res.send');
    assert.deepEqual(await call(sim, 'GET', '/v1/healthy'), { status: 200, text: 'OK', type: 'text/plain; charset=utf-8' }, 'res.sendStatus');
    const denied = await call(sim, 'POST', '/v1/blink');
    assert.deepEqual(denied, { status: 401, text: 'Unauthorized', type: 'text/plain; charset=utf-8' });
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
      await until('the simulated reboot', () => dev.reboots > 0, 3_000);
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

describe('SupervisorSimulator matches the supervisor source in the details (CONTRACT §2.2)', () => {
  const sim = new SupervisorSimulator({ apiKey: 'appkey123', globalApiKey: 'globalkey456', appId: 55 });
  const solo = new SupervisorSimulator({ apiKey: 'solokey1', appId: 56, services: [{ name: 'only', imageId: 21, serviceId: 3 }] });
  const json = { type: 'application/json' };
  const q = (path: string, key = 'appkey123') => `${path}${path.includes('?') ? '&' : '?'}apikey=${key}`;
  before(async () => {
    await Promise.all([sim.start(), solo.start()]);
  });
  after(async () => {
    await Promise.all([sim.stop(), solo.stop()]);
  });

  it('/v1/update: 202 is sendStatus ("Accepted", text/plain), 204 has no body', async () => {
    const quiet = new SupervisorSimulator({ instantUpdates: false });
    await quiet.start();
    try {
      const ignored = await call(quiet, 'POST', `/v1/update?apikey=${quiet.apiKey}`, { body: '{}', ...json });
      assert.deepEqual(ignored, { status: 202, text: 'Accepted', type: 'text/plain; charset=utf-8' });
      const triggered = await call(quiet, 'POST', `/v1/update?apikey=${quiet.apiKey}`, { body: '{"force":true}', ...json });
      assert.deepEqual([triggered.status, triggered.text], [204, '']);
    } finally {
      await quiet.stop();
    }
  });

  it('service actions need a name or an image id even on a single-service app (400 text, exact words)', async () => {
    const none = await call(solo, 'POST', '/v2/applications/56/restart-service?apikey=solokey1', { body: '{"serviceName":"null"}', ...json });
    assert.deepEqual([none.status, none.text], [
      400,
      'serviceName or imageId parameters were not provided or the app is multi-container. Use the v2 service action endpoints.',
    ]);
  });

  it('a single-service app acts on its one service whatever the request names', async () => {
    const res = await call(solo, 'POST', '/v2/applications/56/stop-service?apikey=solokey1', { body: '{"serviceName":"other"}', ...json });
    assert.deepEqual([res.status, res.text], [200, 'OK']);
    assert.equal(solo.services[0]?.status, 'exited');
    await call(solo, 'POST', '/v2/applications/56/start-service?apikey=solokey1', { body: '{"imageId":999}', ...json });
    assert.equal(solo.services[0]?.status, 'Running');
  });

  it('an app the device does not run is 404 "App not found: …" (the global key passes the scope check)', async () => {
    const res = await call(sim, 'POST', q('/v2/applications/99/restart-service', 'globalkey456'), { body: '{"imageId":1001}', ...json });
    assert.equal(res.status, 404);
    assert.match(res.text, /^App not found: an app needs to be installed for this endpoint to work\./);
  });

  it('auth runs before the body parsers; a malformed JSON body then fails as 503 JSON; /v1/blink never parses it', async () => {
    assert.equal((await call(sim, 'POST', q('/v1/reboot', 'wrong'), { body: '{oops', ...json })).status, 401);
    const bad = await call(sim, 'POST', q('/v1/reboot'), { body: '{oops', ...json });
    assert.equal(bad.status, 503);
    assert.equal(JSON.parse(bad.text).status, 'failed');
    const scalar = await call(sim, 'POST', q('/v1/update'), { body: '"force"', ...json });
    assert.equal(scalar.status, 503, 'the JSON parser is strict: a bare string is refused');
    assert.equal((await call(sim, 'POST', q('/v1/blink'), { body: '{oops', ...json })).status, 200);
    assert.equal(sim.reboots, 0);
  });

  it('app id 0 is invalid on v2 routes (400 JSON), as the supervisor checks !appId', async () => {
    const restart = await call(sim, 'POST', q('/v2/applications/0/restart'), { body: '{}', ...json });
    assert.deepEqual([restart.status, JSON.parse(restart.text)], [400, { status: 'failed', message: 'Missing app id' }]);
    const service = await call(sim, 'POST', q('/v2/applications/0/stop-service'), { body: '{"imageId":1001}', ...json });
    assert.deepEqual([service.status, JSON.parse(service.text)], [400, { status: 'failed', message: 'Invalid app id' }]);
  });

  it('restart, purge and restart-service recreate containers (new ids); stop and start keep them', async () => {
    const ids = async () => JSON.parse((await call(sim, 'GET', q('/v2/containerId'))).text).services as Record<string, string>;
    const first = await ids();
    assert.match(first.main ?? '', /^[0-9a-f]{64}$/);
    await call(sim, 'POST', q('/v2/applications/55/restart-service'), { body: '{"serviceName":"main"}', ...json });
    const second = await ids();
    assert.notEqual(second.main, first.main);
    assert.equal(second['fleet-agent'], first['fleet-agent'], 'only the named service is recreated');
    await call(sim, 'POST', q('/v2/applications/55/stop-service'), { body: '{"serviceName":"fleet-agent"}', ...json });
    await call(sim, 'POST', q('/v2/applications/55/start-service'), { body: '{"serviceName":"fleet-agent"}', ...json });
    assert.equal((await ids())['fleet-agent'], first['fleet-agent']);
    const purge = await call(sim, 'POST', q('/v1/purge'), { body: '{"appId":55}', ...json });
    assert.equal(purge.status, 200, purge.text);
    const third = await ids();
    assert.ok(third.main !== second.main && third['fleet-agent'] !== second['fleet-agent'], `a purge recreates every container: ${JSON.stringify([second, third])}`);
    const status = JSON.parse((await call(sim, 'GET', q('/v2/state/status'))).text) as { containers: Array<{ serviceName: string; containerId: string }> };
    assert.deepEqual(Object.fromEntries(status.containers.map((c) => [c.serviceName, c.containerId])), third);
  });

  it('an empty ?apikey= falls through to the header', async () => {
    assert.equal((await call(sim, 'POST', '/v1/blink?apikey=', { auth: 'Bearer appkey123' })).status, 200);
    assert.equal(sim.requests.at(-1)?.auth, 'bearer');
  });

  it('PATCH /v2/device/tags refuses with the supervisor words', async () => {
    const notString = await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"k":1}', ...json });
    assert.deepEqual([notString.status, JSON.parse(notString.text)], [
      400,
      { status: 'failed', message: 'Invalid tags body, must be an object like `{[tagKey: string]: string}`' },
    ]);
    const space = await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"a b":"x"}', ...json });
    assert.deepEqual([space.status, JSON.parse(space.text)], [400, { status: 'failed', message: 'Tag keys cannot contain whitespace' }]);
    const ok = await call(sim, 'PATCH', q('/v2/device/tags'), { body: '{"agent.mode":"on"}', ...json });
    assert.deepEqual([ok.status, JSON.parse(ok.text)], [202, { status: 'success' }]);
  });

  it('journal-logs: containerId filters by identifier, until bounds the time; no content type is set', async () => {
    const t0 = Date.parse('2026-03-01T10:00:00Z');
    const j = new SupervisorSimulator({
      journal: [
        { message: 'early agent', identifier: 'agent', at: t0 },
        { message: 'late agent', identifier: 'agent', at: t0 + 60_000 },
        { message: 'engine', identifier: 'balenad', at: t0 },
      ],
    });
    await j.start();
    try {
      const body = JSON.stringify({ containerId: 'agent', until: '2026-03-01T10:00:30Z', format: 'cat' });
      const res = await call(j, 'POST', `/v2/journal-logs?apikey=${j.apiKey}`, { body, ...json });
      assert.deepEqual([res.status, res.text, res.type], [200, 'early agent\n', null]);
      j.setVersion('14.6.0');
      const old = await call(j, 'POST', `/v2/journal-logs?apikey=${j.apiKey}`, { body, ...json });
      assert.equal(old.text, 'early agent\nlate agent\n', 'since/until are ignored before 14.7.0');
      j.setVersion('10.2.0');
      const older = await call(j, 'POST', `/v2/journal-logs?apikey=${j.apiKey}`, { body, ...json });
      assert.match(older.text.split('\n')[0] ?? '', / agent: early agent$/, 'format is ignored before 10.3.0 (short)');
    } finally {
      await j.stop();
    }
  });

  it('/v2/applications/state has appUuid, updateStatus and image only from 17.7.0', async () => {
    const fresh = JSON.parse((await call(sim, 'GET', q('/v2/applications/state'))).text);
    assert.deepEqual(Object.keys(fresh['fleet-app']).sort(), ['appId', 'appUuid', 'commit', 'services', 'updateStatus']);
    assert.deepEqual(Object.keys(fresh['fleet-app'].services.main).sort(), ['downloadProgress', 'image', 'releaseId', 'status']);
    sim.setVersion('17.6.0');
    try {
      const old = JSON.parse((await call(sim, 'GET', q('/v2/applications/state'))).text);
      assert.deepEqual(Object.keys(old['fleet-app']).sort(), ['appId', 'commit', 'services']);
      assert.deepEqual(Object.keys(old['fleet-app'].services.main).sort(), ['downloadProgress', 'releaseId', 'status']);
    } finally {
      sim.setVersion('19.0.5');
    }
  });
});

describe('SupervisorSimulator route faults and effects (for crash tests)', () => {
  const sim = new SupervisorSimulator({ apiKey: 'appkey123', appId: 55 });
  const q = (path: string) => `${path}?apikey=appkey123`;
  const restart = () => call(sim, 'POST', q('/v1/restart'), { body: '{"appId":55}', type: 'application/json' });
  before(() => sim.start());
  after(() => sim.stop());

  it('onEffect sees each request that acts, never a refused one', async () => {
    const seen: string[] = [];
    const off = sim.onEffect((e) => seen.push(`${e.kind}${e.service ? ` ${e.service}` : ''}${e.force ? ' force' : ''}`));
    await restart();
    sim.setLock('locked');
    await call(sim, 'POST', q('/v1/reboot'), { body: '{}', type: 'application/json' });
    await call(sim, 'POST', q('/v2/applications/55/stop-service'), { body: '{"serviceName":"main","force":true}', type: 'application/json' });
    sim.setLock(null);
    await call(sim, 'POST', q('/v1/blink'));
    off();
    assert.deepEqual(seen, ['restart', 'stop-service main force', 'blink']);
  });

  it('reset before acting: no reply and no effect; reset after acting: no reply, the effect happened', async () => {
    const before = sim.effects.length;
    sim.addFault({ route: 'POST /v1/restart', reset: 'before' });
    await assert.rejects(restart());
    assert.equal(sim.effects.length, before);
    sim.addFault({ route: 'POST /v1/restart', reset: 'after' });
    await assert.rejects(restart());
    assert.equal(sim.effects.length, before + 1);
    assert.deepEqual(sim.requests.slice(-2).map((r) => [r.status, r.fault]), [[0, 'reset-before'], [0, 'reset-after']]);
    assert.equal((await restart()).status, 200, 'a fault applies to `times` requests (default 1)');
  });

  it('delays before acting and before replying; a held request whose client left can be dropped', async () => {
    const arrived: string[] = [];
    const off = sim.onIncoming((r) => arrived.push(`${r.method} ${r.path}`));
    sim.addFault({ route: 'POST /v1/restart', delayBeforeMs: 300, delayAfterMs: 300 });
    const acted = new Promise<number>((resolve) => {
      const stop = sim.onEffect(() => (stop(), resolve(Date.now())));
    });
    const started = Date.now();
    await restart();
    assert.ok((await acted) - started >= 250, 'acted after the first delay');
    assert.ok(Date.now() - (await acted) >= 250, 'replied after the second delay');
    const before = sim.effects.length;
    sim.addFault({ route: (m, p) => m === 'POST' && p === '/v1/restart', delayBeforeMs: 500, dropIfClientLeft: true });
    const gone = fetch(`${sim.url}${q('/v1/restart')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"appId":55}', signal: AbortSignal.timeout(100) });
    await assert.rejects(gone);
    await sim.waitFor((r) => r.fault === 'dropped');
    assert.equal(sim.effects.length, before, 'nothing acted');
    off();
    assert.deepEqual(arrived, ['POST /v1/restart', 'POST /v1/restart']);
  });
});
