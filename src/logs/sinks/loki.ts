/**
 * The `loki+http(s)://…` sink: Loki's push API (`POST <base>/loki/api/v1/push`), one stream per unit
 * of a batch, labelled `device_uuid`, `fleet` and `unit`, with nanosecond timestamps as strings.
 */
import type { Dispatcher } from 'undici';
import type { LogLine } from '../line.js';
import { post, sinkTarget, type Sink, type SinkTarget } from './sink.js';

/** The push body of a batch: lines grouped by unit, in their order. */
export function lokiBody(lines: readonly LogLine[], labels: { deviceUuid: string; fleet: string }): Buffer {
  const streams = new Map<string, [string, string][]>();
  for (const l of lines) {
    const values = streams.get(l.unit) ?? [];
    values.push([`${Date.parse(l.time)}000000`, l.message]);
    streams.set(l.unit, values);
  }
  return Buffer.from(JSON.stringify({
    streams: [...streams].map(([unit, values]) => ({ stream: { device_uuid: labels.deviceUuid, fleet: labels.fleet, unit }, values })),
  }), 'utf8');
}

/** What a Loki sink needs. */
export interface LokiSinkOptions {
  /** The sink as written, `loki+http(s)://host[:port][/path]`. */
  spec: string;
  dispatcher: Dispatcher;
  deviceUuid: () => string;
  /** The fleet's name when the agent knows it, else its id. */
  fleet: () => string;
  wall: () => number;
  timeoutMs?: number;
}

/** Pushes batches of up to 100 lines to Loki. */
export class LokiSink implements Sink {
  readonly label: string;
  readonly maxBatch = 100;
  private readonly target: SinkTarget;

  constructor(private readonly opts: LokiSinkOptions) {
    this.target = sinkTarget(opts.spec.slice('loki+'.length), '/loki/api/v1/push');
    this.label = `loki+${sinkTarget(opts.spec.slice('loki+'.length)).label}`;
  }

  send(lines: readonly LogLine[], signal: AbortSignal): Promise<void> {
    return post({
      dispatcher: this.opts.dispatcher, target: this.target, headers: { 'content-type': 'application/json' },
      body: lokiBody(lines, { deviceUuid: this.opts.deviceUuid(), fleet: this.opts.fleet() }),
      timeoutMs: this.opts.timeoutMs ?? 30_000, wall: this.opts.wall, signal,
    });
  }
}
