/**
 * What every sink is: a named target that sends one batch of lines in one request. Failures are
 * SinkErrors with a stable code and the HTTP status and Retry-After when the peer gave them; the
 * runner (runner.ts) decides what a failure means (retry, split, drop).
 */
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { AgentError, codeForStatus } from '../../lib/errors.js';
import { parseRetryAfter } from '../../lib/backoff.js';
import type { LogLine } from '../line.js';

/** A sink the runner drives. */
export interface Sink {
  /** The sink as `AGENT_LOGS_FORWARD` names it, without credentials (the `sink` label). */
  readonly label: string;
  /** The most lines one request carries. */
  readonly maxBatch: number;
  /** Sends one batch; throws a SinkError when it was not accepted. */
  send(lines: readonly LogLine[], signal: AbortSignal): Promise<void>;
}

/** A batch a sink did not accept: `status` when the peer answered, `retryAfterMs` when it asked for a pause. */
export class SinkError extends AgentError {
  constructor(message: string, readonly status: number | undefined, readonly retryAfterMs: number | undefined, options?: { cause?: unknown }) {
    super(status === undefined ? 'UNREACHABLE' : codeForStatus(status), message, options);
  }
}

/** Where a sink posts: its URL split into origin and path, and any basic-auth credentials turned into a header. */
export interface SinkTarget {
  origin: string;
  path: string;
  /** The URL without credentials, for labels and messages. */
  label: string;
  headers: Record<string, string>;
}

/** Splits a sink URL (credentials become basic auth and leave the label) and appends `suffix` to its path. */
export function sinkTarget(url: string, suffix = ''): SinkTarget {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username !== '' || u.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }
  u.username = '';
  u.password = '';
  const base = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, path: `${base}${suffix}${u.search}` || '/', label: u.toString().replace(/\/$/, ''), headers };
}

/** What one POST takes. */
export interface PostSpec {
  dispatcher: Dispatcher;
  target: SinkTarget;
  headers: Record<string, string>;
  /** A whole body, or a stream (sent with back-pressure: undici waits for `drain`). */
  body: Buffer | Readable;
  timeoutMs: number;
  wall: () => number;
  signal: AbortSignal;
}

/** POSTs a batch; resolves on 2xx, throws a SinkError otherwise (never with a credential in it). */
export async function post(spec: PostSpec): Promise<void> {
  const where = `POST ${spec.target.label}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await spec.dispatcher.request({
      origin: spec.target.origin,
      path: spec.target.path,
      method: 'POST',
      headers: { ...spec.target.headers, ...spec.headers },
      body: spec.body,
      signal: spec.signal,
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new SinkError(`${where}: ${typeof code === 'string' ? code : 'network error'}`, undefined, undefined, { cause: err });
  }
  const text = await res.body.text().catch(() => '');
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  const header = res.headers['retry-after'];
  const retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header, spec.wall());
  throw new SinkError(`${where}: ${res.statusCode} ${text.slice(0, 120).replace(/\s+/g, ' ')}`, res.statusCode, retryAfterMs);
}

/** The body buffer a posting sink starts with, and the largest it keeps between batches. */
const MIN_BODY_BYTES = 64 * 1024;
const KEEP_BODY_BYTES = 256 * 1024;

/** What a sink that POSTs to a URL of its own needs. */
export interface PostingOptions {
  dispatcher: Dispatcher;
  deviceUuid: () => string;
  wall: () => number;
  timeoutMs?: number;
}

/** A sink that POSTs each batch as one body to its target (the HTTP and Loki sinks). */
export abstract class PostingSink implements Sink {
  readonly maxBatch = 100;

  protected constructor(protected readonly opts: PostingOptions, protected readonly target: SinkTarget, readonly label: string) {}

  /** The body of one batch. */
  protected abstract body(lines: readonly LogLine[]): string;

  /** The buffer bodies are written into, reused: one request at a time per sink (the runner's loop). */
  private scratch: Buffer | undefined;

  /** The content type of a body. */
  protected abstract readonly contentType: string;

  send(lines: readonly LogLine[], signal: AbortSignal): Promise<void> {
    return post({
      dispatcher: this.opts.dispatcher, target: this.target, headers: { 'content-type': this.contentType },
      body: this.encode(this.body(lines)), timeoutMs: this.opts.timeoutMs ?? 30_000, wall: this.opts.wall, signal,
    });
  }

  /** `text` as UTF-8 in the reused buffer (grown when short; one grown past KEEP_BODY_BYTES is not kept). */
  private encode(text: string): Buffer {
    const most = text.length * 3;
    let buf = this.scratch;
    if (!buf || buf.length < most) buf = Buffer.allocUnsafe(Math.max(most, MIN_BODY_BYTES));
    if (buf.length <= KEEP_BODY_BYTES) this.scratch = buf;
    return buf.subarray(0, buf.write(text, 0, 'utf8'));
  }
}
