/** An in-process agent on a ManualClock against REAL supervisor and cloud simulators on loopback. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { parseAck } from '../../src/agent/acks.js';
import { buildAgent } from '../../src/agent/build.js';
import type { Agent } from '../../src/agent/agent.js';
import { HttpCheck } from '../../src/agent/http-check.js';
import { CloudClient } from '../../src/cloud/client.js';
import { CloudSimulator, demoSeed, DEMO } from '../../src/sim/cloud/simulator.js';
import { TagWriter } from '../../src/cloud/tags.js';
import type { Config } from '../../src/config/schema.js';
import type { JournalFile } from '../../src/agent/journal.js';
import { ManualClock } from '../../src/lib/clock.js';
import { createLogger, type Logger } from '../../src/lib/logger.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import type { MetricsSource } from '../../src/metrics/sample.js';
import { testConfig } from './agent-fixtures.js';

/** Credentials of the simulated device. */
export const W = {
  uuid: DEMO.deviceUuid,
  deviceKey: 'world-device-key-000000000000000',
  operatorKey: 'world-operator-key-0000000000000',
  supervisorKey: 'worldsupervisorkey0000000000000',
  appId: DEMO.fleetId,
} as const;

/** The world: simulators, clock, clients, and the current agent. */
export interface World {
  clock: ManualClock;
  sup: SupervisorSimulator;
  cloudSim: CloudSimulator;
  dir: string;
  bootIdPath: string;
  agent: Agent;
  /** The agent's logger (silent unless a test or a live tag changes its level). */
  log: Logger;
  /** The log lines written so far (none while the level is silent). */
  logged: string[];
  /**
   * Starts a new Agent object (as after a process restart), stopping the old one first;
   * `downMs`: simulated time that passes while no agent runs (the process or the device was down).
   */
  restart(config?: Partial<Config>, opts?: { downMs?: number }): Promise<Agent>;
  /** Advances simulated time, waking each sleeper in turn and waiting until nothing runs after each. */
  step(ms: number): Promise<void>;
  /** Sets a device tag as an operator would, and polls now. */
  tag(key: string, value: string): Promise<void>;
  /** Supervisor requests to this path. */
  calls(path: string): number;
  /** The device's tags in the cloud. */
  tags(): Record<string, string>;
  /** The command's ack tag in the cloud, parsed (undefined when absent). */
  ack(command: string): ReturnType<typeof parseAck>;
  /** A behaviour's `agent.<behaviour>.last` tag in the cloud (undefined when absent). */
  last(behaviour: string): string | undefined;
  close(): Promise<void>;
}

/** How a world starts. */
export interface WorldOptions {
  supervisorVersion?: string;
  config?: Partial<Config>;
  journalFile?: (dir: string) => JournalFile;
  /** Services whose `AGENT_CHECK_<SERVICE>` points to the supervisor simulator's check URL for them. */
  checks?: readonly string[];
  /** BALENA_SERVICE_NAME (default `fleet-agent`; null: unset). */
  serviceName?: string | null;
  /** The supervisor simulator stamps its records (effects, requests, checks) with the world's clock instead of the real one. */
  clockedSupervisor?: boolean;
  /** Where the agent's metrics samples come from (default: none, the agent does not sample). */
  metricsSource?: MetricsSource;
  /** Builds the agent with log forwarding's facilities (the journal through the supervisor client). */
  logs?: boolean;
}

