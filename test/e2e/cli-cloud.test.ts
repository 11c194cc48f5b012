import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudSimulator, DEMO, demoSeed } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { runCli } from '../helpers/cli.js';

const DEVICE_KEY = 'e2e-device-key-4f3e2d1c0b9a8877';
const SUPERVISOR_KEY = 'e2esupervisorkey0a1b2c3d4e5f6a7b'; // hex-like: the supervisor takes only \w+ keys in headers

describe('fleet-agent tags / env / doctor (built CLI, both simulators)', () => {
  let cloud: CloudSimulator;
  let supervisor: SupervisorSimulator;
  let dataDir: string;
  let env: Record<string, string>;

  before(async () => {
    supervisor = new SupervisorSimulator({ apiKey: SUPERVISOR_KEY, appId: DEMO.fleetId, version: '17.8.0', deviceName: 'demo-device' });
    const seed = demoSeed({ deviceKey: DEVICE_KEY });
    seed.deviceEnv = [{ device: DEMO.deviceId, name: 'LOG_LEVEL', value: 'debug' }];
    cloud = new CloudSimulator({ seed });
    const [supervisorUrl, cloudUrl] = await Promise.all([supervisor.start(), cloud.start()]);
    dataDir = await mkdtemp(join(tmpdir(), 'fleet-agent-e2e-'));
    env = {
      BALENA_SUPERVISOR_ADDRESS: supervisorUrl,
      BALENA_SUPERVISOR_API_KEY: SUPERVISOR_KEY,
      BALENA_APP_ID: String(DEMO.fleetId),
      BALENA_DEVICE_UUID: DEMO.deviceUuid,
      BALENA_API_URL: cloudUrl,
      BALENA_API_KEY: DEVICE_KEY,
      BALENA_SERVICE_NAME: 'main',
      AGENT_DATA_DIR: dataDir,
    };
  });
  after(async () => {
    await Promise.all([cloud.stop(), supervisor.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  function noKeys(text: string): void {
    assert.ok(!text.includes(DEVICE_KEY), 'device key printed');
    assert.ok(!text.includes(SUPERVISOR_KEY), 'supervisor key printed');
  }

  it('tags set / get / list / rm round-trip through the cloud', async () => {
    const set = await runCli(['tags', 'set', 'e2e.colour', 'deep blue'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(cloud.deviceTags(DEMO.deviceUuid), { 'e2e.colour': 'deep blue' });
    assert.ok(cloud.requests.some((r) => r.method === 'POST' && r.path === '/v7/device_tag' && r.status === 201));

    const get = await runCli(['tags', 'get', 'e2e.colour'], env);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.trim(), 'deep blue');

    const list = await runCli(['tags', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { ok: true, tags: { 'e2e.colour': 'deep blue' } });

    const rm = await runCli(['tags', 'rm', 'e2e.colour'], env);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(cloud.deviceTags(DEMO.deviceUuid), {});
    assert.ok(cloud.requests.some((r) => r.method === 'DELETE' && r.path === '/v7/device_tag'));

    const missing = await runCli(['tags', 'get', 'e2e.colour'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not set on this device/);
    for (const r of [set, get, list, rm, missing]) noKeys(r.stdout + r.stderr);
  });

  it('tags rm of a tag that is not set: exit 1, says so, deletes nothing', async () => {
    const deletes = () => cloud.requests.filter((r) => r.method === 'DELETE').length;
    const before = deletes();
    const [human, json] = await Promise.all([runCli(['tags', 'rm', 'e2e.nosuch'], env), runCli(['tags', 'rm', 'e2e.nosuch', '--json'], env)]);
    assert.equal(human.code, 1);
    assert.equal(human.stderr.trim(), 'fleet-agent: tag "e2e.nosuch" is not set on this device');
    assert.equal(human.stdout, '');
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), { ok: false, error: { code: 'NOT_FOUND', message: 'tag "e2e.nosuch" is not set on this device' } });
    assert.equal(deletes(), before);
  });

  it('tags: usage errors exit 2; missing variables exit 2 naming them', async () => {
    const bad = await runCli(['tags', 'frob'], env);
    assert.equal(bad.code, 2);
    const sent = cloud.requests.length;
    const keys = await Promise.all([runCli(['tags', 'set', '', 'x'], env), runCli(['tags', 'get', 'two words'], env), runCli(['tags', 'rm', 'io.balena.x'], env)]);
    for (const r of keys) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^fleet-agent: invalid tag key "[^"]*": 1–100 characters, no whitespace, not starting with io\.balena\. or io\.resin\.; usage: fleet-agent tags/);
    }
    assert.equal(cloud.requests.length, sent, 'a bad key is refused before any request');
    const { BALENA_API_KEY: _k, ...without } = env;
    const noKey = await runCli(['tags'], without);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /BALENA_API_KEY is not set/);
  });

  it('cloud trouble: a typed message and exit code, bounded retries, no key, no stack', async () => {
    const requests = () => cloud.requests.filter((r) => r.path === `/v7/device(uuid='${DEMO.deviceUuid}')`).length;
    let mark = requests();
    cloud.rateLimit({ count: 1, retryAfterSeconds: 3600 });
    const limited = await runCli(['tags', '--json'], env);
    assert.equal(limited.code, 1, limited.stderr);
    assert.deepEqual(JSON.parse(limited.stdout).error.code, 'RATE_LIMITED');
    assert.equal(requests() - mark, 1, 'nothing sent inside the Retry-After window');

    mark = requests();
    cloud.failNext(5, 503, 'maintenance');
    const failing = await runCli(['tags'], env);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /^fleet-agent: cloud answered 503 to GET \/v7\/device\(uuid='[0-9a-f]+'\): maintenance$/mu);
    assert.equal(requests() - mark, 3, 'two retries, then the error');
    cloud.failNext(0, 500);

    cloud.setGarbage('not-json');
    const garbage = await runCli(['tags', '--json'], env);
    cloud.setGarbage('none');
    assert.equal(JSON.parse(garbage.stdout).error.code, 'BAD_RESPONSE');

    cloud.setDown(true);
    const down = await runCli(['tags'], env);
    cloud.setDown(false);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cloud unreachable \(connection reset\)/u);

    for (const r of [limited, failing, garbage, down]) {
      noKeys(r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /u, 'no stack trace');
    }
  });

  it('env lists variables with their source', async () => {
    const res = await runCli(['env', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.service, 'main');
    const byName = Object.fromEntries(out.env.map((v: { name: string; value: string; source: string }) => [v.name, [v.value, v.source]]));
    assert.deepEqual(byName.LOG_LEVEL, ['debug', 'device']);
    const text = await runCli(['env'], env);
    assert.match(text.stdout, /LOG_LEVEL\s+debug\s+device, overrides fleet/);
    noKeys(res.stdout + text.stdout);
  });

  it('doctor is all green against both simulators', async () => {
    const res = await runCli(['doctor'], env);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.ok(lines.length >= 7, res.stdout);
    for (const line of lines) assert.match(line, /^✔ /);
    assert.ok(supervisor.requests.some((r) => r.path === '/ping'));
    assert.ok(supervisor.requests.some((r) => r.path === '/v2/device/name' && r.status === 200));
    assert.ok(cloud.requests.some((r) => r.path === `/v7/device(uuid='${DEMO.deviceUuid}')` && r.auth === 'device' && r.status === 200));
    noKeys(res.stdout + res.stderr);
  });

  it('doctor prints a red line and exits 3 when the supervisor is down', async () => {
    supervisor.setDown(true);
    try {
      const res = await runCli(['doctor', '--json'], env);
      assert.equal(res.code, 3, res.stdout + res.stderr);
      const out = JSON.parse(res.stdout);
      assert.equal(out.ok, false);
      const sup = out.checks.find((c: { name: string }) => c.name === 'supervisor');
      assert.equal(sup.status, 'fail');
      assert.match(sup.message, /unreachable/);
      assert.equal(out.checks.find((c: { name: string }) => c.name === 'cloud').status, 'ok');
      noKeys(res.stdout + res.stderr);
    } finally {
      supervisor.setDown(false);
    }
  });

  it('doctor exits 5 when the cloud refuses the device key', async () => {
    const res = await runCli(['doctor'], { ...env, BALENA_API_KEY: 'not-the-device-key-000000' });
    assert.equal(res.code, 5, res.stdout);
    assert.match(res.stdout, /^✖ cloud: the cloud refused BALENA_API_KEY/m);
    assert.ok(!res.stdout.includes('not-the-device-key'));
  });
});
