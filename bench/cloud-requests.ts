/**
 * Cloud requests per device-hour over a simulated day at default settings, and requests sent
 * inside a Retry-After window during 429 storms. Simulated time (ManualClock) against the real
 * cloud simulator over loopback HTTP. Prints figures; exits 1 when a goal is missed.
 */
import { Agent } from 'undici';
import { CloudClient } from '../src/cloud/client.js';
import { CloudSimulator, DEMO, demoSeed, type CloudRequest } from '../src/sim/cloud/simulator.js';
import { TagWriter } from '../src/cloud/tags.js';
import { loadConfig } from '../src/config/load.js';
import { ManualClock } from '../src/lib/clock.js';
import { MetricsReport } from '../src/agent/metrics-report.js';
import { Sampler } from '../src/metrics/sampler.js';
import { drive } from '../test/helpers/cloud-mock.js';
import { jitter, scriptedSource, steadyValues } from '../test/helpers/metrics-source.js';
import { mulberry32 } from '../test/helpers/random.js';

const KEY = 'bench-device-key-7e6d5c4b3a291807';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Setup {
  clock: ManualClock;
  sim: CloudSimulator;
  client: CloudClient;
  writer: TagWriter;
  close: () => Promise<void>;
}

async function setup(seed: number): Promise<Setup> {
  const config = loadConfig({});
  const clock = new ManualClock();
  const sim = new CloudSimulator({ seed: demoSeed({ deviceKey: KEY }), clock });
  const url = await sim.start();
  const dispatcher = new Agent();
  const client = new CloudClient({
    baseUrl: url,
    apiKey: KEY,
    deviceUuid: DEMO.deviceUuid,
    dispatcher,
    clock,
    requestLimit: { count: config.requestLimit, intervalMs: config.requestLimitIntervalMs },
    random: mulberry32(seed),
  });
  // No supervisor: the worst case, every tag write goes to the cloud directly.
  const writer = new TagWriter({ cloud: client, clock });
  return { clock, sim, client, writer, close: async () => (await sim.stop(), await dispatcher.close()) };
}

/**
 * One simulated day: a poll every interval, a metrics sample every metrics interval (the agent's
 * own sampler and tags on a scripted source: values that move inside their buckets; with `drift`
 * the temperature also crosses a 5 °C step every 2 h), report tags written only when they
 * change, one operator command acked.
 */
async function day(drift: boolean): Promise<{ requests: number; polls: number; writes: number }> {
  const config = loadConfig({});
  const s = await setup(1);
  const prefix = config.tagPrefix;
  const values = steadyValues();
  const metrics = new MetricsReport({ clock: s.clock, sampler: new Sampler({ source: scriptedSource(values), clock: s.clock, log: { warn: () => undefined }, dataDir: '/data' }) });
  let polls = 0;
  let writes = 0;
  let samples = 0;
  let last: Record<string, string> = {};
  try {
    await s.clock.advance(Math.floor(mulberry32(7)() * config.startSpreadMs));
    const end = s.clock.now() + DAY;
    for (let t = s.clock.now(); t < end; t += config.pollIntervalMs) {
      if (t >= 10.5 * HOUR && t < 10.5 * HOUR + config.pollIntervalMs) s.sim.setDeviceTag(DEMO.deviceUuid, `${prefix}reboot`, 'cmd-1');
      for (let m = 0; m < config.pollIntervalMs / (config.metricsIntervalMs ?? config.pollIntervalMs); m++) {
        jitter(values, samples++);
        if (drift) values.temperature = (values.temperature ?? 50) + (Math.floor(t / (2 * HOUR)) % 3) * 5;
        await metrics.sample();
      }
      await s.clock.advance(t - s.clock.now());
      const snap = await drive(s.clock, s.client.poll({ tagPrefix: prefix }));
      polls += 1;
      const report = {
        [`${prefix}health`]: 'ok', ...metrics.tags(prefix),
        ...(snap.deviceTags[`${prefix}reboot`] ? { [`${prefix}ack`]: 'cmd-1:done' } : {}),
      };
      const changed = Object.fromEntries(Object.entries(report).filter(([k, v]) => last[k] !== v));
      if (Object.keys(changed).length > 0) {
        await drive(s.clock, s.writer.set(changed));
        writes += 1;
        last = report;
      }
    }
    return { requests: s.sim.requests.length, polls, writes };
  } finally {
    await s.close();
  }
}

/** Counts requests the simulator received inside a hold that a 429 started. */
function insideWindows(requests: readonly CloudRequest[], windowMs: number): { limited: number; inside: number } {
  let inside = 0;
  const limited = requests.filter((r) => r.status === 429);
  for (const r of limited) {
    inside += requests.filter((o) => o.at > r.at && o.at < r.at + windowMs).length;
  }
  return { limited: limited.length, inside };
}

/** Polls (plus a concurrent tag write each poll) through a storm of 429s. */
async function storm(retryAfterSeconds: number | undefined): Promise<{ sent: number; limited: number; inside: number }> {
  const config = loadConfig({});
  const s = await setup(2);
  try {
    s.sim.rateLimit({ count: 25, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
    for (let i = 0; i < 24; i++) {
      await drive(
        s.clock,
        Promise.allSettled([s.client.poll({ tagPrefix: config.tagPrefix }), s.writer.set({ [`${config.tagPrefix}seq`]: String(i) })]),
      );
      await s.clock.advance(config.pollIntervalMs);
    }
    // Without Retry-After the client promises a hold of at least 60 s: that is the window checked.
    const windowMs = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : 60_000;
    return { sent: s.sim.requests.length, ...insideWindows(s.sim.requests, windowMs) };
  } finally {
    await s.close();
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const d = await day(false);
const perHour = d.requests / 24;
const drifting = await day(true);
const withAfter = await storm(120);
const without = await storm(undefined);
const ok = perHour <= 13 && withAfter.inside === 0 && without.inside === 0;

console.log('cloud requests over a simulated day (defaults: 5 min poll, 60 s metrics samples, 60 req/min ceiling; tags written to the cloud directly; agent.metrics from a steady device)');
console.log(
  table([
    ['measure', 'value', 'goal'],
    ['polls', String(d.polls), '288'],
    ['tag writes (on change only)', String(d.writes), '-'],
    ['cloud requests', String(d.requests), '-'],
    ['requests per device-hour', perHour.toFixed(2), '<= 13'],
    ['with the temperature crossing a 5 °C step every 2 h: tag writes', String(drifting.writes), '-'],
    ['with the temperature crossing a 5 °C step every 2 h: requests per device-hour', (drifting.requests / 24).toFixed(2), '-'],
  ]),
);
console.log('\n429 storms (25 consecutive 429s; a poll and a tag write every 5 min; each 429 starts a hold)');
console.log(
  table([
    ['storm', 'requests', '429s', 'sent inside a hold', 'goal'],
    ['Retry-After: 120 s', String(withAfter.sent), String(withAfter.limited), String(withAfter.inside), '0'],
    ['no Retry-After (hold >= 60 s)', String(without.sent), String(without.limited), String(without.inside), '0'],
  ]),
);
console.log(`\n${ok ? 'all goals met' : 'GOAL MISSED'}`);
process.exitCode = ok ? 0 : 1;