/** Starts both simulators and an agent (start spread 0, so its first poll runs at once). */
export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-world-'));
  const bootIdPath = join(dir, 'boot_id');
  await writeFile(bootIdPath, 'boot-initial\n');
  const clock = new ManualClock();
  const cloudSim = new CloudSimulator({ seed: demoSeed({ deviceUuid: W.uuid, deviceKey: W.deviceKey, operatorKey: W.operatorKey }) });
  await cloudSim.start();
  const sup = new SupervisorSimulator({
    apiKey: W.supervisorKey,
    appId: W.appId,
    appName: 'demo-fleet',
    bootIdPath,
    ...(opts.supervisorVersion ? { version: opts.supervisorVersion } : {}),
    ...(opts.clockedSupervisor === true ? { clock } : {}),
    onTagsPatch: (tags) => {
      for (const [k, v] of Object.entries(tags)) cloudSim.setDeviceTag(W.uuid, k, v);
    },
  });
  await sup.start();
  const dispatcher = new Dispatcher({ connect: { timeout: 2_000 } });
  const supervisor = new SupervisorClient({ baseUrl: sup.url, apiKey: W.supervisorKey, appId: W.appId, dispatcher, clock, timeoutMs: 3_000 });
  const cloud = new CloudClient({ baseUrl: cloudSim.url, apiKey: W.deviceKey, deviceUuid: W.uuid, dispatcher, clock, maxRetries: 0, timeoutMs: 3_000 });
  const tagWriter = new TagWriter({ cloud, supervisor, clock });
  const logged: string[] = [];
  const log = createLogger({ level: 'silent', destination: new Writable({ write: (chunk, _e, done) => (logged.push(String(chunk)), done()) }) });
  const checks = Object.fromEntries((opts.checks ?? []).map((name) => [name, sup.checkUrl(name)]));
  let base = testConfig({ dataDir: join(dir, 'data'), bootIdPath, ...(opts.checks ? { checks } : {}), ...opts.config });
  const serviceName = opts.serviceName === undefined ? 'fleet-agent' : opts.serviceName;
  const checker = new HttpCheck({ dispatcher });
  const make = async (): Promise<Agent> => {
    const bootId = (await readFile(bootIdPath, 'utf8')).trim();
    const agent = buildAgent({
      config: base, clock, log, supervisor, cloud, tags: tagWriter, bootId, version: '9.9.9', random: () => 0.5, checks: checker,
      ...(serviceName !== null ? { serviceName } : {}),
      ...(opts.journalFile ? { journalFile: opts.journalFile(base.dataDir) } : {}),
      ...(opts.metricsSource ? { metricsSource: opts.metricsSource } : {}),
      ...(opts.logs === true ? { logs: { journal: supervisor, dispatcher, bootTimeMs: () => Date.UTC(2025, 0, 1) } } : {}),
    });
    await agent.start();
    return agent;
  };
  const world: World = {
    clock, sup, cloudSim, dir, bootIdPath, log, logged,
    agent: await make(),
    async restart(config, restartOpts) {
      await world.agent.stop();
      if (restartOpts?.downMs !== undefined) await clock.advance(restartOpts.downMs);
      if (config) base = { ...base, ...config };
      world.agent = await make();
      await world.agent.idle();
      return world.agent;
    },
    async step(ms) {
      // Deadline by deadline, idle in between: woken work (real HTTP on loopback) finishes before
      // time moves on, so chained sleeps start from the right moment.
      const target = clock.now() + ms;
      for (let i = 0; i < 100_000; i++) {
        const next = clock.nextAt();
        if (next === undefined || next > target) break;
        await clock.advance(next - clock.now());
        await world.agent.idle();
      }
      await clock.advance(target - clock.now());
      await world.agent.idle();
    },
    async tag(key, value) {
      cloudSim.setDeviceTag(W.uuid, key, value);
      world.agent.pollNow();
      await world.agent.idle();
    },
    calls: (path) => sup.requests.filter((r) => r.path === path && r.method !== 'GET').length,
    tags: () => cloudSim.deviceTags(W.uuid),
    ack(command) {
      const value = cloudSim.deviceTags(W.uuid)[`agent.${command}.ack`];
      return value === undefined ? undefined : parseAck(value);
    },
    last: (behaviour) => cloudSim.deviceTags(W.uuid)[`agent.${behaviour}.last`],
    async close() {
      await world.agent.stop();
      await sup.stop();
      await cloudSim.stop();
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await world.agent.idle();
  return world;
}
