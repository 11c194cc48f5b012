/** The cloud simulator over real HTTP: OData answers, statuses, permissions, device endpoints. */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { CloudSimulator } from '../../src/sim/cloud/simulator.js';
import { ManualClock } from '../../src/lib/clock.js';
import { call, startCloud, T } from '../helpers/cloud-sim.js';

const POLL =
  `/v7/device(uuid='${T.uuid}')?$select=id,device_name,belongs_to__application` +
  "&$expand=device_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.')),device_environment_variable($select=name,value)," +
  'belongs_to__application($select=id,app_name;$expand=application_tag($select=tag_key,value),application_environment_variable($select=name,value))';

describe('cloud simulator: OData', () => {
  let sim: CloudSimulator;
  before(async () => {
    sim = await startCloud();
  });
  after(() => sim.stop());

  it('answers the one-request poll query with the device key', async () => {
    const res = await call(sim, POLL, { key: T.deviceKey });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.deepEqual(res.json(), {
      d: [
        {
          id: T.deviceId,
          device_name: 'demo-device',
          belongs_to__application: [
            {
              id: T.fleetId,
              app_name: 'demo-fleet',
              application_tag: [{ tag_key: 'agent.site.name', value: 'demo-lab' }],
              application_environment_variable: [{ name: 'LOG_LEVEL', value: 'info' }],
            },
          ],
          device_tag: [{ tag_key: 'agent.mode', value: 'normal' }],
          device_environment_variable: [{ name: 'DEVICE_VAR', value: 'd1' }],
        },
      ],
    });
  });

  it('answers 400 "Malformed url" for percent-encoded OData syntax; accepts %20, +, %27, %24', async () => {
    for (const bad of ['$select=id%2Cuuid', '$filter=device%2Fuuid%20eq%201', '$expand=device_tag%28$select=value%29', "$filter=device/any(d%3Ad/id eq 1)"]) {
      const res = await call(sim, `/v7/device_tag?${bad}`, { key: T.operatorKey });
      assert.equal(res.status, 400, bad);
      // pine's message quotes the URL as it arrived.
      assert.equal(res.text, `Malformed url: '/v7/device_tag?${bad.replace(/ /gu, '%20')}'`);
    }
    const ok = await call(sim, `/v7/device?%24select=id&$filter=uuid+eq+%27${T.uuid}%27%20and%20id%20eq%201`, { key: T.operatorKey });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { d: [{ id: T.deviceId }] });
  });

  it('ignores parameters that are not OData options, but parses them as pine does: a bad %-escape is a bare 500', async () => {
    const res = await call(sim, `/v7/device?foo=bar%20baz&$select=id&$filter=id eq ${T.deviceId}`, { key: T.operatorKey });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { d: [{ id: T.deviceId }] });
    const syntax = await call(sim, '/v7/device?foo=a,b&$select=id', { key: T.operatorKey });
    assert.deepEqual([syntax.status, syntax.text], [400, "Malformed url: '/v7/device?foo=a,b&$select=id'"]);
    const badEscape = await call(sim, `/v7/device?foo=%zz&$select=id`, { key: T.operatorKey });
    assert.deepEqual([badEscape.status, badEscape.text], [500, '']);
  });

  it('answers 501 for OData the real API serves but the simulator does not implement', async () => {
    const res = await call(sim, '/v7/device?$filter=id add 1 eq 2', { key: T.operatorKey });
    assert.equal(res.status, 501);
    assert.match(res.text, /^Not supported by the cloud simulator: /u);
  });

  it('/$count answers the number of visible rows that pass $filter', async () => {
    const all = await call(sim, '/v7/device_tag/$count', { key: T.operatorKey });
    assert.deepEqual([all.status, all.json()], [200, { d: 3 }]);
    const filtered = await call(sim, `/v7/device_tag/$count?$filter=device eq ${T.deviceId}`, { key: T.operatorKey });
    assert.deepEqual([filtered.status, filtered.json()], [200, { d: 2 }]);
    const own = await call(sim, '/v7/device_tag/$count', { key: T.deviceKey });
    assert.deepEqual([own.status, own.json()], [200, { d: 2 }]);
  });

  it('a filtered miss is 200 {"d":[]}, not 404; another device is invisible to a device key', async () => {
    const miss = await call(sim, `/v7/device(uuid='${'0'.repeat(32)}')`, { key: T.operatorKey });
    assert.deepEqual([miss.status, miss.json()], [200, { d: [] }]);
    const other = await call(sim, `/v7/device(uuid='${T.otherUuid}')?$select=id`, { key: T.deviceKey });
    assert.deepEqual([other.status, other.json()], [200, { d: [] }]);
    const otherTags = await call(sim, `/v7/device_tag?$select=value&$filter=device eq ${T.otherDeviceId}`, { key: T.deviceKey });
    assert.deepEqual(otherTags.json(), { d: [] });
    const asOperator = await call(sim, `/v7/device_tag?$select=value&$filter=device/uuid eq '${T.otherUuid}'`, { key: T.operatorKey });
    assert.deepEqual(asOperator.json(), { d: [{ value: 'secret' }] });
  });

  it('401 without a key, with an unknown key, and for resources a device key has no permission on', async () => {
    assert.equal((await call(sim, '/v7/device')).status, 401);
    assert.equal((await call(sim, '/v7/device', { key: 'not-a-key' })).status, 401);
    assert.equal(sim.requests.at(-1)?.auth, 'invalid');
    const create = await call(sim, '/v7/application_tag', { key: T.deviceKey, method: 'POST', body: { application: T.fleetId, tag_key: 'x', value: 'y' } });
    assert.equal(create.status, 401);
    const delConfig = await call(sim, '/v7/device_config_variable?$filter=device eq 1', { key: T.deviceKey, method: 'DELETE' });
    assert.equal(delConfig.status, 401);
    const foreignPost = await call(sim, '/v7/device_tag', { key: T.deviceKey, method: 'POST', body: { device: T.otherDeviceId, tag_key: 'x', value: 'y' } });
    assert.equal(foreignPost.status, 401);
  });

  it('POST 201 with the row; duplicate 409 mentioning "unique"; PATCH by natural key 200; rule violations 400', async () => {
    const created = await call(sim, '/v7/device_tag', { key: T.deviceKey, method: 'POST', body: { device: T.deviceId, tag_key: 'agent.new', value: 'a' } });
    assert.equal(created.status, 201);
    assert.deepEqual({ ...created.json(), id: 0, created_at: '' }, { id: 0, created_at: '', tag_key: 'agent.new', value: 'a', device: { __id: T.deviceId } });
    const dup = await call(sim, '/v7/device_tag', { key: T.deviceKey, method: 'POST', body: { device: T.deviceId, tag_key: 'agent.new', value: 'b' } });
    assert.equal(dup.status, 409);
    assert.match(dup.text, /unique/iu);
    const patched = await call(sim, `/v7/device_tag(device=${T.deviceId},tag_key='agent.new')`, { key: T.deviceKey, method: 'PATCH', body: { value: 'b' } });
    assert.deepEqual([patched.status, patched.text], [200, '']);
    assert.equal(sim.deviceTags(T.uuid)['agent.new'], 'b');
    for (const tag_key of ['has space', 'io.balena.x', 'io.resin.y', '', 'k'.repeat(101)]) {
      const res = await call(sim, '/v7/device_tag', { key: T.deviceKey, method: 'POST', body: { device: T.deviceId, tag_key, value: 'v' } });
      assert.equal(res.status, 400, tag_key);
    }
    const tooLong = await call(sim, '/v7/device_tag', { key: T.deviceKey, method: 'POST', body: { device: T.deviceId, tag_key: 'long', value: 'v'.repeat(60_159) } });
    assert.equal(tooLong.status, 400);
    const badVar = await call(sim, '/v7/device_environment_variable', { key: T.deviceKey, method: 'POST', body: { device: T.deviceId, name: 'BALENA_X', value: 'v' } });
    assert.equal(badVar.status, 400);
  });

  it('PATCH/DELETE that match nothing (or another device) are 200 and change nothing', async () => {
    const patch = await call(sim, `/v7/device(${T.otherDeviceId})`, { key: T.deviceKey, method: 'PATCH', body: { note: 'hijack' } });
    assert.equal(patch.status, 200);
    assert.equal(sim.device(T.otherUuid)?.['note'], null);
    const del = await call(sim, `/v7/device_tag?$filter=device eq ${T.otherDeviceId} and tag_key eq 'agent.mode'`, { key: T.deviceKey, method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal(sim.deviceTags(T.otherUuid)['agent.mode'], 'secret');
    const own = await call(sim, `/v7/device(uuid='${T.uuid}')`, { key: T.deviceKey, method: 'PATCH', body: { note: 'hello' } });
    assert.equal(own.status, 200);
    assert.equal(sim.device(T.uuid)?.['note'], 'hello');
  });

  it('reads variables with the queries of CONTRACT §4.4', async () => {
    const service = await call(sim, `/v7/service_environment_variable?$filter=service/any(s:s/application eq ${T.fleetId})&$expand=service($select=service_name)`, { key: T.deviceKey });
    assert.deepEqual(service.json().d.map((r: { name: string; service: Array<{ service_name: string }> }) => [r.name, r.service[0]?.service_name]), [['SERVICE_VAR', 'main']]);
    const deviceService = await call(
      sim,
      `/v7/device_service_environment_variable?$filter=service_install/any(si:si/device eq ${T.deviceId})&$expand=service_install($expand=installs__service($select=id,service_name))`,
      { key: T.deviceKey },
    );
    const [row] = deviceService.json().d;
    assert.equal(row.name, 'DEVICE_SERVICE_VAR');
    assert.equal(row.service_install[0].installs__service[0].service_name, 'main');
    const config = await call(sim, `/v7/application_config_variable?$filter=application eq ${T.fleetId}&$select=name,value`, { key: T.deviceKey });
    assert.deepEqual(config.json(), { d: [{ name: 'BALENA_HOST_CONFIG_gpu_mem', value: '16' }] });
  });

  it('a device key creates service variables only for a service of its own fleet', async () => {
    const foreign = await call(sim, '/v7/service', { key: T.operatorKey, method: 'POST', body: { application: T.otherFleetId, service_name: 'elsewhere' } });
    assert.equal(foreign.status, 201);
    const install = await call(sim, '/v7/service_install', { key: T.operatorKey, method: 'POST', body: { device: T.deviceId, installs__service: foreign.json().id } });
    assert.equal(install.status, 201);
    const denied = await call(sim, '/v7/device_service_environment_variable', { key: T.deviceKey, method: 'POST', body: { service_install: install.json().id, name: 'X', value: '1' } });
    assert.equal(denied.status, 401);
    const own = await call(sim, `/v7/service_install?$select=id&$filter=device eq ${T.deviceId} and installs__service eq 1`, { key: T.deviceKey });
    const allowed = await call(sim, '/v7/device_service_environment_variable', { key: T.deviceKey, method: 'POST', body: { service_install: own.json().d[0].id, name: 'X', value: '1' } });
    assert.equal(allowed.status, 201);
  });

  it('unknown routes and resources are 404', async () => {
    assert.equal((await call(sim, '/v7/nothing', { key: T.operatorKey })).status, 404);
    assert.equal((await call(sim, '/v6/device', { key: T.operatorKey })).status, 404);
    assert.equal((await call(sim, '/elsewhere', { key: T.operatorKey })).status, 404);
  });
});

