import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startWorld, type World } from '../helpers/agent-harness.js';
import { jitter, scriptedSource, steadyValues, type ScriptedValues } from '../helpers/metrics-source.js';

const MINUTE = 60_000;

describe('agent: metrics samples and their tags', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /** PATCHes of the device's tags that carried `key` (through the supervisor). */
  const writesOf = (w: World, key: string): number =>
    w.sup.requests.filter((r) => r.method === 'PATCH' && r.path === '/v2/device/tags' && JSON.stringify(r.body ?? '').includes(key)).length;

  it('writes agent.metrics once on a steady device, and again only when a bucket changes; no agent.power without power info', async () => {
    const values: ScriptedValues = steadyValues();
    world = await startWorld({ metricsSource: scriptedSource(values) });
    await world.step(30_000);
    assert.equal(world.tags()['agent.metrics'], 'cpu=20% mem=40% disk=60% temp=50C');
    for (let i = 0; i < 60; i++) {
      jitter(values, i);
      await world.step(MINUTE);
    }
    assert.equal(writesOf(world, 'agent.metrics'), 1, 'an hour of samples inside their buckets writes nothing more');
    values.temperature = 61;
    await world.step(2 * MINUTE);
    assert.equal(world.tags()['agent.metrics'], 'cpu=20% mem=40% disk=60% temp=60C');
    assert.equal(writesOf(world, 'agent.metrics'), 2);
    assert.equal(world.tags()['agent.power'], undefined);
    const status = world.agent.status();
    assert.equal(status.metrics?.cpu.temperatureCelsius, 61);
    assert.equal(status.config.metricsIntervalMs, MINUTE);
  });

  it('reports agent.power edge-triggered on a board with firmware bits', async () => {
    const values: ScriptedValues = { ...steadyValues(), throttled: '0' };
    world = await startWorld({ metricsSource: scriptedSource(values) });
    await world.step(30_000);
    assert.equal(world.tags()['agent.power'], 'ok');
    values.throttled = '50005';
    await world.step(MINUTE);
    const under = world.tags()['agent.power'] ?? '';
    assert.match(under, /^undervoltage \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (let i = 0; i < 10; i++) await world.step(MINUTE);
    assert.equal(world.tags()['agent.power'], under, 'the same episode keeps its start');
    assert.equal(writesOf(world, 'agent.power'), 2);
    values.throttled = '50000';
    await world.step(MINUTE);
    assert.equal(world.tags()['agent.power'], 'ok');
  });

  it('samples at the live metrics interval, and not at all when it is off', async () => {
    let samples = 0;
    const source = scriptedSource(steadyValues());
    world = await startWorld({ metricsSource: { ...source, load1: () => (samples++, source.load1()) } });
    const before = samples;
    await world.tag('agent.config.metrics-interval', '10s');
    await world.step(MINUTE);
    assert.ok(samples - before >= 6, `${samples - before} samples in a minute at 10 s`);
    await world.tag('agent.config.metrics-interval', 'off');
    await world.step(10_000);
    const off = samples;
    await world.step(10 * MINUTE);
    assert.equal(samples, off, 'no sample while off');
    assert.equal(world.agent.status().metrics, null, 'no stale sample shown');
  });
});
