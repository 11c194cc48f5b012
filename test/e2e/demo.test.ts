import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { MAIN, baseChildEnv, nodeCommand, runCli } from '../helpers/cli.js';

interface Event {
  event: string;
  [key: string]: unknown;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('fleet-agent demo --json', () => {
  let child: ChildProcessWithoutNullStreams;
  let info: { cloudUrl: string; operatorKey: string; deviceUuid: string; supervisorUrl: string; supervisorKey: string; deviceKey: string; appId: number };
  const events: Event[] = [];
  const waiters: Array<{ pred: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  let port = 0;

  const waitEvent = (pred: (e: Event) => boolean, what: string, timeoutMs = 30_000): Promise<Event> => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`)), timeoutMs);
      waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  };

  const operator = async (method: string, path: string, body: unknown): Promise<number> => {
    const res = await fetch(`${info.cloudUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${info.operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  };

  before(async () => {
    port = await freePort();
    const node = nodeCommand();
    child = spawn(node.command, [...node.prefix, MAIN, 'demo', '--json'], {
      env: { ...baseChildEnv(), AGENT_HTTP_PORT: String(port) },
    });
    const lines = createInterface({ input: child.stdout });
    const first = new Promise<string>((resolve) => lines.once('line', resolve));
    info = JSON.parse(await first) as typeof info;
    lines.on('line', (line) => {
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        return; // the agent's own log lines
      }
      if (typeof event.event !== 'string') return;
      events.push(event);
      for (const w of [...waiters]) {
        if (w.pred(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    });
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the addresses and keys scripts need as its first line', () => {
    assert.match(info.cloudUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.supervisorUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.deviceUuid, /^[0-9a-f]{32}$/);
    assert.match(info.operatorKey, /^\w{16,}$/);
  });

  it('fleet-agent doctor, as the device, is all green against the demo', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'demo-doctor-'));
    try {
      const res = await runCli(['doctor'], {
        BALENA_SUPERVISOR_ADDRESS: info.supervisorUrl, BALENA_SUPERVISOR_API_KEY: info.supervisorKey, BALENA_APP_ID: String(info.appId),
        BALENA_API_URL: info.cloudUrl, BALENA_API_KEY: info.deviceKey, BALENA_DEVICE_UUID: info.deviceUuid, AGENT_DATA_DIR: dataDir,
      });
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const lines = res.stdout.trim().split('\n');
      assert.ok(lines.length >= 8 && lines.every((l) => l.startsWith('✔')), res.stdout);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('walks through the README: one reboot per token, acknowledged done after the new boot', async () => {
    assert.equal(await operator('POST', '/v7/device_tag', { device: 1, tag_key: 'agent.reboot', value: 'demo1' }), 201);
    await waitEvent((e) => e.event === 'tag' && e.key === 'agent.reboot.ack' && /^demo1 done /.test(String(e.value)), 'demo1 done');
    const reboots = () => events.filter((e) => e.event === 'supervisor' && e.path === '/v1/reboot').length;
    assert.equal(reboots(), 1);
    assert.equal(events.filter((e) => e.event === 'reboot').length, 1);

    assert.equal(await operator('PATCH', "/v7/device_tag(device=1,tag_key='agent.reboot')", { value: 'demo2' }), 200);
    await waitEvent((e) => e.event === 'tag' && e.key === 'agent.reboot.ack' && /^demo2 done /.test(String(e.value)), 'demo2 done');
    assert.equal(reboots(), 2);
  });

  it('serves the status page of the running agent and stops cleanly on SIGINT', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.ok([200, 503].includes(health.status));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});