describe('cloud simulator: device endpoints', () => {
  let sim: CloudSimulator;
  before(async () => {
    sim = await startCloud();
  });
  after(() => sim.stop());

  it('PATCH /device/v3/tags upserts in bulk; 400 for bad keys or no tags; 401 for other devices', async () => {
    const ok = await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { 'agent.a': '1', 'agent.mode': 'maintenance' } } });
    assert.equal(ok.status, 200);
    assert.equal(sim.deviceTags(T.uuid)['agent.a'], '1');
    assert.equal(sim.deviceTags(T.uuid)['agent.mode'], 'maintenance');
    assert.equal((await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { 'bad key': 'x' } } })).status, 400);
    assert.equal((await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { k: 5 } } })).status, 400);
    assert.equal((await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: {} } })).status, 400);
    assert.equal((await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.otherUuid]: { a: 'b' } } })).status, 401);
    assert.equal((await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: {} })).status, 401);
    assert.equal((await call(sim, '/device/v3/tags', { method: 'PATCH', body: { [T.uuid]: { a: 'b' } } })).status, 401);
  });

  it('PATCH /device/v3/tags resolves every uuid before validating (401 beats 400); one uuid without tags is fine', async () => {
    const mixed = await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { 'bad key': 'x' }, [T.otherUuid]: { a: 'b' } } });
    assert.equal(mixed.status, 401);
    const before = sim.deviceTags(T.uuid);
    const partial = await call(sim, '/device/v3/tags', { key: T.deviceKey, method: 'PATCH', body: { [T.uuid]: { 'agent.ok': 'y', 'bad key': 'x' } } });
    assert.equal(partial.status, 400);
    assert.deepEqual(sim.deviceTags(T.uuid), before, 'one transaction: nothing written');
    const operator = await call(sim, '/device/v3/tags', { key: T.operatorKey, method: 'PATCH', body: { [T.uuid]: {}, [T.otherUuid]: { 'agent.bulk': '2' } } });
    assert.equal(operator.status, 200);
    assert.equal(sim.deviceTags(T.otherUuid)['agent.bulk'], '2');
  });

  it('log-stream takes gzip NDJSON, keeps isStdErr (not isStderr), skips uuid and non-log lines, answers 201', async () => {
    const lines = [
      { message: 'one', timestamp: 1, isSystem: true },
      { message: 'two', timestamp: 2, isStdErr: true, serviceId: 11 },
      { message: 'skipped', timestamp: 3, uuid: T.uuid },
      { message: 'no timestamp' },
      { message: 'lower-case e', timestamp: 4, isStderr: true },
    ].map((l) => JSON.stringify(l));
    const res = await call(sim, `/device/v2/${T.uuid}/log-stream`, {
      key: T.deviceKey,
      method: 'POST',
      rawBody: gzipSync(`${lines.join('\n')}\n`),
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(sim.logLines(T.uuid).slice(-3), [
      { message: 'one', timestamp: 1, isSystem: true },
      { message: 'two', timestamp: 2, isStdErr: true, serviceId: 11 },
      { message: 'lower-case e', timestamp: 4 },
    ]);
  });

  it('log-stream: a line that is not JSON (or a broken gzip) ends it with 400, keeping the lines before', async () => {
    const before = sim.logLines(T.uuid).length;
    const body = [JSON.stringify({ message: 'kept', timestamp: 5 }), 'not json', JSON.stringify({ message: 'dropped', timestamp: 6 })].join('\n');
    const res = await call(sim, `/device/v2/${T.uuid}/log-stream`, { key: T.deviceKey, method: 'POST', rawBody: `${body}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(res.status, 400);
    assert.deepEqual(sim.logLines(T.uuid).slice(before).map((l) => l.message), ['kept']);
    const badGzip = await call(sim, `/device/v2/${T.uuid}/log-stream`, {
      key: T.deviceKey,
      method: 'POST',
      rawBody: 'plain text, not gzip',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    });
    assert.equal(badGzip.status, 400);
  });

  it('log-stream: exactly application/x-ndjson (else 415); no key 401; a uuid the key cannot see 404', async () => {
    const post = (uuid: string, type: string, key?: string) =>
      call(sim, `/device/v2/${uuid}/log-stream`, { ...(key !== undefined ? { key } : {}), method: 'POST', rawBody: '', headers: { 'content-type': type } });
    assert.equal((await post(T.uuid, 'application/json', T.deviceKey)).status, 415);
    assert.equal((await post(T.uuid, 'application/x-ndjson; charset=utf-8', T.deviceKey)).status, 415);
    assert.equal((await post(T.uuid, 'application/x-ndjson')).status, 401);
    assert.equal((await post(T.uuid, 'application/x-ndjson', 'not-a-key')).status, 401);
    const other = await post(T.otherUuid, 'application/x-ndjson', T.deviceKey);
    assert.deepEqual([other.status, other.text], [404, `No device with uuid ${T.otherUuid}`]);
    assert.equal((await post(T.uuid, 'application/x-ndjson', T.deviceKey)).status, 201);
  });

  it('batch logs: at most 10 per request, 15 requests per 10 s, then 429 with Retry-After seconds', async () => {
    const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ message: `b${i}`, timestamp: i }));
    const tooMany = await call(sim, `/device/v2/${T.uuid}/logs`, { key: T.deviceKey, method: 'POST', body: batch(11) });
    assert.equal(tooMany.status, 400);
    // The rate limiter counts every request, the oversized one included: 14 more fit in the window.
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await call(sim, `/device/v2/${T.uuid}/logs`, { key: T.deviceKey, method: 'POST', body: batch(1) })).status);
    assert.deepEqual(new Set(statuses), new Set([201]));
    const limited = await call(sim, `/device/v2/${T.uuid}/logs`, { key: T.deviceKey, method: 'POST', body: batch(1) });
    assert.equal(limited.status, 429);
    assert.match(String(limited.headers['retry-after']), /^\d+$/u);
  });

  it('a body that is not JSON is 400 "Invalid JSON body" on pine and on batch logs, and stores nothing', async () => {
    const headers = { 'content-type': 'application/json' };
    const pine = await call(sim, '/v7/device_tag', { key: T.otherDeviceKey, method: 'POST', rawBody: '{not json', headers });
    assert.deepEqual([pine.status, pine.text], [400, 'Invalid JSON body']);
    const logs = await call(sim, `/device/v2/${T.otherUuid}/logs`, { key: T.otherDeviceKey, method: 'POST', rawBody: '[{', headers });
    assert.deepEqual([logs.status, logs.text], [400, 'Invalid JSON body']);
    assert.deepEqual(sim.logLines(T.otherUuid), []);
  });

  it('reading logs needs a user: device key 401, operator 200', async () => {
    assert.equal((await call(sim, `/device/v2/${T.uuid}/logs`, { key: T.deviceKey })).status, 401);
    const res = await call(sim, `/device/v2/${T.uuid}/logs?count=2`, { key: T.operatorKey });
    assert.equal(res.status, 200);
    assert.equal(res.json().length, 2);
    const negative = await call(sim, `/device/v2/${T.uuid}/logs?count=-5`, { key: T.operatorKey });
    assert.deepEqual([negative.status, negative.json()], [200, []]);
  });

  it('login, whoami and the recorded requests never hold a key or password', async () => {
    const login = await call(sim, '/login_', { method: 'POST', body: { username: T.email, password: T.password } });
    assert.equal(login.status, 200);
    const who = await call(sim, '/user/v1/whoami', { key: login.text });
    assert.deepEqual(who.json(), { id: 1, username: 'operator', email: T.email });
    assert.equal((await call(sim, '/user/v1/whoami', { key: T.deviceKey })).status, 401);
    assert.equal((await call(sim, `/v7/device?apikey=${T.deviceKey}&$select=id`)).status, 200);
    const recorded = JSON.stringify(sim.requests);
    for (const secret of [T.deviceKey, T.operatorKey, T.password, login.text]) assert.ok(!recorded.includes(secret));
  });
});

describe('cloud simulator: batch log rate limit (manual clock)', () => {
  it('counts before the credential; blocks the uuid for 10 s; Retry-After in whole seconds; 404 for a uuid the key cannot see', async () => {
    const clock = new ManualClock();
    const sim = await startCloud({ clock });
    try {
      const post = (uuid: string, key?: string) =>
        call(sim, `/device/v2/${uuid}/logs`, { ...(key !== undefined ? { key } : {}), method: 'POST', body: [{ message: 'm', timestamp: 1 }] });
      assert.deepEqual([(await post(T.otherUuid, T.deviceKey)).status], [404]);
      await clock.advance(1_000);
      const unauthenticated: number[] = [];
      for (let i = 0; i < 15; i++) unauthenticated.push((await post(T.uuid)).status);
      assert.deepEqual(new Set(unauthenticated), new Set([401]));
      const blocked = await post(T.uuid, T.deviceKey);
      assert.deepEqual([blocked.status, blocked.headers['retry-after']], [429, '10']);
      await clock.advance(9_001);
      const still = await post(T.uuid, T.deviceKey);
      assert.deepEqual([still.status, still.headers['retry-after']], [429, '1']);
      await clock.advance(999);
      assert.equal((await post(T.uuid, T.deviceKey)).status, 201);
      assert.deepEqual(sim.logLines(T.uuid).map((l) => l.message), ['m']);
    } finally {
      await sim.stop();
    }
  });
});
