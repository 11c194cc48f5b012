import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildAgent } from '../../src/agent/build.js';
import type { CloudPort, SupervisorPort, TagsPort } from '../../src/agent/ports.js';
import { AgentError } from '../../src/lib/errors.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLog, testConfig } from '../helpers/agent-fixtures.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('decider: rounds from every source, one at a time', () => {
  it('the watchdog\'s look and the decider\'s own timer due at the same instant → one offline reboot, not two', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-decider-'));
    dirs.push(dir);
    const clock = new ManualClock();
    let reboots = 0;
    const supervisor: SupervisorPort = {
      ping: () => Promise.resolve(),
      version: () => Promise.resolve('19.0.5'),
      blink: () => Promise.resolve(),
      reboot: () => Promise.resolve(void (reboots += 1)),
      shutdown: () => Promise.resolve(),
      update: () => Promise.resolve('triggered'),
      restartApp: () => Promise.resolve(),
      purge: () => Promise.resolve(),
      serviceAction: () => Promise.resolve(),
      applicationsState: () => Promise.resolve({ app: { appId: 1, services: { main: { status: 'Running' }, 'fleet-agent': { status: 'Running' } } } }),
      stateStatus: () => Promise.resolve({ images: [], containers: [] }),
      containerIds: () => Promise.resolve({ main: 'c1', 'fleet-agent': 'c2' }),
    };
    const offline: CloudPort = { poll: () => Promise.reject(new AgentError('UNREACHABLE', 'cloud down')) };
    const tags: TagsPort = { set: () => Promise.resolve(), setInCloud: () => Promise.resolve() };
    const config = testConfig({ dataDir: dir, offlineRebootMs: 10 * 60_000, watchdog: 'all', watchdogIntervalMs: 10 * 60_000, pollIntervalMs: 60 * 60_000 });
    const agent = buildAgent({ config, clock, log: silentLog(), supervisor, cloud: offline, tags, bootId: 'boot-1', version: '0', serviceName: 'fleet-agent', uuid: 'u1', appId: 1, random: () => 0.5 });
    await agent.start();
    await agent.idle();
    await clock.advance(10 * 60_000);
    await agent.idle();
    await clock.advance(5_000);
    await agent.idle();
    const intents = agent.status().recentActions.filter((a) => a.origin === 'offline-reboot');
    assert.equal(intents.length, 1, JSON.stringify(intents));
    assert.equal(reboots, 1);
    await agent.stop();
  });
});
