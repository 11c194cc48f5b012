/**
 * The official balena SDK drives the cloud simulator: if the SDK cannot tell it from the real API
 * for these calls, the simulator answers the agent's client faithfully too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloudSimulator } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { loadSdk, type Sdk } from '../helpers/balena-sdk.js';
import { call, T, testSeed } from '../helpers/cloud-sim.js';

const SUPERVISOR_GLOBAL_KEY = 'supervisor-global-key-0123456789';
const loaded = await loadSdk();

// Where the SDK cannot run, one skipped test says why (and the summary counts it as skipped).
if (typeof loaded === 'string') it('balena-sdk drives the cloud simulator', { skip: loaded }, () => undefined);
else describe('balena-sdk against the cloud simulator', () => {
  let cloud: CloudSimulator;
  let supervisor: SupervisorSimulator;
  const getSdk = loaded;
  const sdkFor = (): Sdk => getSdk({ apiUrl: `${cloud.url}/`, dataDirectory: false, isBrowser: false, retryRateLimitedRequests: true });
  const since = (mark: number) => cloud.requests.slice(mark).map((r) => `${r.method} ${r.path} ${r.status}`);

  before(async () => {
    supervisor = new SupervisorSimulator({ globalApiKey: SUPERVISOR_GLOBAL_KEY, appId: T.fleetId });
    await supervisor.start();
    cloud = new CloudSimulator({ seed: testSeed(), supervisor: { url: supervisor.url, apiKey: SUPERVISOR_GLOBAL_KEY } });
    await cloud.start();
  });

  after(async () => {
    await cloud.stop();
    await supervisor.stop();
  });

  describe('as the operator', () => {
    let sdk: Sdk;
    before(async () => {
      sdk = sdkFor();
      await sdk.auth.loginWithToken(T.operatorKey);
    });

    it('logs in with the API key: isLoggedIn, whoami, getUserInfo', async () => {
      assert.equal(await sdk.auth.isLoggedIn(), true);
      const info = await sdk.auth.getUserInfo();
      assert.equal(info.username, 'operator');
      assert.equal(info.email, T.email);
      const who = await sdk.auth.whoami();
      assert.equal(who?.actorType, 'user');
      const rec = await cloud.waitFor((r) => r.path === '/actor/v1/whoami' && r.auth === 'user');
      assert.equal(rec.actor, 'operator');
    });

    it('logs in with email and password; a wrong password is BalenaInvalidLoginCredentials', async () => {
      const other = sdkFor();
      await other.auth.login({ email: T.email, password: T.password });
      assert.equal(await other.auth.isLoggedIn(), true);
      assert.equal((await other.auth.getUserInfo()).username, 'operator');
      const token = await other.auth.getToken();
      assert.equal(token.split('.').length, 3, 'a JWT-shaped session token');
      const login = cloud.requests.find((r) => r.path === '/login_' && r.status === 200);
      assert.ok(login !== undefined);
      assert.ok(!JSON.stringify(cloud.requests).includes(T.password), 'the password is not recorded');
      const bad = sdkFor();
      await assert.rejects(bad.auth.login({ email: T.email, password: 'wrong' }), { code: 'BalenaInvalidLoginCredentials' });
      assert.equal(await bad.auth.isLoggedIn(), false);
    });

    it('reads the fleet by id and by slug, and the devices of the fleet', async () => {
      assert.equal((await sdk.models.application.get(T.fleetId)).app_name, 'demo-fleet');
      assert.equal((await sdk.models.application.get('operator/demo-fleet', { $select: ['id'] })).id, T.fleetId);
      const devices = await sdk.models.device.getAllByApplication(T.fleetId, { $select: ['uuid'] });
      assert.deepEqual(devices.map((d) => d.uuid), [T.uuid]);
      await assert.rejects(sdk.models.application.get(999), { code: 'BalenaApplicationNotFound' });
    });

    it('reads a device by uuid and id, its fleet name; a miss is BalenaDeviceNotFound', async () => {
      const device = await sdk.models.device.get(T.uuid);
      assert.equal(device.device_name, 'demo-device');
      assert.deepEqual(device.belongs_to__application, { __id: T.fleetId });
      assert.equal((await sdk.models.device.get(T.deviceId, { $select: ['uuid'] })).uuid, T.uuid);
      assert.equal(await sdk.models.device.getApplicationName(T.uuid), 'demo-fleet');
      assert.equal(await sdk.models.device.getName(T.otherUuid), 'other-device');
      await assert.rejects(sdk.models.device.get('0'.repeat(32)), { code: 'BalenaDeviceNotFound' });
    });

    it('sets (POST, then 409 → PATCH), reads and removes device tags', async () => {
      const mark = cloud.requests.length;
      await sdk.models.device.tags.set(T.uuid, 'agent.sdk', 'one');
      await sdk.models.device.tags.set(T.uuid, 'agent.sdk', 'two');
      assert.equal(cloud.deviceTags(T.uuid)['agent.sdk'], 'two');
      const writes = since(mark).filter((l) => !l.startsWith('GET'));
      assert.deepEqual(writes, ['POST /v7/device_tag 201', 'POST /v7/device_tag 409', 'PATCH /v7/device_tag 200']);
      const tags = await sdk.models.device.tags.getAllByDevice(T.uuid);
      assert.deepEqual(tags.map((t) => [t.tag_key, t.value]), [['agent.mode', 'normal'], ['agent.sdk', 'two'], ['location', 'lab']]);
      await sdk.models.device.tags.remove(T.uuid, 'agent.sdk');
      assert.equal(cloud.deviceTags(T.uuid)['agent.sdk'], undefined);
      const del = cloud.requests.at(-1);
      assert.equal(`${del?.method} ${del?.path} ${del?.status}`, 'DELETE /v7/device_tag 200');
    });

    it('tags whose key and value hold OData syntax: the SDK percent-encodes it inside literals, which pine accepts', async () => {
      const key = 'agent.odd/k:1';
      const value = "it's (a), b: c/d & e+f #1";
      await sdk.models.device.tags.set(T.uuid, key, 'first');
      await sdk.models.device.tags.set(T.uuid, key, value);
      assert.equal(cloud.deviceTags(T.uuid)[key], value);
      const patch = cloud.requests.filter((r) => r.method === 'PATCH' && r.path === '/v7/device_tag').at(-1);
      assert.equal(patch?.status, 200);
      assert.match(patch.query, /%2F/u, 'the "/" inside the quoted key travels encoded');
      const tags = await sdk.models.device.tags.getAllByDevice(T.uuid);
      assert.equal(tags.find((t) => t.tag_key === key)?.value, value);
      await sdk.models.device.tags.remove(T.uuid, key);
      assert.equal(cloud.deviceTags(T.uuid)[key], undefined);
    });

    it('rejects a reserved tag key with 400 (SBVR rule)', async () => {
      await assert.rejects(sdk.models.device.tags.set(T.uuid, 'io.balena.x', 'v'), { statusCode: 400 });
      assert.equal(cloud.deviceTags(T.uuid)['io.balena.x'], undefined);
    });

    it('sets, reads and removes device env vars; reads fleet env vars and tags', async () => {
      await sdk.models.device.envVar.set(T.uuid, 'SDK_VAR', 'a');
      await sdk.models.device.envVar.set(T.uuid, 'SDK_VAR', 'b');
      assert.equal(await sdk.models.device.envVar.get(T.uuid, 'SDK_VAR'), 'b');
      const vars = await sdk.models.device.envVar.getAllByDevice(T.uuid);
      assert.deepEqual(vars.map((v) => v.name), ['DEVICE_VAR', 'SDK_VAR']);
      await sdk.models.device.envVar.remove(T.uuid, 'SDK_VAR');
      assert.equal(await sdk.models.device.envVar.get(T.uuid, 'SDK_VAR'), undefined);
      const fleetVars = await sdk.models.application.envVar.getAllByApplication(T.fleetId);
      assert.deepEqual(fleetVars.map((v) => [v.name, v.value]), [['LOG_LEVEL', 'info']]);
      const fleetTags = await sdk.models.application.tags.getAllByApplication(T.fleetId);
      assert.deepEqual(fleetTags.map((t) => [t.tag_key, t.value]), [['agent.site.name', 'demo-lab']]);
      const deviceVarsOfFleet = await sdk.models.device.envVar.getAllByApplication(T.fleetId);
      assert.deepEqual(deviceVarsOfFleet.map((v) => v.value), ['d1']);
    });

    it('reads service variables through service_install', async () => {
      const vars = await sdk.models.device.serviceVar.getAllByDevice(T.uuid);
      assert.deepEqual(vars.map((v) => [v.name, v.value]), [['DEVICE_SERVICE_VAR', 'ds1']]);
      assert.equal(await sdk.models.device.serviceVar.get(T.uuid, 'main', 'DEVICE_SERVICE_VAR'), 'ds1');
    });

    it('reboots through the supervisor proxy; the supervisor receives it', async () => {
      const before = supervisor.reboots;
      await sdk.models.device.reboot(T.uuid);
      assert.equal(supervisor.reboots, before + 1);
      const rec = await cloud.waitFor((r) => r.path === '/supervisor/v1/reboot');
      assert.equal(rec.status, 202);
      assert.deepEqual(rec.body, { deviceId: T.deviceId, data: { force: false } });
      const sup = supervisor.requests.find((r) => r.path === '/v1/reboot');
      assert.equal(sup?.status, 202, 'the global key was accepted');
      assert.equal(sup.auth, 'query', 'the proxy sends the key as ?apikey=, as the real API does');
      assert.equal(sup.query['apikey'], '[redacted]');
    });

    it('restarts a service through the supervisor proxy', async () => {
      await sdk.models.device.restartService(T.uuid, 1001);
      const rec = await cloud.waitFor((r) => r.path === `/supervisor/v2/applications/${T.fleetId}/restart-service`);
      assert.equal(rec.status, 200);
      assert.deepEqual(rec.body, { deviceId: T.deviceId, appId: T.fleetId, data: { appId: T.fleetId, imageId: 1001 } });
      const sup = supervisor.requests.find((r) => r.path === `/v2/applications/${T.fleetId}/restart-service`);
      assert.ok(sup !== undefined, 'the supervisor received restart-service');
      assert.equal(sup.status, 200);
      assert.equal(sup.auth, 'query');
      assert.deepEqual(sup.body, { appId: T.fleetId, imageId: 1001 });
    });

    it('reads device logs (user credentials)', async () => {
      const posted = await call(cloud, `/device/v2/${T.uuid}/logs`, {
        method: 'POST',
        key: T.deviceKey,
        body: [{ message: 'hello from the device', timestamp: 1_700_000_000_000, isSystem: true }],
      });
      assert.equal(posted.status, 201);
      const history = await sdk.logs.history(T.uuid, { count: 5 });
      assert.deepEqual(history.map((l) => [l.message, l.isSystem]), [['hello from the device', true]]);
      const rec = cloud.requests.at(-1);
      assert.equal(`${rec?.method} ${rec?.path} ${rec?.status}`, `GET /device/v2/${T.uuid}/logs 200`);
    });

    it('retries a 429 after Retry-After with retryRateLimitedRequests', async () => {
      cloud.rateLimit({ count: 1, retryAfterSeconds: 1 });
      const device = await sdk.models.device.get(T.uuid, { $select: ['device_name'] });
      assert.equal(device.device_name, 'demo-device');
      const statuses = cloud.requests.slice(-2).map((r) => r.status);
      assert.deepEqual(statuses, [429, 200]);
    });
  });

  describe('as the device (device API key)', () => {
    let sdk: Sdk;
    before(async () => {
      sdk = sdkFor();
      await sdk.auth.loginWithToken(T.deviceKey);
    });

    it('is logged in as a device actor, not a user', async () => {
      assert.equal(await sdk.auth.isLoggedIn(), true);
      const who = await sdk.auth.whoami();
      assert.equal(who?.actorType, 'device');
      await assert.rejects(sdk.auth.getUserInfo(), /not of a user/);
    });

    it('reads its own device and fleet; other devices are not found (filtered, not 404)', async () => {
      assert.equal((await sdk.models.device.get(T.uuid)).device_name, 'demo-device');
      assert.equal((await sdk.models.application.get(T.fleetId)).app_name, 'demo-fleet');
      await assert.rejects(sdk.models.device.get(T.otherUuid), { code: 'BalenaDeviceNotFound' });
      await assert.rejects(sdk.models.application.get(T.otherFleetId), { code: 'BalenaApplicationNotFound' });
      const miss = cloud.requests.filter((r) => r.path === `/v7/device(uuid='${T.otherUuid}')`).at(-1);
      assert.equal(miss?.status, 200);
      assert.equal(miss?.auth, 'device');
    });

    it('sets and reads its own tags', async () => {
      await sdk.models.device.tags.set(T.uuid, 'agent.health', 'ok');
      await sdk.models.device.tags.set(T.uuid, 'agent.health', 'degraded');
      assert.equal(cloud.deviceTags(T.uuid)['agent.health'], 'degraded');
      const tags = await sdk.models.device.tags.getAllByDevice(T.uuid);
      assert.ok(tags.some((t) => t.tag_key === 'agent.health' && t.value === 'degraded'));
      const all = await sdk.pine.get({ resource: 'device_tag', options: { $select: ['tag_key', 'value'] } });
      assert.ok(all.length > 0);
      assert.ok(all.every((t) => t.value !== 'secret'), 'another device’s tags are invisible');
    });

    it('removes its own tag (DELETE with the natural-key $filter)', async () => {
      await sdk.models.device.tags.set(T.uuid, 'agent.gone', 'soon');
      const mark = cloud.requests.length;
      await sdk.models.device.tags.remove(T.uuid, 'agent.gone');
      assert.equal(cloud.deviceTags(T.uuid)['agent.gone'], undefined);
      const del = cloud.requests.slice(mark).find((r) => r.method === 'DELETE');
      assert.equal(`${del?.path} ${del?.status} ${del?.auth}`, '/v7/device_tag 200 device');
      assert.equal(del?.query, "$filter=device%20eq%201%20and%20tag_key%20eq%20%27agent.gone%27");
    });

    it('cannot tag another device: by uuid the lookup finds nothing; by id the POST is 401', async () => {
      await assert.rejects(sdk.models.device.tags.set(T.otherUuid, 'agent.x', 'y'), { code: 'BalenaDeviceNotFound' });
      const mark = cloud.requests.length;
      // With an id the SDK POSTs first; on 401 it looks the parent up and reports it missing.
      await assert.rejects(sdk.models.device.tags.set(T.otherDeviceId, 'agent.x', 'y'), { code: 'BalenaDeviceNotFound' });
      assert.deepEqual(since(mark), ['POST /v7/device_tag 401', 'GET /v7/device(2) 200']);
      assert.equal(cloud.deviceTags(T.otherUuid)['agent.x'], undefined);
    });

    it('reads fleet variables but may not delete a config variable', async () => {
      const fleetVars = await sdk.models.application.envVar.getAllByApplication(T.fleetId);
      assert.deepEqual(fleetVars.map((v) => v.name), ['LOG_LEVEL']);
      await assert.rejects(sdk.models.device.configVar.remove(T.uuid, 'BALENA_SUPERVISOR_POLL_INTERVAL'), { statusCode: 401 });
      assert.equal(await sdk.models.device.configVar.get(T.uuid, 'BALENA_SUPERVISOR_POLL_INTERVAL'), '900000');
    });

    it('cannot read device logs: 401', async () => {
      await assert.rejects(sdk.logs.history(T.uuid), { statusCode: 401 });
    });

    it('reboots itself through the proxy (supervisor-proxy-write on its own device)', async () => {
      const before = supervisor.reboots;
      await sdk.models.device.reboot(T.uuid);
      assert.equal(supervisor.reboots, before + 1);
    });
  });
});
