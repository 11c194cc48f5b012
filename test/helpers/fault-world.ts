/**
 * The real agent on a ManualClock behind two fault proxies: cloud simulator ← proxy ← CloudClient,
 * supervisor simulator ← proxy ← SupervisorClient, with the real TagWriter and the real local HTTP
 * server. Everything the agent says (log lines, tag values, /status, the page) is captured so a
 * test can search it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildAgent } from '../../src/agent/build.js';
import { STOP_TIMEOUT_MS, type Agent } from '../../src/agent/agent.js';
import { CloudClient } from '../../src/cloud/client.js';
import { TagWriter } from '../../src/cloud/tags.js';
import type { Config } from '../../src/config/schema.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { ManualClock } from '../../src/lib/clock.js';
import { createDispatcher } from '../../src/lib/http.js';
import { redactor } from '../../src/lib/redact.js';
import { createLogger } from '../../src/lib/logger.js';
import { CloudSimulator, DEMO, demoSeed } from '../../src/sim/cloud/simulator.js';
import { FaultProxy, type FaultPlan } from '../../src/sim/fault-proxy.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { testConfig } from './agent-fixtures.js';

/** The device's credentials: every one of them is a secret the agent must never repeat. */
export const F = {
  uuid: DEMO.deviceUuid,
  appId: DEMO.fleetId,
  deviceKey: 'fuzzdevicekey7f3a9c2e51b8d04e6a',
  operatorKey: 'fuzz-operator-key-000000000000',
  supervisorKey: 'fuzzsupervisorkey4e8b1d6a02c97f',
  httpToken: 'fuzzhttptoken9d2c7a4f1e0b63a8',
} as const;

/** The secrets, by the name of the variable that carries them. */
export const SECRETS: Readonly<Record<string, string>> = {
  BALENA_API_KEY: F.deviceKey,
  BALENA_SUPERVISOR_API_KEY: F.supervisorKey,
  AGENT_HTTP_TOKEN: F.httpToken,
};

/** Per-request timeout of both clients: real time, since the proxies' faults are real. */
export const REQUEST_TIMEOUT_MS = 500;

/** What one step of simulated time cost. */
export interface StepStats {
  /** Clock deadlines woken. */
  wakes: number;
  /** Requests the two proxies received. */
  requests: number;
  /** Log lines written. */
  logLines: number;
}

/** A step could not finish: the agent stayed busy, or its timers kept firing without end. */
export class StepStuck extends Error {}

