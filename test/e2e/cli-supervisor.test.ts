import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SupervisorSimulator, type RecordedRequest } from '../../src/sim/supervisor/simulator.js';
import { CliPool, spawnCli } from '../helpers/supervisor-cli.js';
import { until } from '../helpers/cli.js';
import { simEnv } from '../helpers/supervisor-sim.js';

/** About 40 CLI children start here: a few at a time, each with a generous deadline. */
const cli = new CliPool({ concurrency: 4, timeoutMs: 45_000 });
const runCli = (args: readonly string[], env: Record<string, string>) => cli.run(args, env);

const sim = new SupervisorSimulator();
const extra: SupervisorSimulator[] = [];

/** A second simulator for a test that changes supervisor-wide behaviour (lock, latency, garbage). */
async function another(opts: ConstructorParameters<typeof SupervisorSimulator>[0] = {}): Promise<SupervisorSimulator> {
  const s = new SupervisorSimulator(opts);
  extra.push(s);
  await s.start();
  return s;
}

/** The one request matching `pred` (fails if none or several). */
function only(s: SupervisorSimulator, pred: (r: RecordedRequest) => boolean): RecordedRequest {
  const found = s.requests.filter(pred);
  assert.equal(found.length, 1, `expected one matching request, got ${JSON.stringify(found)}`);
  return found[0]!;
}

function isBody(r: RecordedRequest, body: unknown): boolean {
  return JSON.stringify(r.body) === JSON.stringify(body);
}

function noKey(out: { stdout: string; stderr: string }, key: string): void {
  assert.ok(!out.stdout.includes(key) && !out.stderr.includes(key), 'the key is never printed');
}

before(async () => {
  await sim.start();
});
after(async () => {
  await Promise.all([sim.stop(), ...extra.map((s) => s.stop())]);
});

