/** The `http(s)://…` sink: NDJSON batches of `{time, unit, priority, message, device_uuid}` (PRODUCT §5). */
import type { Dispatcher } from 'undici';
import type { LogLine } from '../line.js';
import { post, sinkTarget, type Sink, type SinkTarget } from './sink.js';

/** The NDJSON body of a batch. */
export function ndjsonBody(lines: readonly LogLine[], deviceUuid: string): Buffer {
  let text = '';
  for (const l of lines) text += `${JSON.stringify({ time: l.time, unit: l.unit, priority: l.priority, message: l.message, device_uuid: deviceUuid })}\n`;
  return Buffer.from(text, 'utf8');
}

/** What an HTTP sink needs. */
export interface HttpSinkOptions {
  url: string;
  dispatcher: Dispatcher;
  deviceUuid: () => string;
  wall: () => number;
  timeoutMs?: number;
}

/** POSTs NDJSON batches of up to 100 lines. */
export class HttpSink implements Sink {
  readonly label: string;
  readonly maxBatch = 100;
  private readonly target: SinkTarget;

  constructor(private readonly opts: HttpSinkOptions) {
    this.target = sinkTarget(opts.url);
    this.label = this.target.label;
  }

  send(lines: readonly LogLine[], signal: AbortSignal): Promise<void> {
    return post({
      dispatcher: this.opts.dispatcher, target: this.target, headers: { 'content-type': 'application/x-ndjson' },
      body: ndjsonBody(lines, this.opts.deviceUuid()), timeoutMs: this.opts.timeoutMs ?? 30_000, wall: this.opts.wall, signal,
    });
  }
}
