/** A metrics source with scripted values, for tests and benches (the device's source is systemSource()). */
import type { FilesystemSample, MetricsSource } from '../../src/metrics/sample.js';

/** The values the source gives; change them between samples. Undefined: the board cannot give it. */
export interface ScriptedValues {
  cpu?: number;
  load1?: number;
  memory?: { totalBytes: number; availableBytes: number };
  filesystem?: FilesystemSample;
  temperature?: number;
  /** The firmware's throttled word as the sysfs file shows it (e.g. `50005`). */
  throttled?: string;
  /** Probes that throw instead of answering. */
  failing?: readonly (keyof MetricsSource)[];
}

/** A source that answers from `values` (read at every call). */
export function scriptedSource(values: ScriptedValues): MetricsSource {
  const answer = <T>(name: keyof MetricsSource, value: T): Promise<T> =>
    values.failing?.includes(name) ? Promise.reject(new Error(`${name} probe failed`)) : Promise.resolve(value);
  return {
    cpuUsage: () => answer('cpuUsage', values.cpu),
    load1: () => answer('load1', values.load1),
    memory: () => answer('memory', values.memory),
    filesystem: () => answer('filesystem', values.filesystem),
    temperature: () => answer('temperature', values.temperature),
    throttled: () => answer('throttled', values.throttled),
  };
}

/** A steady device: values that move inside their buckets (cpu 20 %, mem 40 %, disk 60 %, 50 °C). */
export function steadyValues(): ScriptedValues {
  return {
    cpu: 0.23, load1: 0.4,
    memory: { totalBytes: 1_000_000_000, availableBytes: 550_000_000 },
    filesystem: { mountpoint: '/data', sizeBytes: 10_000_000_000, freeBytes: 3_500_000_000 },
    temperature: 52.5,
  };
}

/** Moves a steady device's values a little, never across a bucket boundary (`i`: the sample's number). */
export function jitter(values: ScriptedValues, i: number): void {
  const wobble = ((i * 7919) % 100) / 100;
  values.cpu = 0.21 + wobble * 0.08;
  values.temperature = 50.5 + wobble * 4;
  values.load1 = 0.2 + wobble;
}
