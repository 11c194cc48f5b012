import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { CloudClient } from '../../src/cloud/client.js';
import { CloudSimulator, DEMO, demoSeed } from '../../src/sim/cloud/simulator.js';
import { TagWriter } from '../../src/cloud/tags.js';
import { systemClock } from '../../src/lib/clock.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';

const DEVICE_KEY = 'itest-tags-device-key-1a2b3c4d';
const SUPERVISOR_KEY = 'itesttagssupervisorkey1a2b3c4d5e';

describe('TagWriter with both simulators', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function setup(version: string) {
    const patches: Record<string, string>[] = [];
    const supervisorSim = new SupervisorSimulator({ apiKey: SUPERVISOR_KEY, appId: DEMO.fleetId, version, onTagsPatch: (t) => void patches.push(t) });
    const cloudSim = new CloudSimulator({ seed: demoSeed({ deviceKey: DEVICE_KEY }) });
    const [supervisorUrl, cloudUrl] = await Promise.all([supervisorSim.start(), cloudSim.start()]);
    const dispatcher = new Agent();
    cleanups.push(() => cloudSim.stop(), () => supervisorSim.stop(), () => dispatcher.close());
    const cloud = new CloudClient({ baseUrl: cloudUrl, apiKey: DEVICE_KEY, deviceUuid: DEMO.deviceUuid, dispatcher, clock: systemClock, maxRetries: 0 });
    const supervisor = new SupervisorClient({ baseUrl: supervisorUrl, apiKey: SUPERVISOR_KEY, appId: DEMO.fleetId, dispatcher, clock: systemClock, timeoutMs: 2_000 });
    // A fresh supervisor client knows no version yet: its first write probes it.
    const freshWriter = () =>
      new TagWriter({
        cloud, clock: systemClock,
        supervisor: new SupervisorClient({ baseUrl: supervisorUrl, apiKey: SUPERVISOR_KEY, appId: DEMO.fleetId, dispatcher, clock: systemClock, timeoutMs: 2_000 }),
      });
    return { supervisorSim, cloudSim, writer: new TagWriter({ cloud, supervisor, clock: systemClock }), freshWriter, patches };
  }

  it('writes through a supervisor ≥ 17.8.0 (nothing sent to the cloud by the agent)', async () => {
    const { supervisorSim, cloudSim, writer, patches } = await setup('17.8.0');
    assert.equal(await writer.set({ 'agent.ack': 'cmd-1:done' }), 'supervisor');
    assert.ok(supervisorSim.requests.some((r) => r.method === 'PATCH' && r.path === '/v2/device/tags' && r.status === 202));
    assert.deepEqual(patches, [{ 'agent.ack': 'cmd-1:done' }]);
    assert.equal(cloudSim.requests.length, 0);
  });

  it('writes directly (PATCH /device/v3/tags) on an older supervisor', async () => {
    const { supervisorSim, cloudSim, writer } = await setup('17.7.9');
    assert.equal(await writer.set({ 'agent.ack': 'cmd-2:done' }), 'cloud');
    assert.ok(!supervisorSim.requests.some((r) => r.path === '/v2/device/tags'));
    assert.deepEqual(cloudSim.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ['PATCH /device/v3/tags 200']);
    assert.deepEqual(cloudSim.deviceTags(DEMO.deviceUuid), { 'agent.ack': 'cmd-2:done' });
  });

  it('falls back to the cloud when the supervisor is down; deletes go to the cloud', async () => {
    const { supervisorSim, cloudSim, writer } = await setup('19.0.5');
    supervisorSim.setDown(true);
    assert.equal(await writer.set({ 'agent.state': 'x' }), 'cloud');
    assert.deepEqual(cloudSim.deviceTags(DEMO.deviceUuid), { 'agent.state': 'x' });
    supervisorSim.setDown(false);
    await writer.remove('agent.state');
    assert.deepEqual(cloudSim.deviceTags(DEMO.deviceUuid), {});
    assert.equal(cloudSim.requests.at(-1)!.method, 'DELETE');
  });

  it('a supervisor answering wrongly (500, 401, not JSON) on GET /v2/version or the PATCH: the tags still reach the cloud', async () => {
    const { supervisorSim, cloudSim, writer, freshWriter, patches } = await setup('19.0.5');
    const faults: Array<[string, () => void]> = [
      ['500 on the version probe', () => supervisorSim.failNext(1, 500, 'boom')],
      ['401 on the version probe', () => supervisorSim.failNext(1, 401)],
      ['not JSON', () => supervisorSim.setGarbage('not-json')],
    ];
    for (const [i, [name, inject]] of faults.entries()) {
      inject();
      assert.equal(await freshWriter().set({ 'agent.health': `case-${i}` }), 'cloud', name);
      assert.equal(cloudSim.deviceTags(DEMO.deviceUuid)['agent.health'], `case-${i}`, name);
      supervisorSim.setGarbage('none');
    }
    // The version known, a failing PATCH itself also falls back.
    assert.equal(await writer.set({ 'agent.ack': 'a' }), 'supervisor');
    supervisorSim.failNext(1, 500, 'cannot queue');
    assert.equal(await writer.set({ 'agent.ack': 'b' }), 'cloud');
    assert.equal(cloudSim.deviceTags(DEMO.deviceUuid)['agent.ack'], 'b');
    assert.deepEqual(patches, [{ 'agent.ack': 'a' }]);
  });
});
