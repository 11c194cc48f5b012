/**
 * A fleet in one process: N real agents (Agent, CloudClient, transport, one shared HTTP
 * dispatcher) on one ManualClock against the cloud simulator seeded with N devices, over real
 * HTTP on loopback; supervisor calls go to an in-process fake per device. Time moves in small
 * steps, and what a step wakes (HTTP included) finishes before the next: no sleeps, no real
 * timers. Used by bench/fleet.ts and the fleet rollout test.
 */
import type { Dispatcher } from 'undici';
import { buildAgent } from '../../src/agent/build.js';
import type { Agent } from '../../src/agent/agent.js';
import type { JournalFile } from '../../src/agent/journal.js';
import { AGENT_CLOUD_MANNERS, type SupervisorPort } from '../../src/agent/ports.js';
import { CloudClient } from '../../src/cloud/client.js';
import { TagWriter, type SupervisorTagPort } from '../../src/cloud/tags.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock, type Clock } from '../../src/lib/clock.js';
import { createDispatcher } from '../../src/lib/http.js';
import { CloudSimulator, type CloudSeed } from '../../src/sim/cloud/simulator.js';
import { silentLog } from './agent-fixtures.js';
import { mulberry32 } from './random.js';

/** The fleet's application id in the simulator. */
export const FLEET_ID = 1;
/** Simulated time moves in steps of this much by default. */
export const TICK_MS = 100;

/** Device `i`'s uuid (1-based, 32 hex digits). */
export const uuidOf = (i: number): string => `${i.toString(16).padStart(8, '0')}f1ee7a9e47b04c2d8a6f3b0e`;
/** Device `i`'s API key in the simulator. */
export const keyOf = (i: number): string => `fleet-bench-device-key-${i.toString(16).padStart(8, '0')}`;

/** The simulator's seed: one fleet of `n` devices with one service. */
export function fleetSeed(n: number): CloudSeed {
  const devices = Array.from({ length: n }, (_, k) => ({
    id: k + 1, uuid: uuidOf(k + 1), device_name: `device-${k + 1}`, application: FLEET_ID, apiKey: keyOf(k + 1),
    supervisor_version: '17.8.0', os_version: 'balenaOS 6.5.0', is_online: true, device_type: 'raspberrypi4-64',
  }));
  return {
    applications: [{ id: FLEET_ID, app_name: 'bench-fleet', slug: 'operator/bench-fleet', device_type: 'raspberrypi4-64' }],
    devices,
    services: [{ id: 1, application: FLEET_ID, service_name: 'main' }],
  };
}

/**
 * The supervisor as the agent sees it when all is well: one app, one running service, tag writes
 * accepted. A reboot is recorded (the wall time of the call) and does nothing: the device keeps
 * its boot id, so the agent's reboot stays running.
 */
export class FakeSupervisor implements SupervisorPort, SupervisorTagPort {
  tagWrites = 0;
  /** Wall times of the reboot calls. */
  readonly reboots: number[] = [];
  constructor(private readonly clock: Clock) {}
  ping = (): Promise<unknown> => Promise.resolve('OK');
  version = (): Promise<string> => Promise.resolve('17.8.0');
  blink = (): Promise<unknown> => Promise.resolve();
  reboot = (): Promise<unknown> => {
    this.reboots.push(this.clock.wall());
    return Promise.resolve();
  };
  shutdown = (): Promise<unknown> => Promise.resolve();
  update = (): Promise<'triggered'> => Promise.resolve('triggered');
  restartApp = (): Promise<unknown> => Promise.resolve();
  purge = (): Promise<unknown> => Promise.resolve();
  serviceAction = (): Promise<unknown> => Promise.resolve();
  applicationsState = (): Promise<Record<string, { appId: number; services: Record<string, { status: string }> }>> =>
    Promise.resolve({ 'bench-fleet': { appId: FLEET_ID, services: { main: { status: 'Running' } } } });
  stateStatus = (): Promise<{ images: []; containers: [] }> => Promise.resolve({ images: [], containers: [] });
  containerIds = (): Promise<Record<string, string>> => Promise.resolve({ main: 'c1' });
  supportsTagPatch = (): Promise<boolean> => Promise.resolve(true);
  patchDeviceTags = (): Promise<void> => {
    this.tagWrites += 1;
    return Promise.resolve();
  };
}

