import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { after, before, describe, it } from 'node:test';
import { AgentError, UpdatesLockedError } from '../../src/lib/errors.js';
import { until } from '../helpers/cli.js';
import { assertNoSecret, startSim, type SimHarness } from '../helpers/supervisor-sim.js';

async function rejectsWith(promise: Promise<unknown>, code: string, key: string): Promise<AgentError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AgentError, `expected an AgentError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assertNoSecret(err, key);
    return err;
  }
  assert.fail(`expected a ${code} rejection`);
}

describe('SupervisorClient against the simulator: every endpoint', () => {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ globalApiKey: 'globalkey0123456789' });
  });
  after(() => h.close());

  it('ping, healthy and version', async () => {
    const client = h.client();
    await client.ping();
    assert.equal(await client.healthy(), true);
    h.sim.setHealthy(false);
    assert.equal(await client.healthy(), false);
    h.sim.setHealthy(true);
    assert.equal(await client.version(), '19.0.5');
    const probe = await h.sim.waitFor((r) => r.path === '/v2/version');
    assert.deepEqual([probe.auth, probe.query], ['query', { apikey: '[redacted]' }]);
  });

  it('device actions send what the supervisor expects and are recorded with header auth', async () => {
    const client = h.client();
    const before = h.sim.requests.length;
    await client.blink();
    await client.reboot({ force: true });
    await client.shutdown();
    assert.equal(await client.update(), 'triggered');
    await client.restartApp();
    await client.purge();
    const seen = h.sim.requests.slice(before).filter((r) => r.path !== '/v2/version');
    assert.deepEqual(
      seen.map((r) => [r.method, r.path, r.body, r.auth, r.status]),
      [
        ['POST', '/v1/blink', undefined, 'bearer', 200],
        ['POST', '/v1/reboot', { force: true }, 'bearer', 202],
        ['POST', '/v1/shutdown', {}, 'bearer', 202],
        ['POST', '/v1/update', {}, 'bearer', 204],
        ['POST', '/v1/restart', { appId: h.sim.appId }, 'bearer', 200],
        ['POST', '/v1/purge', { appId: h.sim.appId }, 'bearer', 200],
      ],
    );
    assert.ok(seen.filter((r) => r.body !== undefined).every((r) => r.contentType === 'application/json'));
    assert.equal(h.sim.reboots, 1);
    assert.deepEqual([h.sim.counts.shutdowns, h.sim.counts.purges, h.sim.counts.restarts], [1, 1, 1]);
  });

  it('service actions by name and by image id change the service', async () => {
    const client = h.client();
    await client.serviceAction('stop', 'main');
    assert.equal(h.sim.services.find((s) => s.name === 'main')?.status, 'exited');
    await client.serviceAction('start', 1001);
    await client.serviceAction('restart', '1002', { force: true });
    assert.equal(h.sim.services.find((s) => s.name === 'main')?.status, 'Running');
    const last = h.sim.requests.at(-1)!;
    assert.deepEqual([last.path, last.body], [`/v2/applications/${h.sim.appId}/restart-service`, { imageId: 1002, force: true }]);
  });

  it('reads device state, apps, status, name, tags and vpn', async () => {
    const client = h.client();
    const device = await client.deviceState();
    assert.equal(device.supervisor_version, '19.0.5');
    const apps = await client.applicationsState();
    assert.deepEqual(Object.keys(apps), ['fleet-app']);
    assert.equal(apps['fleet-app']?.appId, h.sim.appId);
    assert.deepEqual(Object.keys(apps['fleet-app']?.services ?? {}), ['main', 'fleet-agent']);
    const status = await client.stateStatus();
    assert.equal(status.appState, 'applied');
    assert.equal(status.containers.length, 2);
    assert.equal(await client.deviceName(), 'quiet-river');
    assert.deepEqual(await client.vpn(), { enabled: true, connected: true });
    assert.equal(await client.supportsTagPatch(), true);
    await client.patchDeviceTags({ 'agent.health': 'ok' });
    assert.deepEqual(await client.deviceTags(), [{ id: 1, name: 'agent.health', value: 'ok' }]);
  });

  it('the global key may act on another app (the cloud proxy); the app key may not', async () => {
    const foreign = h.client({ appId: 999 });
    const err = await rejectsWith(foreign.restartApp(), 'UNAUTHORIZED', h.sim.apiKey);
    assert.match(err.message, /app 999/);
    await h.client({ apiKey: 'globalkey0123456789', appId: h.sim.appId }).restartApp();
    const missing = await rejectsWith(h.client({ apiKey: 'globalkey0123456789', appId: 999 }).restartApp(), 'SERVER_ERROR', 'globalkey0123456789');
    assert.match(missing.message, /999 is not in the current state/);
    const recorded = await h.sim.waitFor((r) => r.path === '/v1/restart' && r.status === 401);
    assert.deepEqual(recorded.body, { appId: 999 });
  });
});

describe('SupervisorClient against the simulator: errors', () => {
  let h: SimHarness;
  before(async () => {
    h = await startSim();
  });
  after(() => h.close());

  it('401 for a wrong key, without the key in the error', async () => {
    const key = 'wrongkey9876543210SECRET';
    await rejectsWith(h.client({ apiKey: key }).blink(), 'UNAUTHORIZED', key);
    assert.ok(!JSON.stringify(h.sim.requests).includes(key), 'the record hides the key');
  });

  it('423 while locked, with the message; force overrides', async () => {
    const client = h.client();
    h.sim.setLock('Lockfile exists for { appId: 1234, service: main }');
    try {
      const err = await rejectsWith(client.reboot(), 'LOCKED', h.sim.apiKey);
      assert.ok(err instanceof UpdatesLockedError);
      assert.equal(err.lockMessage, 'Lockfile exists for { appId: 1234, service: main }');
      const v2 = await rejectsWith(client.serviceAction('stop', 'main'), 'LOCKED', h.sim.apiKey);
      assert.match((v2 as UpdatesLockedError).lockMessage, /Lockfile exists/);
      await client.serviceAction('start', 'main');
      await client.reboot({ force: true });
      await client.purge({ force: true });
    } finally {
      h.sim.setLock(null);
    }
  });

  it('404 names an unknown service', async () => {
    const err = await rejectsWith(h.client().serviceAction('restart', 'ghost'), 'NOT_FOUND', h.sim.apiKey);
    assert.match(err.message, /"ghost"/);
  });

  it('TIMEOUT when the supervisor is slower than the timeout', async () => {
    // Well past the timeout: undici's headers timer ticks about once a second.
    h.sim.setLatency(2_500);
    try {
      const err = await rejectsWith(h.client({ timeoutMs: 200 }).ping(), 'TIMEOUT', h.sim.apiKey);
      assert.equal((err as { peer?: string }).peer, 'supervisor');
    } finally {
      h.sim.setLatency(0);
    }
  });

  it('BAD_RESPONSE for a non-JSON or truncated body; failNext answers with the given status', async () => {
    h.sim.setGarbage('not-json');
    await rejectsWith(h.client().deviceState(), 'BAD_RESPONSE', h.sim.apiKey);
    h.sim.setGarbage('truncated');
    const cut = await rejectsWith(h.client().deviceState(), 'BAD_RESPONSE', h.sim.apiKey);
    assert.match(cut.message, /cut off|not JSON/);
    h.sim.setGarbage('none');
    h.sim.failNext(1, 503, '{"status":"failed","message":"engine busy"}');
    const err = await rejectsWith(h.client().stateStatus(), 'SERVER_ERROR', h.sim.apiKey);
    assert.match(err.message, /engine busy/);
    assert.equal((await h.client().stateStatus()).status, 'success');
  });

  it('UNREACHABLE while down and after stop', async () => {
    const other = await startSim();
    other.sim.setDown(true);
    await rejectsWith(other.client().ping(), 'UNREACHABLE', other.sim.apiKey);
    other.sim.setDown(false);
    await other.client().ping();
    await other.sim.stop();
    const err = await rejectsWith(other.client().blink(), 'UNREACHABLE', other.sim.apiKey);
    assert.match(err.message, /supervisor unreachable/);
    await other.close();
  });

  it('an old supervisor gets ?apikey=, no tag PATCH and no name-based actions', async () => {
    const old = await startSim({ version: '8.1.0' });
    try {
      const client = old.client();
      await client.blink();
      const blink = await old.sim.waitFor((r) => r.path === '/v1/blink');
      assert.equal(blink.auth, 'query');
      assert.equal(blink.status, 200);
      await rejectsWith(client.patchDeviceTags({ a: 'b' }), 'UNSUPPORTED', old.sim.apiKey);
      await rejectsWith(client.serviceAction('stop', 'main'), 'UNSUPPORTED', old.sim.apiKey);
      await client.serviceAction('stop', 1001);
      assert.equal(old.sim.services[0]?.status, 'exited');
      assert.ok(!old.sim.requests.some((r) => r.method === 'PATCH'));
    } finally {
      await old.close();
    }
  });
});

describe('SupervisorClient journal logs against the simulator', () => {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ journal: [] });
  });
  after(() => h.close());

  it('returns the last N lines of a unit, as JSON objects', async () => {
    h.sim.pushJournal({ message: 'a', unit: 'x.service', at: 1_700_000_000_000 });
    h.sim.pushJournal({ message: 'b', unit: 'y.service' });
    h.sim.pushJournal({ message: 'c', unit: 'x.service', identifier: 'xd', priority: 3 });
    const lines: string[] = [];
    for await (const line of h.client().journalLogs({ unit: 'x.service', count: 5, format: 'json' }, new AbortController().signal)) lines.push(line);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(entries.map((e) => e.MESSAGE), ['a', 'c']);
    assert.equal(entries[0]!.__REALTIME_TIMESTAMP, '1700000000000000');
    assert.deepEqual([entries[1]!._SYSTEMD_UNIT, entries[1]!.SYSLOG_IDENTIFIER, entries[1]!.PRIORITY], ['x.service', 'xd', '3']);
    const req = await h.sim.waitFor((r) => r.path === '/v2/journal-logs');
    assert.deepEqual([req.body, req.auth], [{ unit: 'x.service', count: 5, format: 'json' }, 'bearer']);
  });

  it('follows new lines until aborted, then the simulator sees the disconnect', async () => {
    const controller = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const line of h.client().journalLogs({ follow: true, count: 1, format: 'short' }, controller.signal)) {
        got.push(line);
        if (got.length === 1) h.sim.pushJournal({ message: 'pushed later', identifier: 'agent' });
        if (got.length === 2) controller.abort();
      }
    })();
    await reading;
    assert.match(got[0]!, /quiet-river xd: c$/);
    assert.match(got[1]!, /quiet-river agent: pushed later$/);
    await until('follow stream closed', () => h.sim.journalFollowers === 0, 3_000);
  });

  it('a follow stream quiet for longer than the dispatcher\'s body timeout stays open (the client\'s timer owns the timeout)', async () => {
    // undici cuts a body idle for `bodyTimeout` (300 s by default): here a dispatcher with 100 ms
    // stands in for it; the real timer is what is under test.
    const quiet = new Agent({ bodyTimeout: 100 });
    const controller = new AbortController();
    try {
      const got: string[] = [];
      const client = h.client({ dispatcher: quiet });
      const reading = (async () => {
        for await (const line of client.journalLogs({ follow: true, count: 1, format: 'short' }, controller.signal)) {
          got.push(line);
          if (got.length === 1) setTimeout(() => h.sim.pushJournal({ message: 'after a quiet second', identifier: 'agent' }), 1_000);
          if (got.length === 2) controller.abort();
        }
      })();
      await reading;
      assert.match(got[1] ?? '', /agent: after a quiet second$/);
    } finally {
      controller.abort();
      await quiet.close();
    }
  });

  it('without follow the timeout covers the whole reply: a stream that stalls after its lines fails with TIMEOUT', async () => {
    const stalled = await startSim({ journal: [{ message: 'first' }, { message: 'second' }] });
    try {
      stalled.sim.setJournalStall(true);
      const got: string[] = [];
      const reading = (async () => {
        for await (const line of stalled.client({ timeoutMs: 300 }).journalLogs({ count: 2, format: 'short' }, new AbortController().signal)) got.push(line);
      })();
      const err = await rejectsWith(reading, 'TIMEOUT', stalled.sim.apiKey);
      assert.match(err.message, /did not finish POST \/v2\/journal-logs within 300 ms/);
      assert.deepEqual(got.map((l) => l.replace(/^.*: /, '')), ['first', 'second'], 'the lines sent before the stall were yielded');
      assert.equal(stalled.sim.requests.filter((r) => r.path === '/v2/journal-logs').length, 1);
    } finally {
      await stalled.close();
    }
  });
});
