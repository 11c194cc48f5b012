import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CloudSimulator, demoSeed } from '../../src/sim/cloud/simulator.js';
import { W } from '../helpers/agent-harness.js';
import { startLogsWorld, type LogsWorld } from '../helpers/logs-world.js';

let world: LogsWorld | undefined;
let cloud: CloudSimulator | undefined;
afterEach(async () => {
  await world?.close();
  await cloud?.stop();
  world = undefined;
});

async function start(apiKey: string): Promise<LogsWorld> {
  cloud = new CloudSimulator({ seed: demoSeed({ deviceUuid: W.uuid, deviceKey: W.deviceKey, operatorKey: W.operatorKey }) });
  await cloud.start();
  const w = await startLogsWorld({ logsForward: ['cloud'] }, { cloudApi: { baseUrl: cloud.url, apiKey }, device: () => ({ uuid: W.uuid, fleet: 'f' }) });
  await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
  return w;
}

const requests = (c: CloudSimulator) => c.requests.filter((r) => r.path.endsWith('/log-stream'));

describe('the cloud sink against the cloud simulator\'s log stream', () => {
  it('sends every line, in small requests the server never suppresses, as system lines with the unit in front', async () => {
    const w = (world = await start(W.deviceKey));
    const c = cloud!;
    const sent = w.push(130, 'cloud');
    await w.until(() => c.logLines(W.uuid).length >= 130, 'the lines in the cloud');
    await w.clock.advance(5_000, 20);
    const got = c.logLines(W.uuid);
    assert.deepEqual(got.map((l) => l.message), sent.map((m, i) => `u${(i + 1) % 3}.service: ${m}`));
    assert.ok(got.every((l) => l.isSystem === true && l.isStdErr === false && typeof l.timestamp === 'number'));
    assert.ok(!got.some((l) => l.message.includes('Suppressed')));
    assert.ok(requests(c).every((r) => r.status === 201 && Array.isArray(r.body) && r.body.length <= 40));
  });

  it('429 with Retry-After holds the sink for that long; a rejected key is a health reason and drops nothing', async () => {
    const w = (world = await start(W.deviceKey));
    const c = cloud!;
    c.rateLimit({ count: 1, retryAfterSeconds: 90 });
    const at = w.clock.now();
    w.push(5, 'limited');
    await w.until(() => c.logLines(W.uuid).length === 5, 'after the Retry-After');
    assert.ok(w.clock.now() - at >= 89_000, `delivered after ${w.clock.now() - at} ms`);
    await world.close();
    await cloud!.stop();
    const v = (world = await start('not-the-device-key'));
    v.push(3, 'refused');
    await v.until(() => v.fwd.problems().includes('logs: cloud refuses the credentials'), 'the health reason');
    assert.equal(v.fwd.stats().sinks[0]!.dropped, 0);
    assert.ok(v.fwd.status().sinks[0]!.pending === 3);
    assert.ok(!JSON.stringify(v.fwd.status()).includes('not-the-device-key'));
  });

  it('without the cloud\'s address or the device key, `cloud` is not used and health says why', async () => {
    const w = (world = await startLogsWorld({ logsForward: ['cloud'] }));
    await w.until(() => w.fwd.problems().length > 0, 'a health reason');
    assert.deepEqual(w.fwd.problems(), ['logs: sink cloud not used: the cloud\'s address or the device key is not known (BALENA_API_URL, BALENA_API_KEY)']);
    assert.deepEqual(w.fwd.stats().sinks, []);
  });
});
