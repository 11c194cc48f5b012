import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { literal, queryString } from '../../src/cloud/query.js';
import { ManualClock } from '../../src/lib/clock.js';
import { HttpError } from '../../src/lib/errors.js';
import { DEVICE_ROW, KEY, mockCloudFixture, UUID } from '../helpers/cloud-mock.js';

describe('CloudClient (unit, MockAgent)', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });
  const { cloud } = mockCloudFixture(() => clock);

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

});

describe('OData query text', () => {
  it('escapes only literal values', () => {
    assert.equal(literal("o'neil & co #1 50%+"), "'o''neil%20%26%20co%20%231%2050%25%2B'");
    assert.equal(literal('a/b,c:(d)'), "'a/b,c:(d)'");
    assert.equal(literal('é'), "'%C3%A9'");
    assert.equal(queryString([['$filter', "device eq 1 and tag_key eq 'x'"]]), "?$filter=device%20eq%201%20and%20tag_key%20eq%20'x'");
  });
});
