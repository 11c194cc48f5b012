/**
 * Peers that echo the request (an old supervisor repeating a `?apikey=` URL, a proxy repeating the
 * Authorization header) must not get a key into anything the agent puts out: ack tags in the
 * cloud, /status, the status page, the CLI's output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAck } from '../../src/agent/acks.js';
import { CloudSimulator, demoSeed } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { freePort, startAgentChild, until, type AgentChild } from '../helpers/agent-child.js';
import { W } from '../helpers/agent-harness.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'local-http-token-0123456789';
const SECRETS = [W.deviceKey, W.supervisorKey, TOKEN];

/** What an echoing peer answers: both keys, in a URL, a header and bare. */
const ECHO = JSON.stringify({
  message: `refused /v1/restart?apikey=${W.supervisorKey}; upstream said: Authorization: Bearer ${W.deviceKey}; key ${W.deviceKey} / ${W.supervisorKey}`,
});

function assertClean(what: string, text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${what} holds a secret: ${text.slice(0, 600)}`);
}

describe('fleet-agent run: an echoing peer puts no key into any output', () => {
  let dir = '';
  let sup: SupervisorSimulator;
  let cloud: CloudSimulator;
  let env: Record<string, string> = {};
  let agent: AgentChild | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-secrets-'));
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
      AGENT_HTTP_PORT: String(await freePort()), AGENT_HTTP_TOKEN: TOKEN, AGENT_LOG_LEVEL: 'debug',
    };
  });

  after(async () => {
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGKILL');
    await agent?.exited;
    await sup.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a supervisor echoing both keys in its 500s: the ack in the cloud, /status, the page and the logs hold no key', async () => {
    agent = startAgentChild(env);
    await agent.waitForLine((l) => l.msg === 'poll complete');
    // From now on every supervisor request fails with the echo, the tag PATCH too (tags then go to the cloud).
    sup.failNext(1_000, 500, ECHO);
    cloud.setDeviceTag(W.uuid, 'agent.restart', 'echo1');
    const ack = await until('the restart ack', () => {
      const value = cloud.deviceTags(W.uuid)['agent.restart.ack'];
      return value !== undefined && parseAck(value)?.token === 'echo1' && parseAck(value)?.state === 'failed' ? value : undefined;
    }, 30_000);
    assert.match(ack, /\[redacted\]/, 'the echo reached the ack, hidden');
    assertClean('the ack tag', ack);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const base = `http://127.0.0.1:${env.AGENT_HTTP_PORT}`;
    const status = await (await fetch(`${base}/status`, { headers: auth })).text();
    assert.match(status, /echo1/);
    assertClean('/status', status);
    const page = await (await fetch(`${base}/`, { headers: auth })).text();
    assert.match(page, /echo1/);
    assertClean('the status page', page);
    assertClean('the tags in the cloud', JSON.stringify(cloud.deviceTags(W.uuid)));
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
    assertClean('the logs', agent.lines.map((l) => JSON.stringify(l)).join('\n') + agent.stderr());
  });

  it('the CLI prints no key from an echoing supervisor or cloud, as text or JSON', async () => {
    sup.failNext(1_000, 500, ECHO);
    cloud.failNext(1_000, 500, ECHO);
    const commands = [['restart-app'], ['state', '--json'], ['tags'], ['tags', '--json'], ['env']];
    const results = await Promise.all(commands.map((args) => runCli(args, env, 30_000)));
    for (const [i, r] of results.entries()) {
      const args = commands[i] ?? [];
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail: ${r.stdout}`);
      assert.match(r.stdout + r.stderr, /refused|answered|500/, args.join(' '));
      assertClean(`fleet-agent ${args.join(' ')}`, r.stdout + r.stderr);
    }
  });
});
