import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { freePort } from '../helpers/agent-child.js';
import { MAIN, PATIENCE, baseChildEnv, nodeCommand, runCli, until } from '../helpers/cli.js';

interface Event {
  event: string;
  [key: string]: unknown;
}

describe('fleet-agent demo --json', () => {
  let child: ChildProcessWithoutNullStreams;
  let info: {
    cloudUrl: string; operatorKey: string; deviceUuid: string; supervisorUrl: string; supervisorKey: string; deviceKey: string; appId: number;
    checkUrls: Record<string, string>;
  };
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

  it('console switches: an update lock holds a restart until it is let go; a 429 is waited out for its Retry-After', async () => {
    child.stdin.write('lock\n');
    await waitEvent((e) => e.event === 'switch' && e.kind === 'lock' && e.held === true, 'lock switch');
    assert.equal(await operator('POST', '/v7/device_tag', { device: 1, tag_key: 'agent.restart', value: 'lk1' }), 201);
    const held = await waitEvent((e) => e.event === 'tag' && e.key === 'agent.restart.ack' && /^lk1 running /.test(String(e.value)) && /lock/i.test(String(e.value)), 'restart held by the lock');
    assert.match(String(held.value), /Updates are locked \(held from the demo console\)/);
    child.stdin.write('unlock\n');
    await waitEvent((e) => e.event === 'tag' && e.key === 'agent.restart.ack' && /^lk1 done /.test(String(e.value)), 'restart done once unlocked');
    assert.equal(events.filter((e) => e.event === 'supervisor' && String(e.path).endsWith('/restart') && e.method === 'POST').length >= 1, true);

    child.stdin.write('frobnicate\n429 1 12\n');
    const bad = await waitEvent((e) => e.event === 'switch-error', 'an unknown switch is named');
    assert.match(String(bad.message), /unknown switch "frobnicate"; type help/);
    await waitEvent((e) => e.event === 'switch' && e.kind === 'rate-limit', '429 switch');
    // The one 429 goes to whichever request reaches the API first: the agent's poll or its log
    // stream. Each keeps its own budget, so the one that got it waits out the Retry-After.
    const limited = await waitEvent((e) => (e.event === 'cloud' || e.event === 'logs') && e.status === 429, 'a 429 seen by the device');
    // The same requester's next request (a tag write the simulated supervisor forwards at once is the supervisor's).
    const sameKind = (e: Event) => (limited.event === 'logs' ? e.event === 'logs' : e.event === 'cloud' && e.method === 'GET');
    const next = await waitEvent((e) => sameKind(e) && Number(e.at) > Number(limited.at), `the next ${String(limited.event)} request after the 429`, 40_000);
    assert.ok(Number(next.at) - Number(limited.at) >= 12_000, `waited ${Number(next.at) - Number(limited.at)} ms, Retry-After was 12 s`);
  });

  it('console switches break a service: crash and crashloop show in the app state, hang fails its check, heal mends it; updating shows', async () => {
    const state = async () => {
      const res = await fetch(`${info.supervisorUrl}/v2/applications/state?apikey=${info.supervisorKey}`);
      const body = (await res.json()) as Record<string, { updateStatus: string; services: Record<string, { status: string }> }>;
      const app = Object.values(body)[0]!;
      return { updateStatus: app.updateStatus, main: app.services.main?.status };
    };
    const check = async () => (await fetch(info.checkUrls.main!)).status;
    assert.match(info.checkUrls.main ?? '', /^http:\/\/127\.0\.0\.1:\d+\/sim\/check\/main$/);
    assert.deepEqual([await state(), await check()], [{ updateStatus: 'done', main: 'Running' }, 200]);

    child.stdin.write('crash nosuch\n');
    const unknown = await waitEvent((e) => e.event === 'switch-error' && /nosuch/.test(String(e.message)), 'an unknown service is named');
    assert.equal(unknown.message, 'no service "nosuch" on the device; it runs main, fleet-agent');
    child.stdin.write('crashloop main\n');
    await waitEvent((e) => e.event === 'switch' && e.kind === 'crash' && e.loop === true, 'crashloop switch');
    assert.equal((await state()).main, 'exited');
    child.stdin.write('heal main\nhang main\n');
    await waitEvent((e) => e.event === 'switch' && e.kind === 'hang', 'hang switch');
    assert.deepEqual([(await state()).main, await check()], ['Running', 500]);
    child.stdin.write('heal main\nupdating on\n');
    await waitEvent((e) => e.event === 'switch' && e.kind === 'updating' && e.on === true, 'updating switch');
    assert.deepEqual([await state(), await check()], [{ updateStatus: 'applying changes', main: 'Running' }, 200]);
    child.stdin.write('updating off\n');
    await waitEvent((e) => e.event === 'switch' && e.kind === 'updating' && e.on === false, 'updating off');
    assert.equal((await state()).updateStatus, 'done');
  });

  it('serves the status page of the running agent and stops cleanly on SIGINT', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.ok([200, 503].includes(health.status));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});

describe('fleet-agent demo (for a person)', () => {
  let child: ChildProcessWithoutNullStreams;
  let port = 0;
  let startedAt = 0;
  const lines: string[] = [];
  const waiters: Array<{ pred: (line: string) => boolean; resolve: (line: string) => void }> = [];

  /** The first printed line (past or future) matching `pred`. */
  const waitLine = (pred: (line: string) => boolean, what: string, timeoutMs = 30_000 * PATIENCE): Promise<string> => {
    const seen = lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
      waiters.push({ pred, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  };

  before(async () => {
    port = await freePort();
    const node = nodeCommand();
    startedAt = Date.now();
    child = spawn(node.command, [...node.prefix, MAIN, 'demo'], { env: { ...baseChildEnv(), AGENT_HTTP_PORT: String(port) } });
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      for (const w of [...waiters]) {
        if (!w.pred(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    });
    await waitLine((l) => l.startsWith('Watching'), 'the "Watching" line');
  });

  after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  });

  it('prints a CLI line that reaches this demo\'s agent and names its service: health and env work as pasted', async () => {
    const at = lines.findIndex((l) => l.startsWith('Or the CLI, as the device itself:'));
    const pasted = lines.slice(at + 1, at + 5).join(' ').replace(/\\/g, ' ');
    const env = Object.fromEntries([...pasted.matchAll(/\b([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    assert.equal(env.AGENT_HTTP_PORT, String(port));
    assert.equal(env.BALENA_SERVICE_NAME, 'fleet-agent');
    assert.ok(lines.some((l) => l.includes('lock | unlock')), 'the console switches are listed');
    const health = await until('the agent answers', async () => {
      const r = await runCli(['health'], env);
      return r.code === 0 ? r : undefined;
    });
    assert.match(health.stdout, /^(ok|degraded: .*)$/m);
    const vars = await runCli(['env'], env);
    assert.equal(vars.code, 0, vars.stderr);
    assert.match(vars.stdout, /^variables for service fleet-agent$/m);
  });

  it('prints how to see each behaviour: a reboot schedule for the next minute in UTC without spread, the watchdog\'s switches, the offline reboot', () => {
    const tagLine = (key: string): { device: number; tag_key: string; value: string } => {
      const line = lines.find((l) => l.includes(`"tag_key":"${key}"`));
      assert.ok(line, `a line sets ${key}:\n${lines.join('\n')}`);
      assert.match(line, /curl -s -X POST .*\/v7\/device_tag'$/);
      return JSON.parse(/-d '(\{.*\})'/.exec(line)?.[1] ?? '{}') as { device: number; tag_key: string; value: string };
    };
    assert.equal(tagLine('agent.config.schedule-spread').value, '0');
    const cron = /^(\d+) (\d+) \* \* \*$/.exec(tagLine('agent.config.reboot-schedule').value);
    assert.ok(cron, 'a daily cron pattern');
    const day = 24 * 60;
    const minuteOfDay = (t: number) => Math.floor(t / 60_000) % day;
    const due = Number(cron[2]) * 60 + Number(cron[1]);
    const ahead = (due - minuteOfDay(startedAt) + day) % day;
    assert.ok(ahead >= 1 && ahead <= 3, `the slot ${cron[0]} is a minute or two after the demo started (${new Date(startedAt).toISOString()})`);
    assert.ok(lines.some((l) => l.includes(`reboot at ${cron[2]!.padStart(2, '0')}:${cron[1]!.padStart(2, '0')} UTC`)));
    for (const sw of ['crash main', 'hang main', 'crashloop main']) assert.ok(lines.some((l) => l.trim().startsWith(sw)), `${sw} is explained`);
    assert.ok(lines.some((l) => l.includes('Watchdog (on: AGENT_WATCHDOG=all, a look every 5s, main\'s check URL in AGENT_CHECK_MAIN)')));
    assert.equal(tagLine('agent.config.offline-reboot').value, '10m');
    assert.ok(lines.some((l) => /takes 10m, not a minute/.test(l)), 'says the offline reboot takes longer than a minute');
    assert.ok(lines.some((l) => /type: cloud down/.test(l)));
  });

  it('crash main from the console: the watchdog restarts it, and the demo prints the watchdog\'s report', async () => {
    child.stdin.write('crash main\n');
    await waitLine((l) => l.startsWith('switch      main exited'), 'the crash switch');
    const restart = await waitLine((l) => /^supervisor {2}POST \/v2\/applications\/\d+\/restart-service \{"serviceName":"main"/.test(l), 'the watchdog\'s restart-service');
    const report = await waitLine((l) => l.startsWith('behaviour   watchdog: '), 'the watchdog\'s report');
    assert.match(report, /^behaviour {3}watchdog: restart-service main done \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.ok(lines.indexOf(restart) < lines.indexOf(report));
    assert.ok(lines.some((l) => /^ack {9}\S+: |^tag {2}agent\.health = /.test(l)), 'acks and other tags keep their lines');
  });
});
