import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAgent } from '../../src/agent/build.js';
import type { Agent } from '../../src/agent/agent.js';
import { AGENT_CLOUD_MANNERS, type SupervisorPort } from '../../src/agent/ports.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DEVICE_ROW, mockClient, mockCloud } from '../helpers/cloud-mock.js';
import { silentLog, testConfig } from '../helpers/agent-fixtures.js';
import { mulberry32 } from '../helpers/random.js';

const INTERVAL = 300_000;
const DEVICES = 20;

const supervisor = {
  applicationsState: () => Promise.resolve({ app: { appId: 1, services: { main: { status: 'Running' } } } }),
} as unknown as SupervisorPort;

/**
 * DEVICES agents with the agent's cloud manners poll at t=0 a cloud that answers every request
 * until `limitedUntil` with 429 and a Retry-After pointing at that instant (as a window-based
 * limit does); returns when each device's requests reached the cloud.
 */
async function fleetAgainstLimit(limitedUntil: number, runMs: number): Promise<Map<string, number[]>> {
  const clock = new ManualClock();
  const { agent: cloudMock, seen } = mockCloud(clock, (req) => {
    const left = limitedUntil - clock.now();
    if (left > 0) return { status: 429, body: 'Too Many Requests', headers: { 'retry-after': String(Math.round(left / 1000)) } };
    return { status: 200, body: req.path.startsWith('/v7/device(') ? { d: [DEVICE_ROW] } : {} };
  });
  const agents: Agent[] = [];
  for (let i = 1; i <= DEVICES; i++) {
    const random = mulberry32(i);
    const cloud = mockClient(clock, cloudMock, { apiKey: `device-key-${i}`, random, ...AGENT_CLOUD_MANNERS });
    const tags = { set: () => Promise.resolve('supervisor' as const), setInCloud: () => Promise.resolve() };
    agents.push(buildAgent({
      config: testConfig({ pollIntervalMs: INTERVAL, dataDir: '/nonexistent' }), clock, log: silentLog(), supervisor, cloud, tags,
      bootId: 'b', version: '0', random,
      journalFile: { path: 'memory', read: () => Promise.resolve({ status: 'missing' }), write: () => Promise.resolve(), quarantine: () => Promise.resolve(undefined) },
    }));
  }
  try {
    for (const a of agents) await a.start();
    for (let t = 0; t < runMs; t += 1_000) await clock.advance(1_000);
  } finally {
    for (const a of agents) await a.stop();
    await cloudMock.close();
  }
  const byDevice = new Map<string, number[]>();
  for (const r of seen) byDevice.set(r.auth, [...(byDevice.get(r.auth) ?? []), r.at]);
  return byDevice;
}

/** The most requests in any 10 s window. */
function peak10s(times: readonly number[]): number {
  return Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 10_000).length));
}

describe('a fleet told one Retry-After does not come back in step', () => {
  it('a short Retry-After (inside a call\'s wait) is not waited out in the call: the polls after it spread over an interval', async () => {
    const byDevice = await fleetAgainstLimit(30_000, 700_000);
    assert.equal(byDevice.size, DEVICES);
    const second = [...byDevice.values()].map((times) => times[1] ?? Number.NaN);
    assert.ok(second.every((t) => t >= 30_000), 'nothing before the Retry-After');
    assert.ok(peak10s(second) <= DEVICES / 4, `second polls: ${second.map((t) => t / 1000).sort((a, b) => a - b).join(' ')} s`);
    const third = [...byDevice.values()].map((times) => times[2] ?? Number.NaN);
    assert.ok(peak10s(third) <= DEVICES / 4, 'still spread one interval later');
  });

  it('a long Retry-After: the polls after it spread over an interval, none before it', async () => {
    const byDevice = await fleetAgainstLimit(600_000, 1_000_000);
    const second = [...byDevice.values()].map((times) => times[1] ?? Number.NaN);
    assert.ok(second.every((t) => t >= 600_000 && t <= 600_000 + INTERVAL), `second polls: ${second.map((t) => t / 1000).join(' ')} s`);
    assert.ok(peak10s(second) <= DEVICES / 4, `second polls: ${second.map((t) => t / 1000).sort((a, b) => a - b).join(' ')} s`);
  });
});