/** A journal kept in memory: the agents' files are not what is measured. */
export function memoryJournal(): JournalFile {
  let text: string | undefined;
  return {
    path: 'memory',
    read: () => Promise.resolve(text === undefined ? { status: 'missing' as const } : { status: 'ok' as const, text }),
    write: (t: string) => {
      text = t;
      return Promise.resolve();
    },
    quarantine: () => Promise.resolve(undefined),
  };
}

/** Requests in flight through a dispatcher, so the driver knows when woken work has finished. */
export interface InFlight {
  started: number;
  open: number;
}

const ENDS = new Set<PropertyKey>(['onComplete', 'onError', 'onResponseEnd', 'onResponseError']);

/** The dispatcher, counting its requests in `flight`. */
export function counted(dispatcher: Dispatcher, flight: InFlight): Dispatcher {
  return dispatcher.compose((dispatch) => (opts, handler) => {
    flight.started += 1;
    flight.open += 1;
    let open = true;
    const wrapped = new Proxy(handler, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (!ENDS.has(prop)) return fn.bind(target);
        return (...a: unknown[]) => {
          try {
            return fn.apply(target, a);
          } finally {
            if (open) {
              open = false;
              flight.open -= 1;
            }
          }
        };
      },
    });
    return dispatch(opts, wrapped);
  });
}

/** What {@link startFleet} needs. */
export interface FleetOptions {
  devices: number;
  config: Config;
  /** Agent tags (acks, reports) written to the cloud directly instead of through the supervisor. */
  tagsToCloud?: boolean;
  /** Keep every request in `sim.requests` (default false: the log is emptied at each step, as a big fleet would fill memory). */
  keepRequests?: boolean;
  /** Step of simulated time (default TICK_MS). */
  tickMs?: number;
}

/** A running fleet: its clock, simulator, agents and their fake supervisors (index i − 1 is device i). */
export interface Fleet {
  clock: ManualClock;
  sim: CloudSimulator;
  agents: Agent[];
  supervisors: FakeSupervisor[];
  /** Starts every agent (the random start spread applies). */
  start(): Promise<void>;
  /** Moves simulated time on to `atMs` (monotonic ms), step by step, each step's work finished. */
  runUntil(atMs: number): Promise<void>;
  /** Stops the agents, the simulator and the dispatcher. */
  close(): Promise<void>;
}

/** Starts the simulator seeded with `devices` devices and builds one agent per device (not started). */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const { devices: n, config } = opts;
  const tickMs = opts.tickMs ?? TICK_MS;
  const clock = new ManualClock();
  const sim = new CloudSimulator({ seed: fleetSeed(n), clock });
  const url = await sim.start();
  const flight: InFlight = { started: 0, open: 0 };
  const base = createDispatcher();
  const dispatcher = counted(base, flight);
  const log = silentLog();
  const agents: Agent[] = [];
  const supervisors: FakeSupervisor[] = [];
  for (let i = 1; i <= n; i++) {
    const random = mulberry32(i);
    const cloud = new CloudClient({
      baseUrl: url, apiKey: keyOf(i), deviceUuid: uuidOf(i), dispatcher, clock, random,
      requestLimit: { count: config.requestLimit, intervalMs: config.requestLimitIntervalMs },
      ...AGENT_CLOUD_MANNERS,
    });
    const supervisor = new FakeSupervisor(clock);
    supervisors.push(supervisor);
    const tags = opts.tagsToCloud === true ? new TagWriter({ cloud, clock }) : new TagWriter({ cloud, supervisor, clock });
    agents.push(buildAgent({ config, clock, log, supervisor, cloud, tags, bootId: 'bench-boot', version: '0.0.0-bench', journalFile: memoryJournal(), random }));
  }

  /** Waits until no request is in flight and none starts for a few event-loop turns. */
  const quiet = async (): Promise<void> => {
    for (let calm = 0; calm < 3; ) {
      const before = flight.started;
      await new Promise<void>((resolve) => setImmediate(resolve));
      calm = flight.open === 0 && flight.started === before ? calm + 1 : 0;
    }
    if (opts.keepRequests !== true) sim.requests.length = 0;
  };
  return {
    clock, sim, agents, supervisors,
    start: async () => {
      await Promise.all(agents.map((a) => a.start()));
    },
    runUntil: async (atMs) => {
      while (clock.now() < atMs) {
        await clock.advance(Math.min(tickMs, atMs - clock.now()), 0);
        await quiet();
      }
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await sim.stop();
      await base.close();
    },
  };
}
