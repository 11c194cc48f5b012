import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { CloudClient, KEY_REVOKED, type CloudClientOptions } from '../../src/cloud/client.js';
import { CloudSimulator, DEMO, demoSeed, type CloudSeed } from '../../src/sim/cloud/simulator.js';
import { ManualClock, systemClock, type Clock } from '../../src/lib/clock.js';
import { AgentError } from '../../src/lib/errors.js';
import { drive } from '../helpers/cloud-mock.js';

const KEY = 'itest-device-key-5b0e2f1c9d8a7b6c';
const UUID = DEMO.deviceUuid;

function seed(): CloudSeed {
  const base = demoSeed({ deviceKey: KEY });
  return {
    ...base,
    deviceTags: [{ device: DEMO.deviceId, tag_key: 'agent.state', value: 'ok' }, { device: DEMO.deviceId, tag_key: 'owner', value: 'ops' }],
    applicationTags: [...(base.applicationTags ?? []), { application: DEMO.fleetId, tag_key: 'site', value: 'north' }],
    deviceEnv: [{ device: DEMO.deviceId, name: 'A', value: 'device' }, { device: DEMO.deviceId, name: 'B', value: 'device' }],
    applicationEnv: [{ application: DEMO.fleetId, name: 'A', value: 'fleet' }, { application: DEMO.fleetId, name: 'C', value: 'fleet' }, { application: DEMO.fleetId, name: 'D', value: 'fleet' }],
    services: [{ id: 1, application: DEMO.fleetId, service_name: 'main' }, { id: 2, application: DEMO.fleetId, service_name: 'other' }],
    serviceEnv: [{ service: 1, name: 'C', value: 'fleet+main' }, { service: 2, name: 'D', value: 'fleet+other' }],
    deviceServiceEnv: [{ device: DEMO.deviceId, service: 1, name: 'B', value: 'device+main' }],
    deviceConfig: [{ device: DEMO.deviceId, name: 'BALENA_SUPERVISOR_POLL_INTERVAL', value: '900000' }],
    applicationConfig: [{ application: DEMO.fleetId, name: 'BALENA_SUPERVISOR_POLL_INTERVAL', value: '600000' }, { application: DEMO.fleetId, name: 'RESIN_HOST_CONFIG_gpu_mem', value: '64' }],
  };
}

