/**
 * A fleet in one process: N real agents (Agent, CloudClient, transport, one shared HTTP
 * dispatcher) on one simulated clock against the cloud simulator seeded with N devices, over real
 * HTTP on loopback; supervisor calls go to an in-process fake. Prints the boot storm, the request
 * rate after a cloud outage and after a burst of 429s, cloud requests per device-hour, wall time
 * and peak RSS; exits 1 when a goal is missed.
 *
 *   node dist/bench/fleet.js [--devices N] [--tags-to-cloud]
 */
import type { Dispatcher } from 'undici';
import { buildAgent } from '../src/agent/build.js';
import type { Agent } from '../src/agent/agent.js';
import type { JournalFile } from '../src/agent/journal.js';
import { AGENT_CLOUD_MANNERS, type SupervisorPort } from '../src/agent/ports.js';
import { CloudClient } from '../src/cloud/client.js';
import { TagWriter, type SupervisorTagPort } from '../src/cloud/tags.js';
import { loadConfig } from '../src/config/load.js';
import { ManualClock } from '../src/lib/clock.js';
import { createDispatcher } from '../src/lib/http.js';
import { CloudSimulator, type CloudSeed } from '../src/sim/cloud/simulator.js';
import { silentLog } from '../test/helpers/agent-fixtures.js';
import { mulberry32 } from '../test/helpers/random.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Simulated time moves in steps of this much; what a step wakes finishes (HTTP included) before the next. */
const TICK_MS = 100;
const FLEET_ID = 1;