describe('fleet-agent supervisor one-shots against the simulator', { concurrency: true }, () => {
  const env = () => simEnv(sim);
  const appPath = () => `/v2/applications/${sim.appId}`;

  it('ping: GET /ping without a key', async () => {
    const res = await runCli(['ping'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^supervisor is up \(answered in \d+ ms\)\n$/);
    const r = only(sim, (x) => x.path === '/ping');
    assert.deepEqual([r.method, r.auth, r.query], ['GET', 'none', {}]);
  });

  it('identify: POST /v1/blink with Bearer auth and no body', async () => {
    const res = await runCli(['identify'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'identify requested: the LED blinks for 15 s (supervisor 19.0.5)\n');
    const r = only(sim, (x) => x.path === '/v1/blink');
    assert.deepEqual([r.method, r.auth, r.body, r.status], ['POST', 'bearer', undefined, 200]);
  });

  it('reboot: POST /v1/reboot {} (and --force --json sends {force:true})', async () => {
    const [plain, forced] = await Promise.all([runCli(['reboot'], env()), runCli(['reboot', '--force', '--json'], env())]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'reboot requested (supervisor 19.0.5)\n');
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(JSON.parse(forced.stdout), { ok: true, command: 'reboot', force: true, supervisorVersion: '19.0.5' });
    const a = only(sim, (x) => x.path === '/v1/reboot' && isBody(x, {}));
    const b = only(sim, (x) => x.path === '/v1/reboot' && isBody(x, { force: true }));
    for (const r of [a, b]) assert.deepEqual([r.method, r.auth, r.contentType, r.status], ['POST', 'bearer', 'application/json', 202]);
  });

  it('shutdown --force: POST /v1/shutdown {force:true}', async () => {
    const res = await runCli(['shutdown', '--force'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'shutdown requested, update locks overridden (supervisor 19.0.5)\n');
    const r = only(sim, (x) => x.path === '/v1/shutdown');
    assert.deepEqual([r.method, r.body, r.auth, r.status], ['POST', { force: true }, 'bearer', 202]);
  });

  it('update: POST /v1/update {} → triggered (204); with instant updates off → ignored (202)', async () => {
    const quiet = await another({ instantUpdates: false });
    const [res, ignored] = await Promise.all([runCli(['update', '--json'], env()), runCli(['update'], simEnv(quiet))]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { ok: true, command: 'update', force: false, outcome: 'triggered', supervisorVersion: '19.0.5' });
    const r = only(sim, (x) => x.path === '/v1/update');
    assert.deepEqual([r.method, r.body, r.auth, r.status], ['POST', {}, 'bearer', 204]);
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.match(ignored.stdout, /^update check ignored: instant updates are off.*--force/);
    assert.equal(only(quiet, (x) => x.path === '/v1/update').status, 202);
  });

  it('restart-app: POST /v1/restart {appId}', async () => {
    const res = await runCli(['restart-app'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `restart of app ${sim.appId} requested: its containers are recreated (supervisor 19.0.5)\n`);
    const r = only(sim, (x) => x.path === '/v1/restart');
    assert.deepEqual([r.method, r.body, r.auth, r.status], ['POST', { appId: sim.appId }, 'bearer', 200]);
  });

  it('purge --yes --force: POST /v1/purge {appId, force}', async () => {
    const res = await runCli(['purge', '--yes', '--force'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^purge of app ${sim.appId} requested: .*\\(supervisor 19\\.0\\.5\\)\\n$`));
    const r = only(sim, (x) => x.path === '/v1/purge');
    assert.deepEqual([r.method, r.body, r.auth, r.status], ['POST', { appId: sim.appId, force: true }, 'bearer', 200]);
  });

  it('restart-service, stop-service, start-service: by name and by image id', async () => {
    const [restart, stop, start] = await Promise.all([
      runCli(['restart-service', 'main'], env()),
      runCli(['stop-service', '1002', '--force', '--json'], env()),
      runCli(['start-service', 'fleet-agent'], env()),
    ]);
    assert.equal(restart.code, 0, restart.stderr);
    assert.equal(restart.stdout, 'restart of service "main" requested (supervisor 19.0.5)\n');
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(JSON.parse(stop.stdout), { ok: true, command: 'stop-service', imageId: 1002, force: true, supervisorVersion: '19.0.5' });
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.stdout, 'start of service "fleet-agent" requested (supervisor 19.0.5)\n');
    const seen = (action: string) => only(sim, (x) => x.path === `${appPath()}/${action}-service` && x.status === 200);
    assert.deepEqual(seen('restart').body, { serviceName: 'main' });
    assert.deepEqual(seen('stop').body, { imageId: 1002, force: true });
    assert.deepEqual(seen('start').body, { serviceName: 'fleet-agent' });
    for (const a of ['restart', 'stop', 'start']) assert.deepEqual([seen(a).method, seen(a).auth], ['POST', 'bearer']);
  });

  it('state: combines /v1/device, /v2/applications/state, /v2/state/status and /v2/version', async () => {
    const [human, json] = await Promise.all([runCli(['state'], env()), runCli(['state', '--json'], env())]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.trim().split('\n').length, 1, 'one line');
    assert.match(human.stdout, /^supervisor 19\.0\.5 · app fleet-app \(1234\) applied, release c0ffee0: main \w+, fleet-agent \w+ · os balenaOS 6\.0\.0/);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.supervisorVersion, '19.0.5');
    assert.equal(doc.device.os_version, 'balenaOS 6.0.0');
    assert.deepEqual(Object.keys(doc.apps), ['fleet-app']);
    assert.equal(doc.status.appState, 'applied');
    for (const path of ['/v1/device', '/v2/applications/state', '/v2/state/status']) {
      const reads = sim.requests.filter((x) => x.path === path);
      assert.equal(reads.length, 2, path);
      assert.ok(reads.every((r) => r.method === 'GET' && r.auth === 'bearer' && r.status === 200), path);
    }
  });

  it('logs --count 2 --unit U: POST /v2/journal-logs and prints the lines', async () => {
    const res = await runCli(['logs', '--count', '2', '--unit', 'balena-supervisor.service'], env());
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /quiet-river balena-supervisor: Supervisor starting$/);
    assert.match(lines[1]!, /quiet-river balena-supervisor: Device state applied$/);
    const r = only(sim, (x) => x.path === '/v2/journal-logs' && isBody(x, { count: 2, unit: 'balena-supervisor.service', format: 'short' }));
    assert.deepEqual([r.method, r.auth, r.contentType], ['POST', 'bearer', 'application/json']);
  });

  it('logs --unit takes a unit without its .service suffix, as journalctl -u does', async () => {
    const [bare, glob] = await Promise.all([runCli(['logs', '--unit', 'balena-supervisor'], env()), runCli(['logs', '--unit', 'balena-sup*'], env())]);
    for (const res of [bare, glob]) {
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(res.stdout.trim().split('\n').map((l) => l.replace(/^.* balena-supervisor: /, '')), ['Supervisor starting', 'Device state applied']);
    }
  });

  it('logs --json: one document with the journal entries', async () => {
    const res = await runCli(['logs', '--json', '--count', '1'], env());
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.entries.length, 1);
    assert.equal(typeof doc.entries[0].MESSAGE, 'string');
    assert.match(doc.entries[0].__REALTIME_TIMESTAMP, /^\d{16}$/);
  });

  it('logs --follow: prints lines pushed later and stops on SIGINT', async () => {
    const followSim = await another({ journal: [{ message: 'before follow' }] });
    const res = await cli.slot(async () => {
      const follow = spawnCli(['logs', '--follow'], simEnv(followSim));
      await follow.waitForOutput('before follow');
      await until('follow stream open', () => followSim.journalFollowers === 1, 10_000);
      followSim.pushJournal({ message: 'pushed while following', identifier: 'agent' });
      await follow.waitForOutput('agent: pushed while following');
      follow.child.kill('SIGINT');
      return follow.done;
    });
    assert.equal(res.code, 0, res.stderr);
    await until('follow stream closed', () => followSim.journalFollowers === 0, 10_000);
    assert.deepEqual(only(followSim, (x) => x.path === '/v2/journal-logs').body, { follow: true, format: 'short' });
  });

  it('every version probe uses ?apikey= and the record never holds the key', async () => {
    const own = await another();
    const res = await runCli(['state'], simEnv(own));
    assert.equal(res.code, 0, res.stderr);
    const probe = only(own, (x) => x.path === '/v2/version');
    assert.deepEqual([probe.method, probe.auth, probe.query], ['GET', 'query', { apikey: '[redacted]' }]);
    assert.ok(own.requests.filter((x) => x !== probe).every((x) => x.auth === 'bearer' && Object.keys(x.query).length === 0));
    assert.ok(!JSON.stringify(own.requests).includes(own.apiKey));
    noKey(res, own.apiKey);
  });
});

describe('fleet-agent supervisor one-shots: bad input', { concurrency: true }, () => {
  it('supervisor unreachable → exit 3 at once, well within the timeout, key not echoed', async () => {
    const gone = await another();
    await gone.stop();
    const [human, json] = await Promise.all([runCli(['reboot', '--timeout', '30s'], simEnv(gone)), runCli(['ping', '--json', '--timeout', '30s'], simEnv(gone))]);
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stderr, /^fleet-agent: supervisor unreachable \(connection refused\) on GET \/v2\/version\n$/);
    assert.ok(human.ms < 20_000, `a refused connection is reported at once, not after the 30 s timeout (took ${Math.round(human.ms)} ms)`);
    noKey(human, gone.apiKey);
    assert.equal(json.code, 3, json.stderr);
    assert.equal(JSON.parse(json.stdout).error.code, 'UNREACHABLE');
    noKey(json, gone.apiKey);
  });

  it('slow supervisor with --timeout 1s → exit 3 at the timeout, key not echoed', async () => {
    const slow = await another();
    slow.setLatency(60_000);
    const [human, json] = await Promise.all([runCli(['identify', '--timeout', '1s'], simEnv(slow)), runCli(['reboot', '--json', '--timeout', '1s'], simEnv(slow))]);
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stderr, /supervisor did not answer GET \/v2\/version within 1000 ms/);
    assert.ok(human.ms < 20_000, `gave up at the 1 s timeout, not after the 60 s reply (took ${Math.round(human.ms)} ms)`);
    noKey(human, slow.apiKey);
    assert.equal(json.code, 3, json.stderr);
    assert.equal(JSON.parse(json.stdout).error.code, 'TIMEOUT');
    noKey(json, slow.apiKey);
    assert.equal(slow.counts.blinks + slow.reboots, 0, 'nothing was done: the version probe timed out first');
  });

  it('wrong key → exit 5, key not echoed (human and --json, header and query auth)', async () => {
    const key = 'wrongkey0123456789SECRET';
    const old = await another({ version: '10.0.0' });
    const [human, json, query] = await Promise.all([
      runCli(['reboot'], simEnv(sim, { BALENA_SUPERVISOR_API_KEY: key })),
      runCli(['restart-app', '--json'], simEnv(sim, { BALENA_SUPERVISOR_API_KEY: key })),
      runCli(['shutdown'], simEnv(old, { BALENA_SUPERVISOR_API_KEY: key })),
    ]);
    assert.equal(human.code, 5, human.stderr);
    assert.match(human.stderr, /refused the API key \(401\)/);
    noKey(human, key);
    assert.equal(json.code, 5);
    assert.equal(JSON.parse(json.stdout).error.code, 'UNAUTHORIZED');
    noKey(json, key);
    assert.equal(query.code, 5, query.stderr);
    noKey(query, key);
    assert.ok(sim.requests.some((r) => r.status === 401 && r.path === '/v2/version'));
    assert.equal(old.requests.filter((r) => r.status === 401).map((r) => `${r.path} ${r.auth}`).join(), '/v2/version query');
  });

  it('update lock held → exit 4 with the supervisor message, key not echoed; --force goes through', async () => {
    const message = 'Lockfile exists for { appId: 1234, service: main }';
    const locked = await another();
    locked.setLock(message);
    const oldLocked = await another({ version: '10.0.0' });
    oldLocked.setLock(message);
    const [res, json, stop, old] = await Promise.all([
      runCli(['reboot'], simEnv(locked)),
      runCli(['shutdown', '--json'], simEnv(locked)),
      runCli(['stop-service', 'main'], simEnv(locked)),
      runCli(['restart-app'], simEnv(oldLocked)),
    ]);
    assert.equal(res.code, 4, res.stderr);
    assert.equal(res.stderr, `fleet-agent: update lock held: ${message}\n`);
    assert.equal(json.code, 4);
    assert.deepEqual(JSON.parse(json.stdout).error, { code: 'LOCKED', message: `update lock held: ${message}` });
    assert.equal(stop.code, 4);
    assert.equal(stop.stderr, `fleet-agent: update lock held: ${message}\n`);
    assert.equal(old.code, 4, old.stderr);
    assert.equal(old.stderr, `fleet-agent: update lock held: ${message}\n`, 'the key in the query of an old supervisor is not echoed');
    for (const r of [res, json, stop]) noKey(r, locked.apiKey);
    noKey(old, oldLocked.apiKey);
    assert.deepEqual(locked.requests.filter((r) => r.status === 423).map((r) => r.path).sort(), ['/v1/reboot', '/v1/shutdown', '/v2/applications/1234/stop-service']);
    assert.equal(oldLocked.requests.find((r) => r.status === 423)?.auth, 'query');
    const forced = await runCli(['reboot', '--force'], simEnv(locked));
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(locked.reboots, 1);
  });

  it('unknown service → exit 1 naming it (by name and by image id), key not echoed', async () => {
    const [byName, byId] = await Promise.all([runCli(['restart-service', 'ghost'], simEnv(sim)), runCli(['stop-service', '4242', '--json'], simEnv(sim))]);
    assert.equal(byName.code, 1, byName.stderr);
    assert.match(byName.stderr, /^fleet-agent: service "ghost" not found on this device \(supervisor: Service not found, a container must exist/);
    noKey(byName, sim.apiKey);
    assert.equal(byId.code, 1, byId.stderr);
    const doc = JSON.parse(byId.stdout);
    assert.equal(doc.error.code, 'NOT_FOUND');
    assert.match(doc.error.message, /^service with image id 4242 not found on this device/);
    noKey(byId, sim.apiKey);
    assert.ok(sim.requests.some((r) => r.status === 404 && isBody(r, { serviceName: 'ghost' })));
    assert.ok(sim.requests.some((r) => r.status === 404 && isBody(r, { imageId: 4242 })));
  });

  it('garbage or truncated body → exit 1 with a clear error, key not echoed', async () => {
    const junk = await another();
    junk.setGarbage('not-json');
    const cut = await another();
    cut.setGarbage('truncated');
    const [a, b, c] = await Promise.all([runCli(['state'], simEnv(junk)), runCli(['reboot'], simEnv(cut)), runCli(['identify', '--json'], simEnv(junk))]);
    assert.equal(a.code, 1, a.stderr);
    assert.equal(a.stderr, 'fleet-agent: supervisor sent a reply to GET /v2/version that is not JSON: "<html><body>502 Bad Gateway</body></html>"\n');
    assert.equal(b.code, 1, b.stderr);
    assert.equal(b.stderr, 'fleet-agent: supervisor reply to GET /v2/version was cut off\n');
    assert.equal(c.code, 1, c.stderr);
    assert.equal(JSON.parse(c.stdout).error.code, 'BAD_RESPONSE');
    for (const r of [a, c]) noKey(r, junk.apiKey);
    noKey(b, cut.apiKey);
  });

  it('missing BALENA_SUPERVISOR_ADDRESS → exit 2 naming it, key not echoed', async () => {
    const env = simEnv(sim);
    delete env.BALENA_SUPERVISOR_ADDRESS;
    const [human, json] = await Promise.all([runCli(['ping'], env), runCli(['reboot', '--json'], env)]);
    assert.equal(human.code, 2);
    assert.match(human.stderr, /BALENA_SUPERVISOR_ADDRESS is not set/);
    noKey(human, sim.apiKey);
    assert.equal(json.code, 2);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.error.code, 'CONFIG');
    assert.ok(doc.error.problems.some((p: string) => p.includes('BALENA_SUPERVISOR_ADDRESS')));
    noKey(json, sim.apiKey);
  });

  it('missing BALENA_SUPERVISOR_API_KEY → exit 2 naming it, and the reachable supervisor records no request', async () => {
    const untouched = await another();
    const env = simEnv(untouched);
    delete env.BALENA_SUPERVISOR_API_KEY;
    const [human, json] = await Promise.all([runCli(['ping'], env), runCli(['reboot', '--json'], env)]);
    assert.equal(human.code, 2, human.stderr);
    assert.match(human.stderr, /BALENA_SUPERVISOR_API_KEY is not set/);
    assert.equal(json.code, 2, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.error.code, 'CONFIG');
    assert.ok(doc.error.problems.some((p: string) => p.includes('BALENA_SUPERVISOR_API_KEY')));
    assert.deepEqual(untouched.requests, [], 'neither ping (which needs no key) nor reboot reached the supervisor');
    assert.equal(untouched.reboots, 0);
  });

  it('purge without --yes → exit 2 and nothing sent', async () => {
    const untouched = await another();
    const res = await runCli(['purge'], simEnv(untouched));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /pass --yes to confirm/);
    assert.equal(untouched.requests.length, 0);
    noKey(res, untouched.apiKey);
  });

  it('bad arguments → exit 2 (unknown flag, bad --timeout, bad --count, missing service)', async () => {
    const runs = await Promise.all([
      runCli(['reboot', '--hard'], simEnv(sim)),
      runCli(['ping', '--timeout', 'soon'], simEnv(sim)),
      runCli(['logs', '--count', '0'], simEnv(sim)),
      runCli(['stop-service'], simEnv(sim)),
      runCli(['logs', '--count', '-1'], simEnv(sim)),
    ]);
    for (const r of runs) assert.equal(r.code, 2, r.stderr);
    assert.match(runs[1].stderr, /--timeout must be a duration/);
    assert.match(runs[4].stderr, /^fleet-agent: --count must be a whole number from 1 to 1000000, got "-1"$/m, 'a negative value is read as the value, not as an ambiguous flag');
  });
});
