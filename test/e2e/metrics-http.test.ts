import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { freePort, until, type AgentChild } from '../helpers/agent-child.js';
import { HEALTHCHECK, PATIENCE, runCli, runScript } from '../helpers/cli.js';
import { startE2eWorld, type E2eWorld } from '../helpers/e2e-world.js';
import { promtoolCheck, skipWithout, TOOLS } from '../helpers/tools.js';

const running = (l: Record<string, unknown>) => l.msg === 'fleet-agent running';
const EMULATED = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') !== '';

/** The machine's own non-loopback IPv4 address, if it has one. */
function ownAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('fleet-agent run: /metrics and the health probe (e2e)', () => {
  let world: E2eWorld;
  let agent: AgentChild;
  let url = '';

  before(async () => {
    world = await startE2eWorld();
    agent = world.spawn();
    await agent.waitForLine(running);
    url = `http://127.0.0.1:${world.env.AGENT_HTTP_PORT}`;
    await agent.waitForLine((l) => l.msg === 'poll complete');
  });
  after(() => world.close());

  it('serves every family, with a sample of this machine, and no secret', async () => {
    const text = await until('a first sample', async () => {
      const body = await (await fetch(`${url}/metrics`)).text();
      return body.includes('\ndevice_memory_total_bytes ') ? body : undefined;
    });
    for (const f of ['fleet_agent_build_info', 'fleet_agent_health', 'fleet_agent_cloud_requests_total', 'device_cpu_usage_ratio', 'device_filesystem_size_bytes']) {
      assert.match(text, new RegExp(`^${f}[{ ]`, 'm'), f);
    }
    // User-mode emulation's /proc gives no resident size: the agent leaves the series out there.
    if (EMULATED) assert.doesNotMatch(text, /^process_resident_memory_bytes /m);
    else assert.match(text, /^process_resident_memory_bytes [1-9]/m);
    assert.match(text, /^fleet_agent_cloud_requests_total\{outcome="ok"\} [1-9]/m);
    for (const secret of Object.entries(world.env).filter(([k]) => k.endsWith('KEY')).map(([, v]) => v)) assert.ok(!text.includes(secret));
    const status = (await (await fetch(`${url}/status`)).json()) as { metrics: { cpu: object; memory: { totalBytes: number } } };
    assert.ok(status.metrics.memory.totalBytes > 0);
  });

  it('passes promtool check metrics', { skip: skipWithout('promtool') }, async () => {
    const { code, output } = await promtoolCheck(await (await fetch(`${url}/metrics`)).text());
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '');
  });

  it(`is scraped by a real Prometheus server${EMULATED ? ' (skipped under emulation: an x64 server scraping an emulated agent)' : ''}`, { skip: EMULATED ? 'x64 Prometheus against an emulated agent' : skipWithout('prometheus') }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
    const port = await freePort();
    await writeFile(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: fleet-agent',
      `    static_configs: [{ targets: ['127.0.0.1:${world.env.AGENT_HTTP_PORT}'] }]`,
      '',
    ].join('\n'));
    const server = spawn(TOOLS.prometheus, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const ended = new Promise((resolve) => server.once('exit', resolve));
    const query = async (q: string): Promise<number | undefined> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      if (!res?.ok) return undefined;
      const doc = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
      const v = doc.data?.result?.[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    };
    try {
      await until(`Prometheus scraping the agent (${stderr.slice(-300)})`, async () => (await query('up{job="fleet-agent"}')) === 1, 60_000 * PATIENCE);
      assert.equal(await until('a family', () => query('fleet_agent_build_info')), 1);
      assert.equal(await until('health', () => query('sum(fleet_agent_health)')), 1);
      assert.ok(((await until('memory', () => query('device_memory_total_bytes'))) ?? 0) > 0);
    } finally {
      server.kill('SIGTERM');
      await ended;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fleet-agent metrics prints one sample, for people and as JSON', async () => {
    const [human, json] = await Promise.all([runCli(['metrics'], world.env), runCli(['metrics', '--json'], world.env)]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^cpu\s+\d+ %/m);
    assert.match(human.stdout, /^memory\s+.* used/m);
    assert.match(human.stdout, /^power\s+/m);
    const doc = JSON.parse(json.stdout) as { cpu: { usageRatio: number }; memory: { totalBytes: number } };
    assert.ok(doc.cpu.usageRatio >= 0 && doc.memory.totalBytes > 0);
  });
});

describe('fleet-agent run bound to a non-loopback address (e2e)', () => {
  const address = ownAddress();
  const skip = address === undefined ? 'this machine has no non-loopback IPv4 address' : false;
  let world: E2eWorld;
  const token = 'e2e-token-0123456789';

  before(async () => {
    world = await startE2eWorld();
  });
  after(() => world.close());

  it('health and the image\'s HEALTHCHECK ask that address with the token', { skip }, async () => {
    const env: Record<string, string> = { ...world.env, AGENT_HTTP_BIND: address ?? '', AGENT_HTTP_TOKEN: token };
    const agent = world.spawn(env);
    await agent.waitForLine(running);
    const health = await runCli(['health', '--json'], env);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    assert.equal((JSON.parse(health.stdout) as { ok: boolean }).ok, true);
    const probe = await runScript(HEALTHCHECK, [], env);
    assert.equal(probe.code, 0, probe.stdout);
    // Without the token the same address refuses: the probe says so (not "nothing answers on 127.0.0.1").
    const refused = await runCli(['health'], { ...env, AGENT_HTTP_TOKEN: 'other-token-0123456789' });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr + refused.stdout, new RegExp(`${address?.replace(/\./g, '\\.') ?? ''}.*401`));
    // Every route and the WebSocket upgrade need the token there.
    const base = `http://${address ?? ''}:${env.AGENT_HTTP_PORT ?? ''}`;
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const upgrade = (query: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace('http:', 'ws:')}/logs${query}`);
      ws.once('open', () => (ws.close(), resolve(101)));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(0));
    });
    assert.equal(await upgrade(''), 401);
    assert.equal(await upgrade(`?token=${token}`), 101);
  });
});
