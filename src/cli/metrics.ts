import { loadConfig } from '../config/load.js';
import { Sampler, systemSource } from '../metrics/sampler.js';
import type { MetricsSample } from '../metrics/sample.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import type { Runner, RunnersOf } from './commands.js';
import { EXIT } from './exit.js';

/** How long the one-shot sample measures CPU usage over (a first reading alone would be the average since boot). */
export const CPU_WINDOW_MS = 1_000;

const mib = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`);
const pct = (r: number): string => `${Math.round(r * 100)} %`;

/** A sample as lines for people: what the board gives, and says so when it gives no power state. */
export function describeSample(s: MetricsSample): string[] {
  const rows: [string, string][] = [];
  if (s.cpu.usageRatio !== undefined) rows.push(['cpu', `${pct(s.cpu.usageRatio)}${s.cpu.load1 !== undefined ? ` (load ${s.cpu.load1.toFixed(2)})` : ''}`]);
  const { totalBytes: total, availableBytes: free } = s.memory;
  if (total !== undefined && free !== undefined) rows.push(['memory', `${mib(total - free)} of ${mib(total)} used (${pct(1 - free / total)})`]);
  for (const f of s.filesystems) rows.push([`disk ${f.mountpoint}`, `${mib(f.sizeBytes - f.freeBytes)} of ${mib(f.sizeBytes)} used (${pct(1 - f.freeBytes / Math.max(1, f.sizeBytes))})`]);
  if (s.cpu.temperatureCelsius !== undefined) rows.push(['temperature', `${s.cpu.temperatureCelsius.toFixed(1)} °C`]);
  const p = s.power;
  const power = [
    ...(p.undervoltage !== undefined ? [p.undervoltage ? 'UNDER-VOLTAGE now' : 'voltage ok'] : []),
    ...(p.throttled ? ['throttled now'] : []),
    ...(p.undervoltageSinceBoot ? ['under-voltage since boot'] : []),
    ...(p.throttledSinceBoot ? ['throttled since boot'] : []),
  ];
  rows.push(['power', power.length > 0 ? power.join(', ') : 'not reported by this board']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** `metrics`: one sample of this device, as the agent takes it (its CPU usage over CPU_WINDOW_MS). */
const metrics: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'metrics', COMMON_FLAGS);
  const config = loadConfig(ctx.env);
  const source = systemSource();
  await source.cpuUsage().catch(() => undefined);
  await ctx.clock.sleep(CPU_WINDOW_MS, ctx.signal);
  const problems: string[] = [];
  const sampler = new Sampler({ source, clock: ctx.clock, dataDir: config.dataDir, log: { warn: (_o: unknown, msg?: string) => void problems.push(msg ?? '') } });
  const sample = await sampler.sample();
  if (values.json) ctx.out(JSON.stringify(sample));
  else for (const line of [...describeSample(sample), ...problems]) ctx.out(line);
  return EXIT.ok;
};

/** `metrics`. */
export const runners: RunnersOf<'metrics'> = { metrics };
