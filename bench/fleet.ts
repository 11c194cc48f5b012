/**
 * A fleet in one process: N real agents (Agent, CloudClient, transport, one shared HTTP
 * dispatcher) on one simulated clock against the cloud simulator seeded with N devices, over real
 * HTTP on loopback; supervisor calls go to an in-process fake. Prints the boot storm, the request
 * rate after a cloud outage and after a burst of 429s, cloud requests per device-hour, wall time
 * and peak RSS; exits 1 when a goal is missed.
 *
 *   node dist/bench/fleet.js [--devices N] [--tags-to-cloud]
 */
import { loadConfig } from '../src/config/load.js';
import { startFleet, TICK_MS } from '../test/helpers/fleet-world.js';
import { mulberry32 } from '../test/helpers/random.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

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
  const fleet = await startFleet({ devices: n, config, tagsToCloud });
  const { clock, sim } = fleet;
  const wall0 = clock.wall();
  const tally = new Tally(wall0);
  sim.onRequest((r) => tally.add(r.at, r.status, r.actor));
  const setupMs = performance.now() - wallStarted;

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
    await fleet.runUntil(untilMs);
    phaseWall[name] = performance.now() - t;
  };
  await fleet.start();
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
  await fleet.close();
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
    ['tag writes through the supervisor', String(fleet.supervisors.reduce((total, s) => total + s.tagWrites, 0))],
    ['peak RSS of the process', `${fmt(peakRssMiB, 0)} MiB`],
  ]));
  console.log(`\n${ok ? 'all goals met' : 'GOAL MISSED'}`);
  process.exitCode = ok ? 0 : 1;
}

await main();
