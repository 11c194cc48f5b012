/** One metrics sample: what `/status` shows as `metrics`, `fleet-agent metrics --json` prints and the tags summarise. */

/** A filesystem the sample covers (at least the one that holds the data folder). */
export interface FilesystemSample {
  mountpoint: string;
  sizeBytes: number;
  freeBytes: number;
}

/** The power fields of a sample; each is left out when the board cannot give it. */
export interface PowerSample {
  /** Firmware: under-voltage now. */
  undervoltage?: boolean;
  /** Firmware: throttled or frequency capped now. */
  throttled?: boolean;
  /** Firmware: under-voltage has occurred since boot. */
  undervoltageSinceBoot?: boolean;
  /** Firmware: throttling or a frequency cap has occurred since boot. */
  throttledSinceBoot?: boolean;
  /** Kernel `Under-voltage detected` lines since boot (any board whose journal the agent reads). */
  undervoltageEvents?: number;
}

/** A sample: every value the board cannot give is absent, never faked. */
export interface MetricsSample {
  /** ISO-8601 UTC time of the sample. */
  time: string;
  cpu: { usageRatio?: number; load1?: number; temperatureCelsius?: number };
  memory: { totalBytes?: number; availableBytes?: number };
  filesystems: FilesystemSample[];
  power: PowerSample;
}

/** Where a sample's raw values come from: systeminformation and sysfs on a device, scripted values in tests and benches. */
export interface MetricsSource {
  /** CPU busy ratio since the previous call (the first call: since boot; undefined when unknown). */
  cpuUsage(): Promise<number | undefined>;
  load1(): Promise<number | undefined>;
  memory(): Promise<{ totalBytes: number; availableBytes: number } | undefined>;
  /** The filesystem holding `path`. */
  filesystem(path: string): Promise<FilesystemSample | undefined>;
  temperature(): Promise<number | undefined>;
  /** The firmware's throttled word as text (sysfs or vcgencmd); undefined when the board has none. */
  throttled(): Promise<string | undefined>;
}
