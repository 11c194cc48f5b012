import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';
import { BadResponseError, UnreachableError, type Peer } from './errors.js';
import { redactUrl } from './redact.js';

/**
 * undici's Agent with its request API, loaded as undici's own entry wires them, without the rest
 * of that entry (fetch, WebSocket, cookies, caches, mocks): its cookies module reads
 * globalThis.Headers, which makes Node load its own bundled copy of undici, ~14 MiB of RSS that
 * the agent never uses (measured on Node 24; test/unit/lib-http checks this wiring).
 */
function loadAgent(): typeof Agent {
  const load = createRequire(import.meta.url);
  const dispatcher = load('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
  Object.assign(dispatcher.prototype, load('undici/lib/api/index.js') as object);
  return load('undici/lib/dispatcher/agent.js') as typeof Agent;
}

const UndiciAgent = loadAgent();

/** Where requests go: clients are built on one of these, never on a global dispatcher. */
export interface HttpTarget {
  peer: Peer;
  baseUrl: string;
  timeoutMs: number;
  dispatcher: Dispatcher;
  /** Replies larger than this are refused (default 4 MiB). */
  maxBodyBytes?: number;
}

/** One request; `path` includes the query string, already encoded. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string | Buffer;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A reply with its whole body as text. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  text: string;
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/** The dispatcher the agent uses: keep-alive, short connect timeout, bounded sockets. */
export function createDispatcher(opts: { connectTimeoutMs?: number } = {}): Agent {
  return new UndiciAgent({
    connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connections: 8,
  });
}

export { redactUrl };

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Response headers as lower-case names to single strings (repeated values joined with `, `). */
export function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Turns a low-level failure into a typed, key-free error. */
export function networkError(peer: Peer, method: string, path: string, err: unknown, timeoutMs: number): UnreachableError {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const name = (err as { name?: string } | undefined)?.name ?? '';
  const where = `${method} ${redactUrl(path)}`;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UnreachableError(peer, 'TIMEOUT', `${peer} did not accept a connection for ${where}`, { cause: err, mayHaveArrived: false });
  }
  if (name === 'TimeoutError' || /TIMEOUT/.test(code)) {
    return new UnreachableError(peer, 'TIMEOUT', `${peer} did not answer ${where} within ${timeoutMs} ms`, { cause: err });
  }
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR' || code === 'ABORTED') {
    return new UnreachableError(peer, 'ABORTED', `${where} to ${peer} was cancelled`, { cause: err });
  }
  // The dispatcher is destroyed only when the process stops: cancelled, not a network fault to retry.
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
    return new UnreachableError(peer, 'ABORTED', `${where} to ${peer} was cancelled (stopping)`, { cause: err });
  }
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host name not found'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route to host'
    : code || 'network error';
  const neverConnected = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code);
  return new UnreachableError(peer, 'UNREACHABLE', `${peer} unreachable (${reason}) on ${where}`, { cause: err, mayHaveArrived: !neverConnected });
}

/** The error a whole-reply deadline ends a body with (mapped to TIMEOUT like undici's own timeouts). */
function deadlineError(): Error {
  return Object.assign(new Error('reply not complete before its deadline'), { name: 'TimeoutError' });
}

/**
 * Reads a body to text, refusing more than `max` bytes. With `deadlineMs`, a body still arriving
 * after that long (one that drips, which undici's idle `bodyTimeout` never catches) is destroyed
 * with a TimeoutError.
 */
export async function readCapped(body: Dispatcher.ResponseData['body'], max: number, peer: Peer, where: string, deadlineMs?: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = deadlineMs === undefined ? undefined : setTimeout(() => body.destroy(deadlineError()), Math.max(0, deadlineMs));
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) {
        body.destroy();
        throw new BadResponseError(peer, 'TOO_LARGE', `${peer} reply to ${where} is larger than ${max} bytes; refused`);
      }
      chunks.push(buf);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** True for the errors of a timeout: undici's headers/body timeouts and the whole-reply deadline. */
function isTimeout(err: unknown): boolean {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  return name === 'TimeoutError' || (typeof code === 'string' && /TIMEOUT/.test(code));
}

/**
 * Sends one request and reads the whole reply (any status). The timeout uses the HTTP client's
 * own timers (undici's `headersTimeout` for the head, `bodyTimeout` between body chunks) plus a
 * whole-reply deadline, so a reply that drips slowly also ends within the timeout. The caller's
 * signal cancels. Network failures, timeouts and oversized or truncated bodies become typed errors.
 */
export async function send(target: HttpTarget, spec: RequestSpec): Promise<HttpReply> {
  const timeoutMs = spec.timeoutMs ?? target.timeoutMs;
  const startedAt = performance.now();
  const headers: Record<string, string> = { ...spec.headers };
  let body: string | Buffer | undefined = spec.body;
  if (spec.json !== undefined) {
    body = JSON.stringify(spec.json);
    headers['content-type'] = 'application/json';
  }
  const bare = spec.path.split('?')[0] ?? spec.path;
  const where = `${spec.method} ${redactUrl(bare)}`;
  const base = new URL(target.baseUrl);
  let res: Dispatcher.ResponseData;
  try {
    res = await target.dispatcher.request({
      origin: base.origin,
      path: joinUrl(base.pathname, spec.path),
      method: spec.method,
      headers,
      body: body ?? null,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(spec.signal ? { signal: spec.signal } : {}),
    });
  } catch (err) {
    throw networkError(target.peer, spec.method, bare, err, timeoutMs);
  }
  let text: string;
  try {
    const left = timeoutMs - (performance.now() - startedAt);
    text = await readCapped(res.body, target.maxBodyBytes ?? DEFAULT_MAX_BODY, target.peer, where, left);
  } catch (err) {
    if (err instanceof BadResponseError) throw err;
    if (spec.signal?.aborted) throw networkError(target.peer, spec.method, bare, spec.signal.reason ?? err, timeoutMs);
    if (isTimeout(err)) throw networkError(target.peer, spec.method, bare, err, timeoutMs);
    throw new BadResponseError(target.peer, 'BAD_RESPONSE', `${target.peer} reply to ${where} was cut off`, { cause: err });
  }
  return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
}

/** Parses a JSON reply body, or says clearly that it was not JSON. */
export function parseJson(peer: Peer, where: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const preview = text.slice(0, 60).replace(/\s+/g, ' ');
    throw new BadResponseError(peer, 'BAD_RESPONSE', `${peer} sent a reply to ${where} that is not JSON: "${preview}"`, { cause: err });
  }
}
