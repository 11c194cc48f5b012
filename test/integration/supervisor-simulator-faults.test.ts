import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { until } from '../helpers/cli.js';
import { startSim, type SimHarness } from '../helpers/supervisor-sim.js';

interface AppsState {
  [app: string]: { updateStatus?: string; services: Record<string, { status: string }> };
}

describe('SupervisorSimulator service faults: what GET /v2/applications/state shows', () => {
  let h: SimHarness;
  const key = () => `apikey=${h.sim.apiKey}`;

  /** One request over the harness's dispatcher. */
  const send = async (method: string, path: string, opts: { body?: unknown } = {}) => {
    const res = await h.dispatcher.request({
      origin: h.sim.url,
      path,
      method,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const appState = async () => {
    const res = await send('GET', `/v2/applications/state?${key()}`);
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text) as AppsState;
    const app = body['fleet-app'];
    assert.ok(app, res.text);
    return { updateStatus: app.updateStatus, statuses: Object.fromEntries(Object.entries(app.services).map(([name, s]) => [name, s.status])) };
  };
  const containerIds = async () => (JSON.parse((await send('GET', `/v2/containerId?${key()}`)).text) as { services: Record<string, string> }).services;
  const restartService = async (name: string) => assert.equal((await send('POST', `/v2/applications/${h.sim.appId}/restart-service?${key()}`, { body: { serviceName: name } })).status, 200);
  const serviceAction = async (action: 'stop-service' | 'start-service', name: string) =>
    assert.equal((await send('POST', `/v2/applications/${h.sim.appId}/${action}?${key()}`, { body: { serviceName: name } })).status, 200);
  const restartApp = async () => assert.equal((await send('POST', `/v2/applications/${h.sim.appId}/restart?${key()}`, { body: {} })).status, 200);
  const reboot = async () => {
    const before = h.sim.reboots;
    assert.equal((await send('POST', `/v1/reboot?${key()}`, { body: {} })).status, 202);
    await until('the simulated reboot', () => h.sim.reboots > before, 5_000);
  };

  before(async () => {
    h = await startSim();
  });
  after(() => h.close());
  beforeEach(() => {
    for (const s of h.sim.services) h.sim.healService(s.name);
    h.sim.setUpdating(false);
  });

  it('exitService: the service reads exited (the others Running); restart-service brings it back in a new container', async () => {
    assert.deepEqual(await appState(), { updateStatus: 'done', statuses: { main: 'Running', 'fleet-agent': 'Running' } });
    h.sim.exitService('main');
    assert.deepEqual((await appState()).statuses, { main: 'exited', 'fleet-agent': 'Running' });
    const status = JSON.parse((await send('GET', `/v2/state/status?${key()}`)).text) as { containers: Array<{ serviceName: string; status: string }> };
    assert.deepEqual(status.containers.map((c) => [c.serviceName, c.status]), [['main', 'exited'], ['fleet-agent', 'Running']]);
    const before = await containerIds();
    await restartService('main');
    assert.deepEqual((await appState()).statuses, { main: 'Running', 'fleet-agent': 'Running' });
    const afterIds = await containerIds();
    assert.notEqual(afterIds.main, before.main);
    assert.equal(afterIds['fleet-agent'], before['fleet-agent']);
  });

  it('a single crash is also mended by an app restart, and by a reboot (same container)', async () => {
    h.sim.exitService('main');
    await restartApp();
    assert.equal((await appState()).statuses.main, 'Running');
    h.sim.exitService('main');
    const before = await containerIds();
    await reboot();
    assert.equal((await appState()).statuses.main, 'Running');
    assert.deepEqual(await containerIds(), before, 'a reboot restarts containers, it does not recreate them');
  });

  it('a crash loop: restart-service recreates the container (new id) and it exits again; app restart and reboot do not fix it; heal does', async () => {
    h.sim.exitService('main', { restartsTo: 'exited' });
    const first = await containerIds();
    const effects = h.sim.effects.length;
    await restartService('main');
    const second = await containerIds();
    assert.notEqual(second.main, first.main, 'the container was recreated');
    assert.deepEqual(h.sim.effects.slice(effects).map((e) => [e.kind, e.service]), [['restart-service', 'main']], 'the supervisor acted');
    assert.equal((await appState()).statuses.main, 'exited');
    await restartApp();
    assert.deepEqual((await appState()).statuses, { main: 'exited', 'fleet-agent': 'Running' });
    await serviceAction('start-service', 'main');
    assert.equal((await appState()).statuses.main, 'exited', 'starting it crashes it again');
    await reboot();
    assert.equal((await appState()).statuses.main, 'exited');
    h.sim.healService('main');
    assert.equal((await appState()).statuses.main, 'Running');
    await restartService('main');
    assert.equal((await appState()).statuses.main, 'Running', 'healed: a restart no longer crashes it');
  });

  it('a crash after a crash loop is a single crash again; a stopped service comes back after a reboot', async () => {
    h.sim.exitService('main', { restartsTo: 'exited' });
    h.sim.exitService('main');
    await restartService('main');
    assert.equal((await appState()).statuses.main, 'Running');
    await serviceAction('stop-service', 'main');
    assert.equal((await appState()).statuses.main, 'exited');
    await reboot();
    assert.equal((await appState()).statuses.main, 'Running');
  });

  it('setServiceStatus reports the status as given (transitional ones too); an unknown service is an error naming the real ones', async () => {
    for (const status of ['Downloading', 'Installing', 'Stopping', 'Awaiting handover', 'Dead']) {
      h.sim.setServiceStatus('fleet-agent', status);
      assert.equal((await appState()).statuses['fleet-agent'], status);
    }
    assert.throws(() => h.sim.setServiceStatus('nosuch', 'exited'), /no service "nosuch" on the simulated device; it runs main, fleet-agent/);
    assert.throws(() => h.sim.exitService('nosuch'), /no service "nosuch"/);
  });

  it('setUpdating: updateStatus reads applying changes (or the status given) and /v2/state/status appState applying, until off', async () => {
    const appStateOf = async () => (JSON.parse((await send('GET', `/v2/state/status?${key()}`)).text) as { appState: string }).appState;
    assert.deepEqual([(await appState()).updateStatus, await appStateOf()], ['done', 'applied']);
    h.sim.setUpdating(true);
    assert.deepEqual([(await appState()).updateStatus, await appStateOf()], ['applying changes', 'applying']);
    h.sim.setUpdating(true, 'downloading');
    assert.equal((await appState()).updateStatus, 'downloading');
    h.sim.setUpdating(false);
    assert.deepEqual([(await appState()).updateStatus, await appStateOf()], ['done', 'applied']);
  });

});
