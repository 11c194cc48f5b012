import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAck } from '../../src/agent/acks.js';
import { CloudSimulator, demoSeed } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { freePort, startAgentChild, until, type AgentChild } from '../helpers/agent-child.js';
import { PATIENCE, runCli } from '../helpers/cli.js';
import { W } from '../helpers/agent-harness.js';

let dir = '';
let sup: SupervisorSimulator;
let cloud: CloudSimulator;
let env: Record<string, string> = {};
const children: AgentChild[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-e2e-'));
  const bootIdPath = join(dir, 'boot_id');
  await writeFile(bootIdPath, 'boot-0\n');
  cloud = new CloudSimulator({ seed: demoSeed({ deviceUuid: W.uuid, deviceKey: W.deviceKey, operatorKey: W.operatorKey }) });
  await cloud.start();
  sup = new SupervisorSimulator({
    apiKey: W.supervisorKey, appId: W.appId, appName: 'demo-fleet', bootIdPath,
    onTagsPatch: (tags) => {
      for (const [k, v] of Object.entries(tags)) cloud.setDeviceTag(W.uuid, k, v);
    },
  });
  await sup.start();
  env = {
    BALENA_SUPERVISOR_ADDRESS: sup.url, BALENA_SUPERVISOR_API_KEY: W.supervisorKey, BALENA_APP_ID: String(W.appId),
    BALENA_API_URL: cloud.url, BALENA_API_KEY: W.deviceKey, BALENA_DEVICE_UUID: W.uuid, BALENA_SERVICE_NAME: 'fleet-agent',
    AGENT_START_SPREAD: '0', AGENT_POLL_INTERVAL: '10s', AGENT_DATA_DIR: join(dir, 'data'), AGENT_BOOT_ID_PATH: bootIdPath,
    AGENT_HTTP_PORT: String(await freePort()), AGENT_LOG_LEVEL: 'debug',
  };
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await sup.stop();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

function spawnAgent(): AgentChild {
  const c = startAgentChild(env);
  children.push(c);
  return c;
}

const pollDone = (l: Record<string, unknown>) => l.msg === 'poll complete';
const reboots = () => sup.requests.filter((r) => r.method === 'POST' && r.path === '/v1/reboot').length;
const ackOf = (command: string) => {
  const v = cloud.deviceTags(W.uuid)[`agent.${command}.ack`];
  return v === undefined ? undefined : parseAck(v);
};
const journalText = () => readFile(join(dir, 'data', 'journal.json'), 'utf8').catch(() => '');

describe('fleet-agent run: crash safety (SIGKILL after each step)', () => {
  it('killed after the intent is written: restarted, the reboot happens exactly once', async () => {
    sup.setDown(true);
    cloud.setDeviceTag(W.uuid, 'agent.reboot', 'k1');
    const a = spawnAgent();
    await until('intent k1 in the journal', async () => {
      const j = await journalText();
      return /"token":"k1","state":"running","detail":"[^"]*unreachable[^"]*retrying"[^}]*"sending":false/.test(j) ? true : undefined;
    });
    a.kill('SIGKILL');
    await a.exited;
    assert.equal(reboots(), 0);
    sup.setDown(false);
    const b = spawnAgent();
    await sup.waitFor((r) => r.path === '/v1/reboot', 15_000 * PATIENCE);
    await until('the new boot id', async () => ((await readFile(env.AGENT_BOOT_ID_PATH!, 'utf8')).trim() === sup.bootId ? true : undefined));
    b.kill('SIGKILL'); // the device reboots: the process dies
    await b.exited;
    const c = spawnAgent();
    await until('ack k1 done', () => (ackOf('reboot')?.token === 'k1' && ackOf('reboot')?.state === 'done' ? true : undefined));
    await c.waitForLine(pollDone);
    c.kill('SIGKILL');
    await c.exited;
    assert.equal(reboots(), 1);
  });

  it('killed as the effect is sent (before the reply): restarted, never sent again', async () => {
    const before = reboots();
    const bootBefore = (await readFile(env.AGENT_BOOT_ID_PATH!, 'utf8')).trim();
    cloud.setDeviceTag(W.uuid, 'agent.reboot', 'k2');
    const victim = spawnAgent();
    const off = sup.onRequest((r) => {
      if (r.path === '/v1/reboot') victim.kill('SIGKILL');
    });
    await victim.exited;
    off();
    assert.equal(reboots(), before + 1);
    // The simulator reboots only if its reply went out; either way the agent must not resend.
    const bootAfter = (await readFile(env.AGENT_BOOT_ID_PATH!, 'utf8')).trim();
    const d = spawnAgent();
    // A new boot: done. The same boot: the reboot may still come, so the agent watches for it
    // (`failed` only after the grace period), and never sends it again.
    const settled = () => {
      const ack = ackOf('reboot');
      return ack?.token === 'k2' && (ack.state === 'done' || (ack.state === 'running' && /waiting for a new boot$/.test(ack.detail)));
    };
    await until('ack k2 done or watching', () => (settled() ? true : undefined));
    await d.waitForLine(pollDone);
    assert.equal(ackOf('reboot')?.state, bootAfter !== bootBefore ? 'done' : 'running');
    d.kill('SIGKILL');
    await d.exited;
    assert.equal(reboots(), before + 1);
  });

  it('killed after the ack is written: restarted, nothing runs again', async () => {
    cloud.setDeviceTag(W.uuid, 'agent.identify', 'k3');
    const e = spawnAgent();
    await until('ack k3 done', () => (ackOf('identify')?.token === 'k3' && ackOf('identify')?.state === 'done' ? true : undefined));
    e.kill('SIGKILL');
    await e.exited;
    const f = spawnAgent();
    await f.waitForLine(pollDone);
    f.kill('SIGKILL');
    await f.exited;
    assert.equal(sup.requests.filter((r) => r.path === '/v1/blink').length, 1);
  });

  it('a lost journal is rebuilt from the ack tags: acknowledged tokens never run again', async () => {
    await writeFile(join(dir, 'data', 'journal.json'), 'garbage{');
    const g = spawnAgent();
    await g.waitForLine(pollDone);
    g.kill('SIGKILL');
    await g.exited;
    assert.equal(sup.requests.filter((r) => r.path === '/v1/blink').length, 1);
    assert.equal(reboots(), 2);
  });
});

