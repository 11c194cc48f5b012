import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry, type RegistrySources } from '../../src/metrics/registry.js';
import type { MetricsSample } from '../../src/metrics/sample.js';
import { promtoolCheck, skipWithout } from '../helpers/tools.js';

const FULL: MetricsSample = {
  time: '2026-01-01T00:00:00.000Z',
  cpu: { usageRatio: 0.25, load1: 0.7, temperatureCelsius: 51.5 },
  memory: { totalBytes: 4e9, availableBytes: 3e9 },
  filesystems: [{ mountpoint: '/data', sizeBytes: 1e10, freeBytes: 4e9 }],
  power: { undervoltage: true, throttled: false, undervoltageSinceBoot: true, throttledSinceBoot: false, undervoltageEvents: 3 },
};

function sources(over: Partial<RegistrySources> = {}): RegistrySources {
  return {
    version: '1.2.3', health: () => 'degraded',
    actions: () => [{ command: 'reboot', origin: 'operator', state: 'done', count: 2 }],
    scheduled: () => [{ command: 'reboot', reason: 'wave', count: 1 }, { command: 'restart', reason: 'window', count: 2 }],
    cloudRequests: () => ({ ok: 10, error: 1, rate_limited: 2 }),
    lastContactWall: () => Date.parse('2026-01-01T00:00:00Z'),
    sample: () => FULL,
    logStats: undefined,
    ...over,
  };
}

/** The value of one series, by its exposition line's start (`name{labels}`). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const FAMILIES = [
  'fleet_agent_build_info', 'fleet_agent_health', 'fleet_agent_actions_total', 'fleet_agent_scheduled_actions', 'fleet_agent_cloud_requests_total',
  'fleet_agent_cloud_last_contact_timestamp_seconds', 'fleet_agent_log_lines_total', 'fleet_agent_log_spool_bytes', 'device_cpu_usage_ratio', 'device_load1',
  'device_memory_total_bytes', 'device_memory_available_bytes', 'device_filesystem_size_bytes', 'device_filesystem_free_bytes',
  'device_cpu_temperature_celsius', 'device_undervoltage', 'device_throttled', 'device_undervoltage_events_total',
  'process_resident_memory_bytes', 'process_cpu_seconds_total',
];

describe('the Prometheus registry', () => {
  it('declares every family of PRODUCT §4 with HELP and TYPE, and reads the sources at each scrape', async () => {
    let health: 'ok' | 'degraded' | 'failing' = 'degraded';
    const text = await (await buildRegistry(sources({ health: () => health }))).metrics();
    for (const f of FAMILIES) {
      assert.match(text, new RegExp(`^# HELP ${f} \\S`, 'm'), f);
      assert.match(text, new RegExp(`^# TYPE ${f} (gauge|counter)$`, 'm'), f);
    }
    assert.equal(value(text, 'fleet_agent_build_info{version="1.2.3"}'), 1);
    assert.equal(value(text, 'fleet_agent_health{state="degraded"}'), 1);
    assert.equal(value(text, 'fleet_agent_health{state="ok"}'), 0);
    assert.equal(value(text, 'fleet_agent_health{state="failing"}'), 0);
    assert.equal(value(text, 'fleet_agent_actions_total{command="reboot",origin="operator",state="done"}'), 2);
    assert.equal(value(text, 'fleet_agent_cloud_requests_total{outcome="rate_limited"}'), 2);
    assert.equal(value(text, 'fleet_agent_scheduled_actions{command="reboot",reason="wave"}'), 1);
    assert.equal(value(text, 'fleet_agent_scheduled_actions{command="restart",reason="window"}'), 2);
    assert.equal(value(text, 'fleet_agent_cloud_last_contact_timestamp_seconds'), Date.parse('2026-01-01T00:00:00Z') / 1000);
    assert.equal(value(text, 'device_filesystem_free_bytes{mountpoint="/data"}'), 4e9);
    assert.equal(value(text, 'device_undervoltage'), 1);
    assert.equal(value(text, 'device_throttled'), 0);
    assert.equal(value(text, 'device_undervoltage_events_total'), 3);
    // Where the process' resident size cannot be read (user-mode emulation's /proc), it has no series.
    if (process.memoryUsage.rss() > 0) assert.ok((value(text, 'process_resident_memory_bytes') ?? 0) > 1e6);
    else assert.equal(value(text, 'process_resident_memory_bytes'), undefined);
    health = 'failing';
    const registry = await buildRegistry(sources({ health: () => health }));
    assert.equal(value(await registry.metrics(), 'fleet_agent_health{state="failing"}'), 1);
  });

  it('leaves out what the device cannot give: no series, never a 0', async () => {
    const text = await (await buildRegistry(sources({ sample: () => ({ time: FULL.time, cpu: {}, memory: {}, filesystems: [], power: {} }), lastContactWall: () => undefined, scheduled: () => [] }))).metrics();
    for (const f of ['device_cpu_usage_ratio', 'device_load1', 'device_cpu_temperature_celsius', 'device_undervoltage', 'device_throttled', 'device_undervoltage_events_total', 'fleet_agent_cloud_last_contact_timestamp_seconds', 'fleet_agent_log_spool_bytes', 'fleet_agent_scheduled_actions']) {
      assert.equal(text.split('\n').some((l) => l.startsWith(`${f} `) || l.startsWith(`${f}{`)), false, f);
    }
  });

  it('takes the log families from a LogStats provider when there is one', async () => {
    const text = await (await buildRegistry(sources({ logStats: () => ({ sinks: [{ sink: 'cloud', sent: 40, dropped: 2 }], spoolBytes: 1234 }) }))).metrics();
    assert.equal(value(text, 'fleet_agent_log_lines_total{sink="cloud",outcome="sent"}'), 40);
    assert.equal(value(text, 'fleet_agent_log_lines_total{sink="cloud",outcome="dropped"}'), 2);
    assert.equal(value(text, 'fleet_agent_log_spool_bytes'), 1234);
  });

  it('passes promtool check metrics without a lint message', { skip: skipWithout('promtool') }, async () => {
    for (const src of [sources(), sources({ sample: () => undefined, logStats: () => ({ sinks: [{ sink: 'loki+https://logs.example', sent: 1, dropped: 0 }], spoolBytes: 0 }) })]) {
      const { code, output } = await promtoolCheck(await (await buildRegistry(src)).metrics());
      assert.equal(code, 0, output);
      assert.equal(output.trim(), '', output);
    }
  });
});
