/**
 * The `cloud` sink: the device's dashboard log stream, sent as the supervisor sends it (CONTRACT §4.7):
 * `POST /device/v2/<uuid>/log-stream`, NDJSON, gzip, the device key as bearer.
 *
 * Why the stream and not the batch endpoint: the batch endpoint takes 10 lines and 15 batches per
 * 10 s (15 lines/s), too little to empty a spool after an outage. The stream has no rate limit but
 * buffers at most 50 lines per connection between its 500 ms flushes and silently replaces the rest
 * with a "Suppressed" line when one read brings more. So each request here carries one batch of at
 * most CLOUD_BATCH (40) lines — fewer than the server's buffer whatever its reads bring — written in
 * pieces of WRITE_LINES through a stream that waits for `drain`; the server answers 201 only when the
 * request ends, so a 201 means the whole batch was taken. Logs have their own request budget
 * (CLOUD_LOG_LIMIT), apart from the poll's: a log request never delays a poll.
 *
 * A line maps to `{message: "<unit>: <message>", timestamp: ms, isSystem: true, isStdErr: priority ≤ 3}`:
 * journal lines are the host's, not a service's (the dashboard shows a container line only with
 * its serviceId, which the journal does not carry), messages cut at 10,000 characters with `[...]`.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { RequestBudget, type RequestLimit } from '../../cloud/budget.js';
import type { Clock } from '../../lib/clock.js';
import type { LogLine } from '../line.js';
import { post, sinkTarget, type Sink, type SinkTarget } from './sink.js';

/** Lines per request: below the server's 50-line buffer. */
export const CLOUD_BATCH = 40;
/** Lines per write into the request body. */
export const WRITE_LINES = 10;
/** The log stream's own budget: at most 60 requests a minute. */
export const CLOUD_LOG_LIMIT: RequestLimit = { count: 60, intervalMs: 60_000 };
/** The supervisor's cap on one message. */
export const MAX_MESSAGE_CHARS = 10_000;

/** One line as the log stream takes it. */
export function cloudLine(line: LogLine): { message: string; timestamp: number; isSystem: true; isStdErr: boolean } {
  let message = `${line.unit}: ${line.message}`;
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS - 5)}[...]`;
  return { message, timestamp: Date.parse(line.time), isSystem: true, isStdErr: line.priority <= 3 };
}

/** The body pieces of a batch: NDJSON, WRITE_LINES lines per piece. */
export function cloudPieces(lines: readonly LogLine[]): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < lines.length; i += WRITE_LINES) {
    pieces.push(lines.slice(i, i + WRITE_LINES).map((l) => `${JSON.stringify(cloudLine(l))}\n`).join(''));
  }
  return pieces;
}

/** What the cloud sink needs. */
export interface CloudSinkOptions {
  /** BALENA_API_URL. */
  baseUrl: string;
  /** The device key (sent as bearer, never logged). */
  apiKey: string;
  deviceUuid: () => string;
  dispatcher: Dispatcher;
  clock: Clock;
  timeoutMs?: number;
  limit?: RequestLimit;
}

/** Sends batches to the device's log stream. */
export class CloudSink implements Sink {
  readonly label = 'cloud';
  readonly maxBatch = CLOUD_BATCH;
  private readonly budget: RequestBudget;

  constructor(private readonly opts: CloudSinkOptions) {
    this.budget = new RequestBudget({ clock: opts.clock, limit: opts.limit ?? CLOUD_LOG_LIMIT });
  }

  async send(lines: readonly LogLine[], signal: AbortSignal): Promise<void> {
    await this.budget.acquire(signal);
    const base = sinkTarget(this.opts.baseUrl);
    const target: SinkTarget = {
      ...base,
      path: `${base.path.replace(/\/$/, '')}/device/v2/${encodeURIComponent(this.opts.deviceUuid())}/log-stream`,
      label: 'cloud',
    };
    const body = Readable.from(cloudPieces(lines), { objectMode: false }).pipe(createGzip());
    await post({
      dispatcher: this.opts.dispatcher, target, signal, timeoutMs: this.opts.timeoutMs ?? 30_000, wall: () => this.opts.clock.wall(),
      headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body,
    });
  }
}
