/**
 * Takes metrics samples. The only importer of systeminformation (loaded only where the kernel's
 * files are not there, so the agent on a device never pays for it); see systemSource. A failing
 * probe leaves its value out and says why once in the log; the sampler never throws.
 */
import { readFile, readdir, statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import type * as SystemInformation from 'systeminformation';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { parseThrottled } from './power.js';
import type { FilesystemSample, MetricsSample, MetricsSource, PowerSample } from './sample.js';

/** Where Raspberry Pi kernels show the firmware's throttled word (read-only sysfs, readable in a container). */
export const THROTTLED_PATHS = ['/sys/devices/platform/soc/soc:firmware/get_throttled', '/sys/devices/platform/firmware:raspberrypi/get_throttled'];

type Si = Pick<typeof SystemInformation, 'currentLoad' | 'mem'>;

/** CPU time counters of /proc/stat's first line: busy and total jiffies. */
export function parseProcStat(text: string): { busy: number; total: number } | undefined {
  const fields = /^cpu\s+([\d\s]+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  // guest and guest_nice (9th, 10th) are already counted in user and nice.
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | undefined {
  const kb = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  };
  const totalBytes = kb('MemTotal');
  const availableBytes = kb('MemAvailable');
  return totalBytes === undefined || availableBytes === undefined ? undefined : { totalBytes, availableBytes };
}

/**
 * The device's own source. On Linux (every balenaOS device) CPU usage and memory come from
 * /proc/stat and /proc/meminfo: loading systeminformation for them cost 96 ms of CPU and 8.6 MiB
 * of RSS on the first sample (bench/metrics), more than the agent's memory goal allows.
 * Elsewhere (the demo on a laptop) systeminformation gives them. The filesystem (statfs),
 * temperature and the firmware's power bits (sysfs) come from the kernel: systeminformation's
 * `fsSize` and `cpuTemperature` spawn programs (19 ms and 37 ms of CPU per call).
 */
export function systemSource(opts: { root?: string } = {}): MetricsSource {
  const root = opts.root ?? '';
  let si: Promise<Si> | undefined;
  const lib = (): Promise<Si> => (si ??= import('systeminformation').then((m) => {
    // A CommonJS module: its functions are on `default` under ESM.
    const mod = m as unknown as Si & { default?: Si };
    return mod.default ?? mod;
  }));
  let throttledPath: string | null | undefined;
  let previous: { busy: number; total: number } | undefined;
  const proc = (name: string): Promise<string | undefined> => readFile(`${root}/proc/${name}`, 'utf8').catch(() => undefined);
  return {
    async cpuUsage() {
      const text = await proc('stat');
      if (text === undefined) {
        const load = await (await lib()).currentLoad();
        return Number.isFinite(load.currentLoad) ? load.currentLoad / 100 : undefined;
      }
      const now = parseProcStat(text);
      // The first reading gives the average since boot (as systeminformation's first does).
      const before = previous ?? { busy: 0, total: 0 };
      previous = now;
      if (!now || now.total <= before.total) return undefined;
      return Math.min(1, Math.max(0, (now.busy - before.busy) / (now.total - before.total)));
    },
    load1: () => Promise.resolve(loadavg()[0]),
    async memory() {
      const text = await proc('meminfo');
      if (text !== undefined) return parseMeminfo(text);
      const mem = await (await lib()).mem();
      return mem.total > 0 ? { totalBytes: mem.total, availableBytes: mem.available } : undefined;
    },
    async filesystem(path) {
      // A data folder not created yet lives on its nearest existing parent's filesystem.
      let at = path;
      for (;;) {
        try {
          const s = await statfs(at);
          return { mountpoint: await mountpointOf(at, root), sizeBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
        } catch (err) {
          const parent = dirname(at);
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
          at = parent;
        }
      }
    },
    async temperature() {
      const zones = (await readdir(`${root}/sys/class/thermal`).catch(() => [] as string[])).filter((z) => z.startsWith('thermal_zone')).sort();
      for (const zone of zones) {
        const text = await readFile(`${root}/sys/class/thermal/${zone}/temp`, 'utf8').catch(() => '');
        const milli = Number.parseInt(text, 10);
        if (Number.isFinite(milli)) return milli / 1000;
      }
      return undefined;
    },
    async throttled() {
      if (throttledPath === null) return undefined;
      for (const path of throttledPath === undefined ? THROTTLED_PATHS : [throttledPath]) {
        const text = await readFile(`${root}${path}`, 'utf8').catch(() => undefined);
        if (text !== undefined) {
          throttledPath = path;
          return text;
        }
      }
      // Not a board with these firmware bits: never asked again.
      throttledPath = null;
      return undefined;
    },
  };
}

/** The mount point that holds `path`, from /proc/self/mountinfo (the longest mount prefix); `path` itself when unknown. */
async function mountpointOf(path: string, root: string): Promise<string> {
  const info = await readFile(`${root}/proc/self/mountinfo`, 'utf8').catch(() => '');
  let best = '';
  for (const line of info.split('\n')) {
    const mount = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mount && (path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`)) && mount.length > best.length) best = mount;
  }
  return best || path;
}

/** What the sampler needs. */
export interface SamplerOptions {
  source: MetricsSource;
  clock: Clock;
  log: Pick<Logger, 'warn'>;
  /** The folder whose filesystem every sample includes (AGENT_DATA_DIR). */
  dataDir: string;
  /** Kernel under-voltage lines since boot, when the journal has been read. */
  underVoltageEvents?: () => number | undefined;
}

/** Takes samples from a source; remembers the last one. */
export class Sampler {
  private readonly told = new Set<string>();
  /** The most recent sample (undefined before the first). */
  last: MetricsSample | undefined;

  constructor(private readonly opts: SamplerOptions) {}

  /** Takes one sample; never throws. */
  async sample(): Promise<MetricsSample> {
    const { source, dataDir } = this.opts;
    const [usageRatio, load1, memory, fs, temperatureCelsius, throttled] = await Promise.all([
      this.probe('cpu usage', () => source.cpuUsage()),
      this.probe('load', () => source.load1()),
      this.probe('memory', () => source.memory()),
      this.probe('filesystem', () => source.filesystem(dataDir)),
      this.probe('temperature', () => source.temperature()),
      this.probe('firmware power state', () => source.throttled()),
    ]);
    const power: PowerSample = {};
    const bits = throttled === undefined ? undefined : parseThrottled(throttled);
    if (throttled !== undefined && !bits) this.tell('firmware power state', new Error(`not a throttled word: ${throttled.slice(0, 40)}`));
    if (bits) {
      power.undervoltage = bits.underVoltageNow;
      power.throttled = bits.throttledNow || bits.frequencyCappedNow;
      power.undervoltageSinceBoot = bits.underVoltageSinceBoot;
      power.throttledSinceBoot = bits.throttledSinceBoot || bits.frequencyCappedSinceBoot;
    }
    const events = this.opts.underVoltageEvents?.();
    if (events !== undefined) power.undervoltageEvents = events;
    const sample: MetricsSample = {
      time: new Date(this.opts.clock.wall()).toISOString(),
      cpu: defined({ usageRatio, load1, temperatureCelsius }),
      memory: memory ?? {},
      filesystems: fs ? [fs] : ([] as FilesystemSample[]),
      power,
    };
    this.last = sample;
    return sample;
  }

  private async probe<T>(what: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      this.tell(what, err);
      return undefined;
    }
  }

  /** Says once per probe why its value is missing. */
  private tell(what: string, err: unknown): void {
    if (this.told.has(what)) return;
    this.told.add(what);
    this.opts.log.warn({ err }, `metrics: ${what} left out (cannot be read on this device)`);
  }
}

function defined<T extends Record<string, number | undefined>>(values: T): { [K in keyof T]?: number } {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined && Number.isFinite(v)) out[k] = v;
  return out;
}
