/** Both simulators and the environment a `fleet-agent run` child needs against them (e2e tests). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudSimulator, demoSeed } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { freePort, startAgentChild, type AgentChild } from './agent-child.js';
import { W } from './agent-harness.js';

/** The simulators, a temp folder, the agent's environment, and the children started. */
export interface E2eWorld {
  dir: string;
  sup: SupervisorSimulator;
  cloud: CloudSimulator;
  env: Record<string, string>;
  /** Starts an agent child with the world's environment plus `extra`. */
  spawn(extra?: Record<string, string>): AgentChild;
  close(): Promise<void>;
}

/** Starts both simulators (tags the supervisor is given reach the cloud) and a temp data folder. */
export async function startE2eWorld(): Promise<E2eWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-e2e-'));
  const bootIdPath = join(dir, 'boot_id');
  await writeFile(bootIdPath, 'boot-0\n');
  const cloud = new CloudSimulator({ seed: demoSeed({ deviceUuid: W.uuid, deviceKey: W.deviceKey, operatorKey: W.operatorKey }) });
  await cloud.start();
  const sup = new SupervisorSimulator({
    apiKey: W.supervisorKey, appId: W.appId, appName: 'demo-fleet', bootIdPath,
    onTagsPatch: (tags) => {
      for (const [k, v] of Object.entries(tags)) cloud.setDeviceTag(W.uuid, k, v);
    },
  });
  await sup.start();
  const env = {
    BALENA_SUPERVISOR_ADDRESS: sup.url, BALENA_SUPERVISOR_API_KEY: W.supervisorKey, BALENA_APP_ID: String(W.appId),
    BALENA_API_URL: cloud.url, BALENA_API_KEY: W.deviceKey, BALENA_DEVICE_UUID: W.uuid, BALENA_SERVICE_NAME: 'fleet-agent',
    AGENT_START_SPREAD: '0', AGENT_POLL_INTERVAL: '10s', AGENT_DATA_DIR: join(dir, 'data'), AGENT_BOOT_ID_PATH: bootIdPath,
    AGENT_HTTP_PORT: String(await freePort()), AGENT_LOG_LEVEL: 'debug',
  };
  const children: AgentChild[] = [];
  return {
    dir, sup, cloud, env,
    spawn(extra = {}) {
      const c = startAgentChild({ ...env, ...extra });
      children.push(c);
      return c;
    },
    async close() {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await sup.stop();
      await cloud.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
