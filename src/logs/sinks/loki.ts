/**
 * The `loki+http(s)://…` sink: Loki's push API (`POST <base>/loki/api/v1/push`), one stream per unit
 * of a batch, labelled `device_uuid`, `fleet` and `unit`, with nanosecond timestamps as strings.
 */
import type { LogLine } from '../line.js';
import { PostingSink, sinkTarget, type PostingOptions } from './sink.js';

/** The push body of a batch: lines grouped by unit, in their order. */
export function lokiBody(lines: readonly LogLine[], labels: { deviceUuid: string; fleet: string }): string {
  const streams = new Map<string, [string, string][]>();
  for (const l of lines) {
    const values = streams.get(l.unit) ?? [];
    values.push([`${Date.parse(l.time)}000000`, l.message]);
    streams.set(l.unit, values);
  }
  return JSON.stringify({
    streams: [...streams].map(([unit, values]) => ({ stream: { device_uuid: labels.deviceUuid, fleet: labels.fleet, unit }, values })),
  });
}

/** Pushes batches of up to 100 lines to Loki; `spec` is the sink as written, `loki+http(s)://host[:port][/path]`. */
export class LokiSink extends PostingSink {
  protected readonly contentType = 'application/json';

  /** `fleet`: the fleet's name when the agent knows it, else its id. */
  constructor(opts: PostingOptions & { spec: string; fleet: () => string }) {
    const base = opts.spec.slice('loki+'.length);
    super(opts, sinkTarget(base, '/loki/api/v1/push'), `loki+${sinkTarget(base).label}`);
    this.fleet = opts.fleet;
  }

  private readonly fleet: () => string;

  protected body(lines: readonly LogLine[]): string {
    return lokiBody(lines, { deviceUuid: this.opts.deviceUuid(), fleet: this.fleet() });
  }
}
