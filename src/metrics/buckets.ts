/**
 * The compact tag values of `agent.metrics` and `agent.power` (PRODUCT §3), bucketed so that a
 * steady device produces the same text sample after sample and the reporter writes nothing.
 */
import type { PowerCondition } from './power.js';
import type { MetricsSample } from './sample.js';

/** A ratio 0–1 as a percentage floored to a 10 % step (`0.47` → `40%`). */
export function percentBucket(ratio: number): string {
  const clamped = Math.min(1, Math.max(0, ratio));
  return `${Math.floor((clamped * 100) / 10 + 1e-9) * 10}%`;
}

/** A temperature floored to a 5 °C step (`57.9` → `55C`). */
export function temperatureBucket(celsius: number): string {
  return `${Math.floor(celsius / 5) * 5}C`;
}

/** `cpu=20% mem=40% disk=60% temp=55C`: what the board gives, in that order; empty when nothing. */
export function metricsTag(sample: MetricsSample, dataMount: string | undefined): string {
  const parts: string[] = [];
  if (sample.cpu.usageRatio !== undefined) parts.push(`cpu=${percentBucket(sample.cpu.usageRatio)}`);
  const { totalBytes, availableBytes } = sample.memory;
  if (totalBytes !== undefined && availableBytes !== undefined && totalBytes > 0) parts.push(`mem=${percentBucket(1 - availableBytes / totalBytes)}`);
  const fs = sample.filesystems.find((f) => f.mountpoint === dataMount) ?? sample.filesystems[0];
  if (fs && fs.sizeBytes > 0) parts.push(`disk=${percentBucket(1 - fs.freeBytes / fs.sizeBytes)}`);
  if (sample.cpu.temperatureCelsius !== undefined) parts.push(`temp=${temperatureBucket(sample.cpu.temperatureCelsius)}`);
  return parts.join(' ');
}

/** An episode of one power condition: what it is and since when (epoch ms). */
export interface PowerEdge {
  condition: PowerCondition;
  sinceWall: number;
}

/** The episode after a sample: a new one starts only when the condition changes (edge-triggered). */
export function nextPowerEdge(previous: PowerEdge | undefined, condition: PowerCondition, wall: number): PowerEdge {
  return previous?.condition === condition ? previous : { condition, sinceWall: wall };
}

/** `ok`, `undervoltage <since>` or `throttled <since>`, then `events=<n>` (kernel under-voltage lines since boot) when known. */
export function powerTag(edge: PowerEdge, events: number | undefined): string {
  const since = new Date(edge.sinceWall).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const head = edge.condition === 'ok' ? 'ok' : `${edge.condition} ${since}`;
  return events === undefined ? head : `${head} events=${events}`;
}
