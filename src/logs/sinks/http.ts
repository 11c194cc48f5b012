/** The `http(s)://…` sink: NDJSON batches of `{time, unit, priority, message, device_uuid}` (PRODUCT §5). */
import type { LogLine } from '../line.js';
import { PostingSink, sinkTarget, type PostingOptions } from './sink.js';

/** The NDJSON body of a batch. */
export function ndjsonBody(lines: readonly LogLine[], deviceUuid: string): string {
  let text = '';
  for (const l of lines) text += `${JSON.stringify({ time: l.time, unit: l.unit, priority: l.priority, message: l.message, device_uuid: deviceUuid })}\n`;
  return text;
}

/** POSTs NDJSON batches of up to 100 lines to `url`. */
export class HttpSink extends PostingSink {
  protected readonly contentType = 'application/x-ndjson';

  constructor(opts: PostingOptions & { url: string }) {
    const target = sinkTarget(opts.url);
    super(opts, target, target.label);
  }

  protected body(lines: readonly LogLine[]): string {
    return ndjsonBody(lines, this.opts.deviceUuid());
  }
}