function args(argv: readonly string[]): { devices: number; tagsToCloud: boolean } {
  let devices = 10_000;
  let tagsToCloud = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tags-to-cloud') tagsToCloud = true;
    else if (a === '--devices' || a?.startsWith('--devices=')) {
      const raw = a === '--devices' ? argv[++i] : a.slice('--devices='.length);
      devices = Number(raw);
      if (!/^\d+$/.test(raw ?? '') || devices < 1) throw new Error(`--devices takes a positive whole number, got ${JSON.stringify(raw)}`);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}; usage: fleet.js [--devices N] [--tags-to-cloud]`);
  }
  return { devices, tagsToCloud };
}

const uuidOf = (i: number): string => `${i.toString(16).padStart(8, '0')}f1ee7a9e47b04c2d8a6f3b0e`;
const keyOf = (i: number): string => `fleet-bench-device-key-${i.toString(16).padStart(8, '0')}`;

function fleetSeed(n: number): CloudSeed {
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

/** The supervisor as the agent sees it when all is well: one app, one running service, tag writes accepted. */
class FakeSupervisor implements SupervisorPort, SupervisorTagPort {
  tagWrites = 0;
  ping = (): Promise<unknown> => Promise.resolve('OK');
  version = (): Promise<string> => Promise.resolve('17.8.0');
  blink = (): Promise<unknown> => Promise.resolve();
  reboot = (): Promise<unknown> => Promise.resolve();
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
function memoryJournal(): JournalFile {
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
interface InFlight {
  started: number;
  open: number;
}

const ENDS = new Set<PropertyKey>(['onComplete', 'onError', 'onResponseEnd', 'onResponseError']);

function counted(dispatcher: Dispatcher, flight: InFlight): Dispatcher {
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

/** Cloud requests per simulated second, by status (0 = connection reset), and per device. */
class Tally {
  readonly perSecond: number[] = [];
  readonly statuses = new Map<number, number>();
  /** Per device: the simulated time of its latest answered (2xx) request. */
  readonly lastOk = new Map<string, number>();
  constructor(private readonly wall0: number) {}

  add(at: number, status: number, actor: string | undefined): void {
    const s = Math.floor((at - this.wall0) / SECOND);
    this.perSecond[s] = (this.perSecond[s] ?? 0) + 1;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (actor !== undefined && status >= 200 && status < 300) this.lastOk.set(actor, at - this.wall0);
  }

  /** Requests per `windowS`-second window over [fromMs, toMs). */
  windows(fromMs: number, toMs: number, windowS: number): number[] {
    const out: number[] = [];
    for (let s = fromMs / SECOND; s < toMs / SECOND; s += windowS) {
      let n = 0;
      for (let k = s; k < s + windowS; k++) n += this.perSecond[k] ?? 0;
      out.push(n);
    }
    return out;
  }
}

/** Expected peak second when `n` starts fall uniformly at random over `spreadS` seconds (Monte Carlo). */
function randomSpreadPeak(n: number, spreadS: number, runs = 200): number {
  const random = mulberry32(99);
  let sum = 0;
  for (let r = 0; r < runs; r++) {
    const bins = new Array<number>(spreadS).fill(0);
    for (let i = 0; i < n; i++) bins[Math.floor(random() * spreadS)]! += 1;
    sum += Math.max(...bins);
  }
  return sum / runs;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const minutes = (ms: number): string => `${fmt(ms / MINUTE, 1)} min`;

async function main(): Promise<void> {
  const { devices: n, tagsToCloud } = args(process.argv.slice(2));
  const wallStarted = performance.now();
  const config = loadConfig({});
  const spreadMs = config.startSpreadMs;
  const intervalMs = config.pollIntervalMs;
  const clock = new ManualClock();
  const wall0 = clock.wall();
  const sim = new CloudSimulator({ seed: fleetSeed(n), clock });
  const url = await sim.start();
  const tally = new Tally(wall0);
  sim.onRequest((r) => tally.add(r.at, r.status, r.actor));
  const flight: InFlight = { started: 0, open: 0 };
  const base = createDispatcher();
  const dispatcher = counted(base, flight);
  const supervisor = new FakeSupervisor();
  const log = silentLog();
  const agents: Agent[] = [];
  for (let i = 1; i <= n; i++) {
    const random = mulberry32(i);
    const cloud = new CloudClient({
      baseUrl: url, apiKey: keyOf(i), deviceUuid: uuidOf(i), dispatcher, clock, random,
      requestLimit: { count: config.requestLimit, intervalMs: config.requestLimitIntervalMs },
      ...AGENT_CLOUD_MANNERS,
    });
    const tags = tagsToCloud ? new TagWriter({ cloud, clock }) : new TagWriter({ cloud, supervisor, clock });
    agents.push(buildAgent({ config, clock, log, supervisor, cloud, tags, bootId: 'bench-boot', version: '0.0.0-bench', journalFile: memoryJournal(), random }));
  }
  const setupMs = performance.now() - wallStarted;

  /** Waits until no request is in flight and none starts for a few event-loop turns. */
  const quiet = async (): Promise<void> => {
    for (let calm = 0; calm < 3; ) {
      const before = flight.started;
      await new Promise<void>((resolve) => setImmediate(resolve));
      calm = flight.open === 0 && flight.started === before ? calm + 1 : 0;
    }
    sim.requests.length = 0; // tallied already; the fleet would fill memory with them
  };
  const runUntil = async (atMs: number): Promise<void> => {
    while (clock.now() < atMs) {
      await clock.advance(Math.min(TICK_MS, atMs - clock.now()), 0);
      await quiet();
    }
  };

  // The timeline, in simulated time.
  const BOOT_END = 10 * MINUTE;
  const STEADY_END = BOOT_END + HOUR;
  const OUTAGE_END = STEADY_END + 10 * MINUTE;
  const AFTER_OUTAGE_END = OUTAGE_END + 30 * MINUTE;
  const LIMIT_END = AFTER_OUTAGE_END + 10 * MINUTE;
  const AFTER_LIMIT_END = LIMIT_END + 30 * MINUTE;
  const limit = { points: Math.max(1, Math.round(n / 20)), windowMs: MINUTE, shared: true };

  const phaseWall: Record<string, number> = {};
  const phase = async (name: string, untilMs: number): Promise<void> => {
    const t = performance.now();
    await runUntil(untilMs);
    phaseWall[name] = performance.now() - t;
  };
  await Promise.all(agents.map((a) => a.start()));
  await phase('boot', BOOT_END);
  await phase('steady', STEADY_END);
  sim.setDown(true);
  await phase('outage', OUTAGE_END);
  sim.setDown(false);
  await phase('after outage', AFTER_OUTAGE_END);
  const backAfterOutage = [...tally.lastOk.values()].filter((at) => at >= OUTAGE_END).length;
  const lastOkBeforeLimit = new Map(tally.lastOk);
  sim.setRequestLimit(limit);
  await phase('limit', LIMIT_END);
  const limitedStatuses = new Map(tally.statuses);
  sim.setRequestLimit(null);
  await phase('after limit', AFTER_LIMIT_END);
  const stopStarted = performance.now();
  await Promise.all(agents.map((a) => a.stop()));
  await sim.stop();
  await base.close();
  const wallMs = performance.now() - wallStarted;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  // 1. Boot storm.
  const fair = n / (spreadMs / SECOND);
  const bootSeconds = tally.windows(0, BOOT_END, 1);
  const bootTens = tally.windows(0, BOOT_END, 10);
  const peak1 = Math.max(...bootSeconds);
  const peak10 = Math.max(...bootTens) / 10;
  const reference = randomSpreadPeak(n, Math.round(spreadMs / SECOND));
  // 4. Steady hour.
  const steady = sum(tally.windows(BOOT_END, STEADY_END, 1));
  const perDeviceHour = steady / n / ((STEADY_END - BOOT_END) / HOUR);
  const steadyTens = tally.windows(BOOT_END, STEADY_END, 10);
  // 2 and 3. After the outage and after the limit.
  const after = (from: number, to: number): { mean: number; peak: number; ratio: number; total: number } => {
    const w = tally.windows(from, to, 10);
    const mean = sum(w) / w.length;
    const peak = Math.max(...w);
    return { mean, peak, ratio: peak / mean, total: sum(w) };
  };
  const ao = after(OUTAGE_END, AFTER_OUTAGE_END);
  const al = after(LIMIT_END, AFTER_LIMIT_END);
  const outageRequests = sum(tally.windows(STEADY_END, OUTAGE_END, 1));
  const limitRequests = sum(tally.windows(AFTER_OUTAGE_END, LIMIT_END, 1));
  const limited429 = (limitedStatuses.get(429) ?? 0);
  const backAfterLimit = [...tally.lastOk.entries()].filter(([uuid, at]) => at >= LIMIT_END && (lastOkBeforeLimit.get(uuid) ?? 0) < LIMIT_END).length;

  const goals = {
    boot10: peak10 <= 1.2 * fair,
    outage: ao.ratio <= 1.5,
    limit: al.ratio <= 1.5,
    hour: perDeviceHour <= 13,
  };
  const ok = Object.values(goals).every(Boolean);
  const mark = (pass: boolean): string => (pass ? 'met' : 'MISSED');

  console.log(`${n} agents in one process, simulated time (steps of ${TICK_MS} ms) against the cloud simulator over loopback HTTP`);
  console.log(`defaults: AGENT_POLL_INTERVAL ${intervalMs / MINUTE} min, AGENT_START_SPREAD ${spreadMs / MINUTE} min; agent tags written ${tagsToCloud ? 'to the cloud directly' : 'through the supervisor (not cloud requests)'}`);
  console.log('\n1. boot storm (every agent starts at t=0)');
  console.log(table([
    ['measure', 'requests/s', '× N/spread', 'goal'],
    ['N / spread', fmt(fair, 1), '1.00', '-'],
    ['peak second', String(peak1), fmt(peak1 / fair), `<= 1.2 (uniform random starts alone: ${fmt(reference / fair)})`],
    ['peak 10 s window', fmt(peak10, 1), fmt(peak10 / fair), `<= 1.2 ${mark(goals.boot10)}`],
  ]));
  console.log('\n2. after a 10-minute cloud outage (every connection reset), the next 30 minutes in 10 s windows');
  console.log(table([
    ['measure', 'value', 'goal'],
    ['requests during the outage (resets)', String(outageRequests), '-'],
    ['requests in the 30 minutes after', String(ao.total), '-'],
    ['mean per 10 s', fmt(ao.mean, 1), '-'],
    ['peak per 10 s', String(ao.peak), '-'],
    ['peak / mean', fmt(ao.ratio), `<= 1.5 ${mark(goals.outage)}`],
    ['devices with a good poll after it', `${backAfterOutage} of ${n}`, '-'],
  ]));
  console.log(`\n3. after 10 minutes of a shared request limit (${limit.points} per ${limit.windowMs / SECOND} s for the whole fleet, 429 with Retry-After to the window's end), the next 30 minutes`);
  console.log(table([
    ['measure', 'value', 'goal'],
    ['requests during the limit', String(limitRequests), '-'],
    ['429s answered', String(limited429), '-'],
    ['requests in the 30 minutes after', String(al.total), '-'],
    ['mean per 10 s', fmt(al.mean, 1), '-'],
    ['peak per 10 s', String(al.peak), '-'],
    ['peak / mean', fmt(al.ratio), `<= 1.5 ${mark(goals.limit)}`],
    ['devices with a good poll after it', `${backAfterLimit} of ${n}`, '-'],
  ]));
  console.log('\n4. a steady simulated hour (after the boot)');
  console.log(table([
    ['measure', 'value', 'goal'],
    ['cloud requests', String(steady), '-'],
    ['requests per device-hour', fmt(perDeviceHour), `<= 13 ${mark(goals.hour)}`],
    ['peak / mean per 10 s', fmt(Math.max(...steadyTens) / (sum(steadyTens) / steadyTens.length)), '-'],
  ]));
  console.log('\ncost of the run');
  console.log(table([
    ['measure', 'value'],
    ['simulated time', minutes(AFTER_LIMIT_END)],
    ['wall time', `${fmt(wallMs / SECOND, 1)} s`],
    ['  setup (seed, agents)', `${fmt(setupMs / SECOND, 1)} s`],
    ...Object.entries(phaseWall).map(([name, ms]) => [`  ${name}`, `${fmt(ms / SECOND, 1)} s`]),
    ['  stop', `${fmt((performance.now() - stopStarted) / SECOND, 1)} s`],
    ['cloud requests in all', String(sum(tally.perSecond.map((x) => x ?? 0)))],
    ['tag writes through the supervisor', String(supervisor.tagWrites)],
    ['peak RSS of the process', `${fmt(peakRssMiB, 0)} MiB`],
  ]));
  console.log(`\n${ok ? 'all goals met' : 'GOAL MISSED'}`);
  process.exitCode = ok ? 0 : 1;
}

await main();