/** The agent in its hostile world. */
export interface FaultWorld {
  clock: ManualClock;
  cloudSim: CloudSimulator;
  sup: SupervisorSimulator;
  cloudProxy: FaultProxy;
  supProxy: FaultProxy;
  cloud: CloudClient;
  agent: Agent;
  /** Every log line (level debug). */
  logged: string[];
  /** Every tag value the agent wrote, through the supervisor or straight to the cloud. */
  tagValues: string[];
  /**
   * Advances simulated time by `ms`, deadline by deadline; after each, waits (real time, at most
   * `busyMs`) for the agent to be idle. Throws StepStuck after `maxWakes` deadlines or when busy too long.
   */
  step(ms: number, limits: { maxWakes: number; busyMs: number }): Promise<StepStats>;
  /** GET on the local HTTP server with the bearer token. */
  local(path: string): Promise<{ status: number; text: string }>;
  /** Stops the agent; resolves true when it stopped (simulated STOP_TIMEOUT_MS, then `realMs` of real time). */
  stopAgent(realMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Waits up to `ms` of real time for `promise`; true when it settled. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the simulators, the proxies (with their plans), the local server and the agent. */
export async function startFaultWorld(opts: {
  tags: Readonly<Record<string, string>>;
  cloudPlan: FaultPlan;
  supPlan: FaultPlan;
  config?: Partial<Config>;
}): Promise<FaultWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-fault-'));
  const bootIdPath = join(dir, 'boot_id');
  await writeFile(bootIdPath, 'boot-fuzz\n');
  const clock = new ManualClock();
  const tagValues: string[] = [];
  const cloudSim = new CloudSimulator({ seed: demoSeed({ deviceUuid: F.uuid, deviceKey: F.deviceKey, operatorKey: F.operatorKey }) });
  await cloudSim.start();
  for (const [k, v] of Object.entries(opts.tags)) cloudSim.setDeviceTag(F.uuid, k, v);
  cloudSim.onRequest((r) => {
    if (r.method !== 'GET') tagValues.push(...strings(r.body));
  });
  const sup = new SupervisorSimulator({
    apiKey: F.supervisorKey, appId: F.appId, appName: 'demo-fleet', bootIdPath,
    onTagsPatch: (tags) => {
      for (const [k, v] of Object.entries(tags)) {
        tagValues.push(v);
        cloudSim.setDeviceTag(F.uuid, k, v);
      }
    },
  });
  await sup.start();
  const cloudProxy = new FaultProxy({ url: cloudSim.url }, opts.cloudPlan);
  const supProxy = new FaultProxy({ url: sup.url }, opts.supPlan);
  await cloudProxy.start();
  await supProxy.start();
  const dispatcher = createDispatcher({ connectTimeoutMs: 2_000 });
  const supervisor = new SupervisorClient({ baseUrl: supProxy.url, apiKey: F.supervisorKey, appId: F.appId, dispatcher, clock, timeoutMs: REQUEST_TIMEOUT_MS });
  const cloud = new CloudClient({ baseUrl: cloudProxy.url, apiKey: F.deviceKey, deviceUuid: F.uuid, dispatcher, clock, maxRetries: 0, timeoutMs: REQUEST_TIMEOUT_MS, random: () => 0.5 });
  const logged: string[] = [];
  // As `run` builds it: level from the config, every secret scrubbed by value.
  const log = createLogger({
    level: 'debug', secrets: Object.values(SECRETS), wall: () => clock.wall(),
    destination: new Writable({ write: (chunk, _e, done) => (logged.push(String(chunk)), done()) }),
  });
  const redact = redactor(Object.values(SECRETS));
  const tags = new TagWriter({ cloud, supervisor, clock, log, redact });
  const config = testConfig({ dataDir: join(dir, 'data'), bootIdPath, httpToken: F.httpToken, logLevel: 'debug', ...opts.config });
  const agent = buildAgent({ config, clock, log, supervisor, cloud, tags, bootId: 'boot-fuzz', version: '9.9.9', serviceName: 'fleet-agent', random: () => 0.5 });
  let server: HttpServerHandle | undefined = await startHttpServer({
    port: 0, bind: '127.0.0.1', token: F.httpToken, log, redact, healthz: () => agent.healthz(), status: () => agent.status(),
  });
  let agentStopped = false;
  const requests = () => cloudProxy.records.length + supProxy.records.length;
  const idleWithin = async (busyMs: number, what: string): Promise<void> => {
    if (!(await within(agent.idle(), busyMs))) {
      throw new StepStuck(`agent still busy ${busyMs} ms (real time) after ${what}, with a ${REQUEST_TIMEOUT_MS} ms request timeout`);
    }
  };
  const world: FaultWorld = {
    clock, cloudSim, sup, cloudProxy, supProxy, cloud, agent, logged, tagValues,
    async step(ms, limits) {
      const before = { requests: requests(), logLines: logged.length };
      const target = clock.now() + ms;
      let wakes = 0;
      for (;;) {
        const next = clock.nextAt();
        if (next === undefined || next > target) break;
        if (++wakes > limits.maxWakes) {
          throw new StepStuck(`more than ${limits.maxWakes} timer deadlines within ${ms} ms of simulated time (a loop)`);
        }
        await clock.advance(next - clock.now(), 1);
        await idleWithin(limits.busyMs, `simulated time ${clock.now()} ms`);
      }
      await clock.advance(target - clock.now(), 1);
      await idleWithin(limits.busyMs, `simulated time ${clock.now()} ms`);
      return { wakes, requests: requests() - before.requests, logLines: logged.length - before.logLines };
    },
    local(path) {
      const url = new URL(path, server?.url ?? 'http://127.0.0.1:9');
      return new Promise((resolve, reject) => {
        const req = request(url, { headers: { authorization: `Bearer ${F.httpToken}` } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    },
    async stopAgent(realMs) {
      agentStopped = true;
      const stopped = agent.stop();
      // A task that ignores its abort holds stop() until STOP_TIMEOUT_MS of the agent's clock.
      await clock.advance(STOP_TIMEOUT_MS);
      return within(stopped, realMs);
    },
    async close() {
      if (!agentStopped) await world.stopAgent(5_000);
      await server?.close();
      server = undefined;
      await cloudProxy.stop();
      await supProxy.stop();
      await sup.stop();
      await cloudSim.stop();
      await dispatcher.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await agent.start();
    await idleWithin(10_000, 'start');
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

/** Every string inside a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}
