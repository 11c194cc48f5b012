import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { buildAgent } from '../../src/agent/build.js';
import type { Agent } from '../../src/agent/agent.js';
import type { CloudPort, PollResult, SupervisorPort, TagsPort } from '../../src/agent/ports.js';
import { HttpError } from '../../src/lib/errors.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLog, testConfig } from '../helpers/agent-fixtures.js';

const idle: SupervisorPort = {
  ping: () => Promise.resolve(),
  version: () => Promise.resolve('19.0.5'),
  blink: () => Promise.resolve(),
  reboot: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  update: () => Promise.resolve('triggered'),
  restartApp: () => Promise.resolve(),
  purge: () => Promise.resolve(),
  serviceAction: () => Promise.resolve(),
  applicationsState: () => Promise.resolve({}),
  stateStatus: () => Promise.resolve({ images: [], containers: [] }),
  containerIds: () => Promise.resolve({}),
};
const tags: TagsPort = { set: () => Promise.resolve(), setInCloud: () => Promise.resolve() };

describe('healthz: fails only when a restart would help', () => {
  let agent: Agent | undefined;
  let dir = '';
  afterEach(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(cloud: CloudPort): Promise<{ agent: Agent; clock: ManualClock }> {
    dir = await mkdtemp(join(tmpdir(), 'agent-healthz-'));
    await writeFile(join(dir, 'boot_id'), 'boot-1\n');
    const clock = new ManualClock();
    const config = testConfig({ dataDir: dir, bootIdPath: join(dir, 'boot_id') });
    agent = buildAgent({ config, clock, log: silentLog(), supervisor: idle, cloud, tags, bootId: 'boot-1', version: '0.0.0', random: () => 0.5 });
    await agent.start();
    return { agent, clock };
  }

  it('a poll loop that never comes back → 503 "agent stuck" after the grace', async () => {
    // Never answers (until the agent stops and aborts it).
    const hang = ({ signal }: { signal?: AbortSignal }) =>
      new Promise<PollResult>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const { agent: a, clock } = await start({ poll: hang });
    await clock.advance(9 * 60_000);
    assert.equal(a.healthz().ok, true, 'a slow poll is not yet stuck');
    await clock.advance(2 * 60_000);
    const h = a.healthz();
    assert.equal(h.ok, false);
    assert.equal(h.state, 'failing');
    assert.match(h.reasons[0] ?? '', /^agent stuck: the poll is \d+ s overdue$/);
  });

  it('a rejected device key is failing in the tags but not a reason to restart the container', async () => {
    const rejected = new HttpError({ peer: 'cloud', status: 401, method: 'GET', path: '/v7/device', body: 'Unauthorized' });
    const { agent: a, clock } = await start({ poll: () => Promise.reject(rejected) });
    for (let i = 0; i < 12; i++) await clock.advance(30 * 60_000);
    assert.equal(a.health().state, 'failing');
    assert.deepEqual(a.health().reasons.slice(0, 1), ['device key rejected']);
    const h = a.healthz();
    assert.equal(h.ok, true);
    assert.equal(h.state, 'failing');
  });
});
