/**
 * The Prometheus families of `/metrics` (PRODUCT §4), on a private prom-client registry built on
 * the first scrape (prom-client is loaded then, not at start). Every value is read from the
 * agent's providers in `collect()`, so nothing is counted twice and nothing runs between scrapes.
 */
import { createRequire } from 'node:module';
import type { Registry as PromRegistry } from 'prom-client';
import type { LogStats } from '../logs/stats.js';
import type { MetricsSample } from './sample.js';

/** A count of actions that reached a final state, by command, origin and state. */
export interface ActionCount {
  command: string;
  origin: string;
  state: string;
  count: number;
}

/** Cloud requests sent since start, by outcome. */
export interface CloudOutcomes {
  ok: number;
  error: number;
  rate_limited: number;
}

/** What the registry reads at every scrape; each provider is cheap and synchronous. */
export interface RegistrySources {
  version: string;
  health: () => 'ok' | 'degraded' | 'failing';
  actions: () => readonly ActionCount[];
  /** Intents waiting for their start, by command and reason (`wave`, `window`). */
  scheduled: () => readonly { command: string; reason: string; count: number }[];
  cloudRequests: () => CloudOutcomes;
  /** Epoch ms of the last successful cloud request; undefined before one. */
  lastContactWall: () => number | undefined;
  /** The latest metrics sample; undefined before the first. */
  sample: () => MetricsSample | undefined;
  /** The log forwarder's counters; undefined: the log families have no series. */
  logStats: (() => LogStats) | undefined;
}

/** A built registry: the text exposition and its content type. */
export interface MetricsRegistry {
  contentType: string;
  metrics(): Promise<string>;
}

const HEALTH_STATES = ['ok', 'degraded', 'failing'] as const;

/** One series of a family. */
interface Series {
  value: number;
  labels?: Record<string, string>;
}

type Read = (set: (value: number, labels?: Record<string, string>) => void) => void;

/**
 * prom-client's registry, which formats the exposition, loaded alone: the package's index also
 * loads every metric type, the cluster aggregator and the push gateway client (none used here).
 */
function loadRegistry(): typeof PromRegistry {
  return createRequire(import.meta.url)('prom-client/lib/registry.js') as typeof PromRegistry;
}

/**
 * Builds the registry with every family; loads prom-client. Each family is a metric object that
 * the registry formats; its series are read at every scrape, and a value the device cannot give
 * has no series (prom-client's own Gauge would print 0 for an unlabelled family never set).
 */
export function buildRegistry(src: RegistrySources): Promise<MetricsRegistry> {
  const Registry = loadRegistry();
  const registry = new Registry();
  const family = (type: 'gauge' | 'counter') => (name: string, help: string, _labelNames: string[], read: Read): void => {
    const get = (): { name: string; help: string; type: string; aggregator: string; values: Series[] } => {
      const values: Series[] = [];
      read((value, labels) => values.push(labels ? { value, labels } : { value }));
      return { name, help, type, aggregator: 'sum', values };
    };
    registry.registerMetric({ name, help, type, get } as unknown as Parameters<typeof registry.registerMetric>[0]);
  };
  const gauge = family('gauge');
  const counter = family('counter');
  const sample = (): MetricsSample | undefined => src.sample();

  gauge('fleet_agent_build_info', 'The agent\'s version (always 1).', ['version'], (set) => set(1, { version: src.version }));
  gauge('fleet_agent_health', 'The agent\'s health: 1 for the current state, 0 for the others.', ['state'], (set) => {
    const now = src.health();
    for (const state of HEALTH_STATES) set(state === now ? 1 : 0, { state });
  });
  counter('fleet_agent_actions_total', 'Actions (operators\' commands and behaviours\') that reached a final state.', ['command', 'origin', 'state'], (set) => {
    for (const a of src.actions()) set(a.count, { command: a.command, origin: a.origin, state: a.state });
  });
  gauge('fleet_agent_scheduled_actions', 'Actions waiting for their rollout wave or maintenance window.', ['command', 'reason'], (set) => {
    for (const s of src.scheduled()) set(s.count, { command: s.command, reason: s.reason });
  });
  counter('fleet_agent_cloud_requests_total', 'Requests sent to the balena API, by outcome.', ['outcome'], (set) => {
    const o = src.cloudRequests();
    for (const outcome of ['ok', 'error', 'rate_limited'] as const) set(o[outcome], { outcome });
  });
  gauge('fleet_agent_cloud_last_contact_timestamp_seconds', 'Time of the last successful request to the balena API.', [], (set) => {
    const wall = src.lastContactWall();
    if (wall !== undefined) set(wall / 1000);
  });
  counter('fleet_agent_log_lines_total', 'Log lines forwarded, by sink and outcome.', ['sink', 'outcome'], (set) => {
    for (const s of src.logStats?.().sinks ?? []) {
      set(s.sent, { sink: s.sink, outcome: 'sent' });
      set(s.dropped, { sink: s.sink, outcome: 'dropped' });
    }
  });
  gauge('fleet_agent_log_spool_bytes', 'Bytes held by the log spool.', [], (set) => {
    if (src.logStats) set(src.logStats().spoolBytes);
  });
  gauge('device_cpu_usage_ratio', 'CPU busy ratio (0-1) between the last two samples.', [], (set) => setIf(sample()?.cpu.usageRatio, set));
  gauge('device_load1', 'Load average over one minute.', [], (set) => setIf(sample()?.cpu.load1, set));
  gauge('device_memory_total_bytes', 'Memory of the device.', [], (set) => setIf(sample()?.memory.totalBytes, set));
  gauge('device_memory_available_bytes', 'Memory available for new work.', [], (set) => setIf(sample()?.memory.availableBytes, set));
  gauge('device_filesystem_size_bytes', 'Size of a filesystem (at least the one holding the data folder).', ['mountpoint'], (set) => {
    for (const fs of sample()?.filesystems ?? []) set(fs.sizeBytes, { mountpoint: fs.mountpoint });
  });
  gauge('device_filesystem_free_bytes', 'Free bytes of a filesystem for unprivileged users.', ['mountpoint'], (set) => {
    for (const fs of sample()?.filesystems ?? []) set(fs.freeBytes, { mountpoint: fs.mountpoint });
  });
  gauge('device_cpu_temperature_celsius', 'CPU temperature.', [], (set) => setIf(sample()?.cpu.temperatureCelsius, set));
  gauge('device_undervoltage', 'Firmware: under-voltage now (1) or not (0).', [], (set) => setIf(bit(sample()?.power.undervoltage), set));
  gauge('device_throttled', 'Firmware: throttled or frequency capped now (1) or not (0).', [], (set) => setIf(bit(sample()?.power.throttled), set));
  counter('device_undervoltage_events_total', 'Kernel "Under-voltage detected" lines since boot.', [], (set) => setIf(sample()?.power.undervoltageEvents, set));
  // 0 means the kernel's figure could not be read (an emulated /proc gives none): left out, not faked.
  gauge('process_resident_memory_bytes', 'Resident memory of the agent process.', [], (set) => setIf(process.memoryUsage.rss() || undefined, set));
  counter('process_cpu_seconds_total', 'CPU time of the agent process (user and system).', [], (set) => {
    const cpu = process.cpuUsage();
    set((cpu.user + cpu.system) / 1e6);
  });
  return Promise.resolve({ contentType: registry.contentType, metrics: () => registry.metrics() });
}

function setIf(value: number | undefined, set: (value: number) => void): void {
  if (value !== undefined) set(value);
}

function bit(value: boolean | undefined): number | undefined {
  return value === undefined ? undefined : value ? 1 : 0;
}