describe('fleet-agent run: health and graceful stop', () => {
  it('fleet-agent health answers from the running agent; SIGTERM exits 0 within 10 s', async () => {
    const h = spawnAgent();
    await h.waitForLine(pollDone);
    await h.waitForLine((l) => l.msg === 'fleet-agent running');
    const ok = await runCli(['health'], { AGENT_HTTP_PORT: env.AGENT_HTTP_PORT! });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'ok');
    const json = await runCli(['health', '--json'], { AGENT_HTTP_PORT: env.AGENT_HTTP_PORT! });
    assert.deepEqual(JSON.parse(json.stdout), { ok: true, state: 'ok', reasons: [] });
    const started = Date.now();
    h.kill('SIGTERM');
    assert.equal(await h.exited, 0);
    assert.ok(Date.now() - started < 10_000);
    const all = h.lines.map((l) => JSON.stringify(l)).join('\n') + h.stderr();
    for (const secret of [W.deviceKey, W.supervisorKey]) assert.ok(!all.includes(secret), 'no secret in the output');
    const none = await runCli(['health'], { AGENT_HTTP_PORT: env.AGENT_HTTP_PORT! });
    assert.equal(none.code, 3);
  });

  it('local port taken: keeps working without its server, health degraded says why', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(Number(env.AGENT_HTTP_PORT), '127.0.0.1', resolve));
    try {
      const a = spawnAgent();
      await a.waitForLine((l) => l.msg === 'local HTTP server could not start; running without it');
      await a.waitForLine(pollDone);
      const report = await sup.waitFor(
        (r) => r.method === 'PATCH' && r.path === '/v2/device/tags' && /local HTTP server not running/.test(JSON.stringify(r.body)),
        15_000,
      );
      assert.equal((report.body as Record<string, string>)['agent.health'] ?? cloud.deviceTags(W.uuid)['agent.health'], 'degraded');
      a.kill('SIGTERM');
      assert.equal(await a.exited, 0);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('SIGTERM with requests in flight to peers that accept and never answer: exits 0 within a few seconds', async () => {
    const requests: string[] = [];
    const sockets = new Set<Socket>();
    const stalled = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('data', (d) => void requests.push(String(d).split('\r\n')[0] ?? ''));
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const address = stalled.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const a = startAgentChild({
        ...env, BALENA_SUPERVISOR_ADDRESS: url, BALENA_API_URL: url, AGENT_DATA_DIR: join(dir, 'data-stalled'), AGENT_HTTP_PORT: String(await freePort()),
      });
      children.push(a);
      await a.waitForLine((l) => l.msg === 'fleet-agent running');
      // Both the cloud poll and the supervisor's version probe (the first tag write) are waiting.
      await until('a cloud and a supervisor request in flight', () => requests.some((r) => r.startsWith('GET /v7/device')) && requests.some((r) => r.startsWith('GET /v2/version')));
      const started = Date.now();
      a.kill('SIGTERM');
      const code = await Promise.race([a.exited, new Promise((resolve) => setTimeout(() => resolve('still running 8 s after SIGTERM'), 8_000))]);
      assert.equal(code, 0, a.stderr());
      assert.ok(Date.now() - started < 6_000, `exited after ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  it('a missing boot id file: exit 2 naming the path and AGENT_BOOT_ID_PATH', async () => {
    const missing = join(dir, 'no-such-boot-id');
    const r = await runCli(['run'], { ...env, AGENT_BOOT_ID_PATH: missing, AGENT_DATA_DIR: join(dir, 'data-no-boot-id') });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes('AGENT_BOOT_ID_PATH'), r.stderr);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });

  it('bad settings: every problem listed, exit 2', async () => {
    const r = await runCli(['run'], { AGENT_POLL_INTERVAL: '1s', AGENT_MAX_REBOOTS_PER_DAY: 'lots' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /AGENT_POLL_INTERVAL/);
    assert.match(r.stderr, /AGENT_MAX_REBOOTS_PER_DAY/);
    assert.match(r.stderr, /BALENA_SUPERVISOR_ADDRESS/);
  });
});