describe('CloudClient against the cloud simulator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function setup(opts: { clock?: Clock; client?: Partial<CloudClientOptions>; simClock?: Clock } = {}) {
    const clock = opts.clock ?? systemClock;
    const sim = new CloudSimulator({ seed: seed(), clock: opts.simClock ?? clock });
    const url = await sim.start();
    const dispatcher = new Agent();
    cleanups.push(() => sim.stop(), () => dispatcher.close());
    const client = new CloudClient({ baseUrl: url, apiKey: KEY, deviceUuid: UUID, dispatcher, clock, random: () => 0.5, ...opts.client });
    return { sim, url, client, dispatcher };
  }

  function keyFree(err: unknown): boolean {
    return !(err instanceof Error) || (!err.message.includes(KEY) && !JSON.stringify(err).includes(KEY));
  }

  it('polls in exactly one request with the documented query', async () => {
    const { sim, client } = await setup();
    const snap = await client.poll({ tagPrefix: 'agent.' });
    assert.equal(sim.requests.length, 1);
    const r = sim.requests[0]!;
    assert.equal(r.method, 'GET');
    assert.equal(r.path, `/v7/device(uuid='${UUID}')`);
    assert.equal(
      r.query,
      '$select=id,uuid,device_name,supervisor_version,os_version,is_online' +
        "&$expand=device_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.')),device_environment_variable($select=name,value)," +
        "belongs_to__application($select=id,app_name;$expand=application_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.')),application_environment_variable($select=name,value))",
    );
    assert.equal(r.status, 200);
    assert.equal(r.auth, 'device');
    assert.deepEqual(snap.device, { id: DEMO.deviceId, uuid: UUID, deviceName: 'demo-device', appId: DEMO.fleetId, appName: 'demo-fleet', supervisorVersion: '17.8.0', osVersion: 'balenaOS 6.5.0', isOnline: true });
    assert.deepEqual(snap.deviceTags, { 'agent.state': 'ok' });
    assert.deepEqual(snap.fleetTags, { 'agent.site.name': 'demo-lab' });
    assert.deepEqual(snap.deviceVars, { A: 'device', B: 'device' });
    assert.deepEqual(snap.fleetVars, { A: 'fleet', C: 'fleet', D: 'fleet' });
    const all = await client.poll();
    assert.deepEqual(all.fleetTags, { 'agent.site.name': 'demo-lab', site: 'north' });
    assert.equal(sim.requests.length, 2);
  });

  it('a device not visible to the key is NOT_FOUND', async () => {
    const { url, dispatcher } = await setup();
    const other = new CloudClient({ baseUrl: url, apiKey: KEY, deviceUuid: 'f'.repeat(32), dispatcher, clock: systemClock });
    await assert.rejects(other.device(), (e: unknown) => e instanceof AgentError && e.code === 'NOT_FOUND' && keyFree(e));
  });

  it('reads, upserts (POST, then 409 → PATCH), bulk-sets and removes tags', async () => {
    const { sim, client } = await setup();
    assert.deepEqual(await client.tags(), { 'agent.state': 'ok', owner: 'ops' });
    const before = sim.requests.length;
    await client.setTag('new.key', "it's a & b #1");
    await client.setTag('owner', 'platform');
    assert.deepEqual(
      sim.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`),
      ['POST /v7/device_tag 201', 'POST /v7/device_tag 409', "PATCH /v7/device_tag(device=1,tag_key='owner') 200"],
    );
    await client.setTags({ 'agent.a': '1', owner: 'bulk' });
    const bulk = sim.requests.at(-1)!;
    assert.equal(`${bulk.method} ${bulk.path} ${bulk.status}`, 'PATCH /device/v3/tags 200');
    assert.deepEqual(bulk.body, { [UUID]: { 'agent.a': '1', owner: 'bulk' } });
    await client.removeTag('agent.state');
    const del = sim.requests.at(-1)!;
    assert.equal(`${del.method} ${del.path} ${del.status}`, 'DELETE /v7/device_tag 200');
    assert.equal(del.query, "$filter=device%20eq%201%20and%20tag_key%20eq%20'agent.state'");
    assert.deepEqual(sim.deviceTags(UUID), { 'new.key': "it's a & b #1", owner: 'bulk', 'agent.a': '1' });
    assert.deepEqual(await client.tags(), sim.deviceTags(UUID));
  });

  it('merges variables with the CONTRACT §4.4 precedence', async () => {
    const { client } = await setup();
    const vars = await client.variables('main');
    assert.deepEqual(
      vars.env.map((v) => [v.name, v.value, v.source]),
      [
        ['A', 'device', 'device'],
        ['B', 'device+main', 'device+service'],
        ['C', 'fleet+main', 'fleet+service'],
        ['D', 'fleet', 'fleet'],
      ],
    );
    assert.deepEqual(
      vars.config.map((v) => [v.name, v.value, v.source]),
      [
        ['BALENA_SUPERVISOR_POLL_INTERVAL', '900000', 'device-config'],
        ['RESIN_HOST_CONFIG_gpu_mem', '64', 'fleet-config'],
      ],
    );
  });

  it('401 after working: "key revoked", one request, no retry, no key', async () => {
    const { sim, client } = await setup();
    await client.device();
    sim.revokeDevice(UUID);
    const err = await client.poll().catch((e: unknown) => e);
    assert.ok(err instanceof AgentError && err.code === 'UNAUTHORIZED', String(err));
    assert.equal(err.message, KEY_REVOKED);
    assert.ok(keyFree(err));
    assert.equal(sim.requests.length, 2);
  });

  it('401 from the start names the variable to check', async () => {
    const { url, dispatcher, sim } = await setup();
    const wrong = new CloudClient({ baseUrl: url, apiKey: 'wrong-key-000000000000', deviceUuid: UUID, dispatcher, clock: systemClock });
    const err = await wrong.tags().catch((e: unknown) => e);
    assert.ok(err instanceof AgentError && err.code === 'UNAUTHORIZED');
    assert.match(err.message, /BALENA_API_KEY/);
    assert.ok(!err.message.includes('wrong-key'));
    assert.equal(sim.requests.length, 1);
  });

  it('403 and a missing route (404) are typed and not retried', async () => {
    const { sim, url, dispatcher, client } = await setup();
    sim.failNext(1, 403, '{"error":"Forbidden"}');
    await assert.rejects(client.device(), { code: 'FORBIDDEN' });
    const lost = new CloudClient({ baseUrl: `${url}/nowhere`, apiKey: KEY, deviceUuid: UUID, dispatcher, clock: systemClock });
    await assert.rejects(lost.device(), (e: unknown) => e instanceof AgentError && e.code === 'NOT_FOUND' && (e as { status?: number }).status === 404);
    assert.equal(sim.requests.length, 2);
  });

  it('5xx: bounded jittered retries, then SERVER_ERROR', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock, client: { maxRetries: 2 } });
    sim.failNext(10, 502, 'Bad Gateway');
    await assert.rejects(drive(clock, client.device()), { code: 'SERVER_ERROR' });
    assert.equal(sim.requests.length, 3);
    const at = sim.requests.map((r) => r.at - sim.requests[0]!.at);
    assert.deepEqual(at, [0, 500, 1500]);
  });

  it('a 429 storm with Retry-After: no request inside any window', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock });
    sim.rateLimit({ count: 3, retryAfterSeconds: 30 });
    const device = await drive(clock, client.device());
    assert.equal(device.id, DEMO.deviceId);
    assert.deepEqual(sim.requests.map((r) => r.status), [429, 429, 429, 200]);
    for (let i = 1; i < sim.requests.length; i++) assert.ok(sim.requests[i]!.at - sim.requests[i - 1]!.at >= 30_000);
  });

  it('a 429 storm without Retry-After: holds of at least 60 s, then RATE_LIMITED', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock, client: { maxRetries: 2 } });
    sim.rateLimit({ count: 10 });
    await assert.rejects(drive(clock, client.device()), { code: 'RATE_LIMITED' });
    assert.equal(sim.requests.length, 3);
    for (let i = 1; i < sim.requests.length; i++) assert.ok(sim.requests[i]!.at - sim.requests[i - 1]!.at >= 60_000);
    // the hold outlives the call: the next call waits for it too
    const holdEnd = client.notBefore();
    sim.rateLimit({ count: 0 });
    await drive(clock, client.device());
    assert.ok(clock.now() >= holdEnd);
  });

  it('a slowly dripping body times out (TIMEOUT) and is not waited on forever', async () => {
    const { sim, client } = await setup({ client: { timeoutMs: 300, maxRetries: 0 } });
    sim.setDripBody(20);
    await assert.rejects(client.device(), (e: unknown) => e instanceof AgentError && e.code === 'TIMEOUT' && keyFree(e));
  });

  it('no answer at all (headers never come): TIMEOUT after bounded retries', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock, simClock: systemClock, client: { timeoutMs: 200, maxRetries: 1 } });
    sim.setLatency(5_000);
    await assert.rejects(drive(clock, client.device()), (e: unknown) => e instanceof AgentError && e.code === 'TIMEOUT' && keyFree(e));
    assert.equal(client.requestsSent(), 2);
  });

  it('a revoked key is not hammered: a tight loop of calls sends one request, then one probe per hold', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock, simClock: systemClock, client: { revokedHoldMs: 60_000 } });
    await client.poll();
    sim.revokeDevice(UUID);
    for (let i = 0; i < 20; i++) await assert.rejects(client.poll(), (e: unknown) => e instanceof AgentError && e.code === 'UNAUTHORIZED' && e.message === KEY_REVOKED);
    assert.equal(sim.requests.length, 2);
    await clock.advance(60_000);
    await assert.rejects(client.setTags({ 'agent.x': '1' }), { code: 'UNAUTHORIZED' });
    assert.deepEqual(sim.requests.map((r) => r.status), [200, 401, 401]);
  });

  it('server down (connection reset): retried, then UNREACHABLE', async () => {
    const clock = new ManualClock();
    const { sim, client } = await setup({ clock, simClock: systemClock, client: { maxRetries: 2 } });
    sim.setDown(true);
    await assert.rejects(drive(clock, client.device()), (e: unknown) => e instanceof AgentError && e.code === 'UNREACHABLE' && keyFree(e));
    assert.equal(client.requestsSent(), 3);
  });

  it('malformed JSON is BAD_RESPONSE; a body over the cap is TOO_LARGE', async () => {
    const { sim, client } = await setup();
    sim.setGarbage('not-json');
    await assert.rejects(client.device(), { code: 'BAD_RESPONSE' });
    sim.setGarbage('huge');
    await assert.rejects(client.device(), { code: 'TOO_LARGE' });
    assert.equal(sim.requests.length, 2);
  });

  it('DNS failure is UNREACHABLE', async () => {
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.close());
    const client = new CloudClient({ baseUrl: 'http://nonexistent.invalid', apiKey: KEY, deviceUuid: UUID, dispatcher, clock: systemClock, maxRetries: 0 });
    const err = await client.device().catch((e: unknown) => e);
    assert.ok(err instanceof AgentError && err.code === 'UNREACHABLE', String(err));
    assert.match(err.message, /cloud unreachable/);
    assert.ok(keyFree(err));
  });
});

describe('drive (the ManualClock driver these tests use)', () => {
  it('rejects with a clear message when the promise never settles, instead of hanging', async () => {
    const clock = new ManualClock();
    const never = clock.sleep(60_000).then(() => new Promise<never>(() => undefined));
    await assert.rejects(drive(clock, never, 50), /still pending after 50 ms of real time/u);
    assert.equal(clock.now(), 60_000);
  });
});
