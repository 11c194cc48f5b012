import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { until } from '../helpers/cli.js';
import { startSim, type SimHarness } from '../helpers/supervisor-sim.js';

interface AppsState {
  [app: string]: { updateStatus?: string; services: Record<string, { status: string }> };
}

describe('SupervisorSimulator service faults: what GET /v2/applications/state and the health checks show', () => {
  let h: SimHarness;
  const key = () => `apikey=${h.sim.apiKey}`;

  /** One request over the harness's dispatcher; `headersTimeout` bounds the wait for an answer. */
  const send = async (method: string, path: string, opts: { body?: unknown; headersTimeout?: number } = {}) => {
    const res = await h.dispatcher.request({
      origin: h.sim.url,
      path,
      method,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body), headers: { 'content-type': 'application/json' } } : {}),
      ...(opts.headersTimeout !== undefined ? { headersTimeout: opts.headersTimeout } : {}),
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
  const check = (name: string) => send('GET', new URL(h.sim.checkUrl(name)).pathname);

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
    assert.throws(() => h.sim.checkUrl('nosuch'), /no service "nosuch"/);
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

  it('the health check: 200 ok without a key while well, 500 while hung (status still Running); restart-service clears the hang', async () => {
    assert.match(h.sim.checkUrl('main'), /^http:\/\/127\.0\.0\.1:\d+\/sim\/check\/main$/);
    const fetched = await fetch(h.sim.checkUrl('main'));
    assert.deepEqual([fetched.status, await fetched.text()], [200, 'ok']);
    h.sim.hangService('main');
    assert.deepEqual(await check('main'), { status: 500, text: 'unhealthy: the service is hung' });
    assert.equal((await check('fleet-agent')).status, 200, 'only the hung service fails');
    assert.equal((await appState()).statuses.main, 'Running');
    await restartService('main');
    assert.equal((await check('main')).status, 200);
  });

  it('a sticky hang survives restart-service, app restart and reboot; heal clears it', async () => {
    h.sim.hangService('main', { sticky: true });
    await restartService('main');
    assert.equal((await check('main')).status, 500);
    await restartApp();
    assert.equal((await check('main')).status, 500);
    await reboot();
    assert.equal((await check('main')).status, 500);
    h.sim.healService('main');
    assert.equal((await check('main')).status, 200);
  });

  it('a silent hang holds the connection until the client gives up; a reboot clears it', async () => {
    h.sim.hangService('main', { silent: true });
    assert.equal((await appState()).statuses.main, 'Running');
    const held = await send('GET', '/sim/check/main', { headersTimeout: 300 }).then(() => 'answered', (err: { code?: string }) => err.code);
    assert.equal(held, 'UND_ERR_HEADERS_TIMEOUT', 'no answer at all, and no reset either');
    assert.deepEqual(h.sim.checks.map((c) => [c.service, c.outcome, c.status]).at(-1), ['main', 'held', 0]);
    await reboot();
    assert.equal((await check('main')).status, 200);
  });

  it('a service that is not Running answers nothing: its check connection is cut', async () => {
    h.sim.exitService('main');
    const cut = await check('main').then(() => 'answered', (err: { code?: string }) => err.code);
    assert.ok(cut !== 'answered' && cut !== 'UND_ERR_HEADERS_TIMEOUT', `cut, not held: ${String(cut)}`);
    assert.equal(h.sim.checks.at(-1)?.outcome, 'down');
    await serviceAction('start-service', 'main');
    assert.equal((await check('main')).status, 200);
  });

  it('checks are apart from the supervisor API: no key, no 401, not in requests, untouched by failNext; unknown ones 404', async () => {
    assert.equal((await send('GET', '/sim/other')).status, 401, 'the supervisor answers anything else, key first');
    const requests = h.sim.requests.length;
    h.sim.failNext(1, 500);
    assert.equal((await check('main')).status, 200);
    assert.equal(h.sim.requests.length, requests, 'a check is not a supervisor request');
    assert.equal((await send('GET', `/v2/version?${key()}`)).status, 500, 'the configured failure went to the supervisor');
    assert.deepEqual(await send('GET', '/sim/check/nosuch'), { status: 404, text: 'Cannot GET /sim/check/nosuch' });
    assert.equal((await send('GET', '/sim/check/main/deeper')).status, 404);
    assert.equal((await send('POST', '/sim/check/main', { body: {} })).status, 404);
    assert.deepEqual(h.sim.checks.slice(-3).map((c) => [c.outcome, c.status]), [['unknown', 404], ['unknown', 404], ['unknown', 404]]);
  });
});
