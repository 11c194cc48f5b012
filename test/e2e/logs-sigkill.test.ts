/**
 * The built agent as a child process forwards journal lines (supervisor simulator, lines flowing
 * the whole time) to an NDJSON receiver and is killed with SIGKILL at seeded random moments, many
 * times. Afterwards: no line missing, and at most one batch (100 lines) repeated per kill.
 * FLEET_AGENT_LOGS_KILLS sets the number of kills (default 20).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudSimulator, demoSeed } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { freePort, startAgentChild, until, type AgentChild } from '../helpers/agent-child.js';
import { W } from '../helpers/agent-harness.js';
import { PATIENCE } from '../helpers/cli.js';
import { LogReceiver } from '../helpers/log-receiver.js';
import { mulberry32 } from '../helpers/random.js';

const KILLS = Number(process.env.FLEET_AGENT_LOGS_KILLS ?? 20);
const SEED = Number(process.env.FLEET_AGENT_LOGS_SEED ?? 11);
const BATCH = 100;

let dir = '';
let sup: SupervisorSimulator;
let cloud: CloudSimulator;
let receiver: LogReceiver;
let env: Record<string, string> = {};
const children: AgentChild[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logs-kill-'));
  cloud = new CloudSimulator({ seed: demoSeed({ deviceUuid: W.uuid, deviceKey: W.deviceKey, operatorKey: W.operatorKey }) });
  await cloud.start();
  sup = new SupervisorSimulator({ apiKey: W.supervisorKey, appId: W.appId, appName: 'demo-fleet', journal: [] });
  await sup.start();
  receiver = new LogReceiver();
  await receiver.start();
  env = {
    BALENA_SUPERVISOR_ADDRESS: sup.url, BALENA_SUPERVISOR_API_KEY: W.supervisorKey, BALENA_APP_ID: String(W.appId),
    BALENA_API_URL: cloud.url, BALENA_API_KEY: W.deviceKey, BALENA_DEVICE_UUID: W.uuid, BALENA_SERVICE_NAME: 'fleet-agent',
    AGENT_START_SPREAD: '0', AGENT_POLL_INTERVAL: '5m', AGENT_DATA_DIR: join(dir, 'data'),
    AGENT_HTTP_PORT: String(await freePort()), AGENT_LOG_LEVEL: 'warn', AGENT_LOGS_FORWARD: receiver.url,
  };
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await receiver.stop();
  await sup.stop();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('log forwarding survives SIGKILL', () => {
  it(`${KILLS} kills at random moments while lines flow: none missing, at most one batch repeated per kill`, async () => {
    const random = mulberry32(SEED);
    const produced: string[] = [];
    // The journal keeps producing: 30 lines every 10 ms (3,000 lines/s) over three units.
    let pushing = true;
    const push = (): void => {
      if (!pushing) return;
      for (let i = 0; i < 30; i++) {
        const message = `line ${produced.length}`;
        sup.pushJournal({ message, unit: `u${produced.length % 3}.service` });
        produced.push(message);
      }
      setTimeout(push, 10);
    };
    push();
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = startAgentChild(env);
        children.push(child);
        // From just after start (nothing read yet) to well into forwarding (batches in flight).
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 1400)));
        child.kill('SIGKILL');
        await child.exited;
      }
    } finally {
      pushing = false;
    }
    const last = startAgentChild(env);
    children.push(last);
    const total = produced.length;
    await until('every produced line received', () => new Set(receiver.lines.map((l) => l.message)).size >= total || undefined, 60_000 * PATIENCE);
    last.kill('SIGTERM');
    await last.exited;
    const got = receiver.lines.map((l) => String(l.message));
    const seen = new Set(got);
    const missing = produced.filter((m) => !seen.has(m));
    assert.deepEqual(missing, [], 'no line missing');
    const repeated = got.length - seen.size;
    assert.ok(repeated <= KILLS * BATCH, `${repeated} lines repeated over ${KILLS} kills (at most ${BATCH} per kill)`);
    // Each unit's lines arrive in order, repeats aside.
    for (const unit of ['u0.service', 'u1.service', 'u2.service']) {
      const order = [...new Set(receiver.lines.filter((l) => l.unit === unit).map((l) => Number(String(l.message).split(' ')[1])))];
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${unit} in order`);
    }
    process.stdout.write(`# logs SIGKILL: ${KILLS} kills, ${total} lines produced, ${got.length} received, ${repeated} repeated\n`);
  });
});
