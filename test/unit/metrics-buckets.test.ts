import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsTag, nextPowerEdge, percentBucket, powerTag, temperatureBucket } from '../../src/metrics/buckets.js';
import type { MetricsSample } from '../../src/metrics/sample.js';

const sample = (over: Partial<MetricsSample> = {}): MetricsSample => ({
  time: '2026-01-01T00:00:00.000Z',
  cpu: { usageRatio: 0.27, load1: 0.5, temperatureCelsius: 57.9 },
  memory: { totalBytes: 1000, availableBytes: 580 },
  filesystems: [{ mountpoint: '/data', sizeBytes: 100, freeBytes: 35 }],
  power: {},
  ...over,
});

describe('buckets: the agent.metrics tag', () => {
  it('floors ratios to 10 % steps and temperatures to 5 °C steps', () => {
    const table: [number, string][] = [[0, '0%'], [0.099, '0%'], [0.1, '10%'], [0.47, '40%'], [0.999, '90%'], [1, '100%'], [1.3, '100%'], [-0.1, '0%'], [0.3, '30%'], [0.7, '70%']];
    for (const [ratio, text] of table) assert.equal(percentBucket(ratio), text, String(ratio));
    assert.equal(temperatureBucket(57.9), '55C');
    assert.equal(temperatureBucket(60), '60C');
    assert.equal(temperatureBucket(-3), '-5C');
  });

  it('summarises a sample as PRODUCT §3 shows it, leaving out what the board does not give', () => {
    assert.equal(metricsTag(sample(), '/data'), 'cpu=20% mem=40% disk=60% temp=55C');
    assert.equal(metricsTag(sample({ cpu: { usageRatio: 0.27 } }), '/data'), 'cpu=20% mem=40% disk=60%');
    assert.equal(metricsTag(sample({ cpu: {}, memory: {}, filesystems: [] }), '/data'), '');
  });

  it('gives the same text for values that move inside their buckets', () => {
    const a = metricsTag(sample({ cpu: { usageRatio: 0.21, temperatureCelsius: 50.1 } }), '/data');
    const b = metricsTag(sample({ cpu: { usageRatio: 0.29, temperatureCelsius: 54.9 } }), '/data');
    assert.equal(a, b);
  });
});

describe('buckets: the agent.power tag', () => {
  it('starts an episode only when the condition changes', () => {
    const first = nextPowerEdge(undefined, 'ok', 1_000);
    assert.equal(nextPowerEdge(first, 'ok', 9_000), first);
    const under = nextPowerEdge(first, 'undervoltage', Date.parse('2026-03-01T10:00:00.250Z'));
    assert.equal(nextPowerEdge(under, 'undervoltage', Date.parse('2026-03-01T11:00:00Z')), under);
    assert.equal(powerTag(under, 3), 'undervoltage 2026-03-01T10:00:00Z events=3');
    assert.equal(powerTag(nextPowerEdge(under, 'throttled', Date.parse('2026-03-01T12:00:00Z')), undefined), 'throttled 2026-03-01T12:00:00Z');
    assert.equal(powerTag(first, 0), 'ok events=0');
    assert.equal(powerTag(first, undefined), 'ok');
  });
});
