/** Device endpoints outside OData: bulk tags (`/device/v3/tags`) and logs (`/device/v2/:uuid/...`). */
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { empty, isObject, json, readJson, text, UNAUTHORIZED, type Reply, type SimContext } from './http.js';
import { mayActOnDevice } from './permissions.js';
import type { StoredLog } from './store.js';
import { ruleViolation, validTagKey } from './validate.js';

/** Lines kept per device, as the real API does. */
export const LOG_RETENTION = 1000;
/** Batch endpoint limits: entries per request, and requests per window per device. */
export const LOG_BATCH_MAX = 10;
const LOG_RATE_COUNT = 15;
const LOG_RATE_WINDOW_MS = 10_000;

/** The batch rate limiter's state per uuid (monotonic ms); owned by the simulator. */
export type LogRateState = Map<string, { windowStart: number; count: number; blockedUntil: number }>;

const NDJSON = 'application/x-ndjson';
/** The lines a log stream buffers between flushes (min(50, retention)). */
export const LOG_STREAM_BUFFER = 50;

/**
 * `PATCH /device/v3/tags`: `{"<uuid>": {"k": "v"}}`, upserting each key in one transaction. As
 * the real API: every uuid is resolved first (no uuid, or one not yours → 401), then the body is
 * validated (a bad key or value → 400), and it is a 400 only when no uuid carries any tag.
 */
export async function patchTagsV3(ctx: SimContext): Promise<Reply> {
  if (ctx.actor === undefined) return text(401, 'API key required');
  const body = await readJson(ctx);
  if (!isObject(body) || Object.keys(body).length === 0) return UNAUTHORIZED;
  const devices = new Map<string, number>();
  for (const uuid of Object.keys(body)) {
    const device = ctx.store.deviceByUuid(uuid);
    if (device === undefined || !mayActOnDevice(ctx.actor, device)) return UNAUTHORIZED;
    devices.set(uuid, device['id'] as number);
  }
  const plan: Array<{ device: number; key: string; value: string }> = [];
  for (const [uuid, tags] of Object.entries(body)) {
    if (!isObject(tags)) return text(400, `Invalid tags for "${uuid}"`);
    for (const [key, value] of Object.entries(tags)) {
      if (!validTagKey(key) || typeof value !== 'string') return text(400, `Invalid tag "${key}"`);
      const problem = ruleViolation('device_tag', { tag_key: key, value });
      if (problem !== undefined) return text(400, problem);
      plan.push({ device: devices.get(uuid) ?? 0, key, value });
    }
  }
  if (plan.length === 0) return text(400, 'No tags were sent to be updated.');
  for (const { device, key, value } of plan) ctx.store.upsert('device_tag', { device, tag_key: key }, value);
  return empty(200);
}

/** Turns one parsed object into a stored line, or undefined when the real API would skip it. */
function toLog(item: unknown, createdAt: number): StoredLog | undefined {
  if (!isObject(item) || 'uuid' in item) return undefined;
  const { message, timestamp, isSystem, isStdErr, serviceId } = item;
  if (typeof message !== 'string' || typeof timestamp !== 'number') return undefined;
  const line: StoredLog = { message, timestamp, createdAt };
  if (typeof isSystem === 'boolean') line.isSystem = isSystem;
  if (typeof isStdErr === 'boolean') line.isStdErr = isStdErr;
  if (typeof serviceId === 'number') line.serviceId = serviceId;
  return line;
}

function appendLogs(ctx: SimContext, uuid: string, lines: readonly StoredLog[]): void {
  const list = ctx.store.logs.get(uuid) ?? [];
  list.push(...lines);
  if (list.length > LOG_RETENTION) list.splice(0, list.length - LOG_RETENTION);
  ctx.store.logs.set(uuid, list);
}

/**
 * The device a log write is for, or the real API's refusal: no credential → 401; a uuid the
 * credential cannot see (another device's, or none) → 404; seen but not writable → 401.
 */
function logTarget(ctx: SimContext, uuid: string): Reply | undefined {
  if (ctx.actor === undefined) return UNAUTHORIZED;
  const device = ctx.store.deviceByUuid(uuid);
  const visible = device !== undefined && (ctx.store.visible(ctx.actor, 'device', 'read') ?? []).includes(device);
  if (!visible) return text(404, `No device with uuid ${uuid}`);
  return mayActOnDevice(ctx.actor, device) ? undefined : text(401, 'Not allowed to write device logs');
}

/**
 * `POST /device/v2/:uuid/log-stream`: NDJSON (gzip when `Content-Encoding: gzip`), lines stored as
 * they arrive. The content type must be exactly `application/x-ndjson` (else 415); a line that is
 * not JSON ends the stream with 400 (lines before it are kept); JSON lines that are not log lines
 * (or carry a `uuid`) are skipped; a clean end is 201.
 */
export async function logStream(ctx: SimContext, uuid: string): Promise<Reply> {
  const refused = logTarget(ctx, uuid);
  if (refused !== undefined) return refused;
  if (ctx.req.headers['content-type'] !== NDJSON) return text(415, `Streaming requests require Content-Type ${NDJSON}`);
  const source: Readable = ctx.req.headers['content-encoding'] === 'gzip' ? ctx.req.pipe(createGunzip()) : ctx.req;
  const received: StoredLog[] = [];
  let pending = '';
  const take = (chunk: string): boolean => {
    pending += chunk;
    const parts = pending.split(/\r?\n/u);
    pending = parts.pop() ?? '';
    const lines: StoredLog[] = [];
    let bad = false;
    for (const part of parts) {
      if (part === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(part);
      } catch {
        bad = true;
        break;
      }
      const line = toLog(parsed, ctx.clock.wall());
      if (line !== undefined) lines.push(line);
    }
    // The server parses every line of one read into its buffer; at the next flush all but the
    // newest 50 are replaced by one warning (CONTRACT §4.7): a sender writing big chunks loses lines.
    if (lines.length > LOG_STREAM_BUFFER) {
      const over = lines.length - LOG_STREAM_BUFFER;
      lines.splice(0, over, { message: `Warning: Suppressed ${over} message(s) due to rate limiting`, timestamp: ctx.clock.wall(), createdAt: ctx.clock.wall(), isSystem: true });
    }
    received.push(...lines);
    appendLogs(ctx, uuid, lines);
    return !bad;
  };
  // Not `for await`: leaving that loop early would destroy the request and reset the socket
  // instead of answering 400; the rest of a refused stream is read and dropped.
  const outcome = await new Promise<'end' | 'bad'>((resolve) => {
    let done = false;
    const finish = (how: 'end' | 'bad'): void => {
      if (done) return;
      done = true;
      resolve(how);
    };
    source.on('data', (chunk: Buffer) => {
      if (!done && !take(chunk.toString('utf8'))) finish('bad');
    });
    source.on('end', () => {
      if (!done) finish(take('\n') ? 'end' : 'bad');
    });
    source.on('error', () => finish('bad'));
    ctx.req.on('close', () => {
      if (!ctx.req.complete) finish('bad');
    });
  });
  ctx.body = received;
  return outcome === 'end' ? empty(201) : text(400, 'Bad Request');
}

/**
 * `POST /device/v2/:uuid/logs`: a JSON array of at most 10 lines. The rate limit comes first, as
 * in the real API (before the credential is even looked at): 15 batches in a 10 s window per
 * uuid, then the uuid is blocked for 10 s — 429 with `Retry-After` in whole seconds.
 */
export async function logBatch(ctx: SimContext, uuid: string, rate: LogRateState): Promise<Reply> {
  const now = ctx.clock.now();
  const state = rate.get(uuid);
  const current = state !== undefined && (now < state.blockedUntil || now - state.windowStart < LOG_RATE_WINDOW_MS) ? state : { windowStart: now, count: 0, blockedUntil: 0 };
  rate.set(uuid, current);
  if (now >= current.blockedUntil) {
    current.count += 1;
    if (current.count > LOG_RATE_COUNT) current.blockedUntil = now + LOG_RATE_WINDOW_MS;
  }
  if (now < current.blockedUntil) {
    return text(429, 'Too Many Requests', { 'retry-after': String(Math.max(1, Math.ceil((current.blockedUntil - now) / 1000))) });
  }
  const refused = logTarget(ctx, uuid);
  if (refused !== undefined) return refused;
  const body = await readJson(ctx);
  if (!Array.isArray(body)) return text(400, 'Body must be an array of log lines');
  if (body.length > LOG_BATCH_MAX) return text(400, `Batches cannot include more than ${LOG_BATCH_MAX} logs`);
  const lines = body.flatMap((item) => toLog(item, ctx.clock.wall()) ?? []);
  appendLogs(ctx, uuid, lines);
  return empty(201);
}

/** `GET /device/v2/:uuid/logs`: history for user credentials only (a device key gets 401). */
export function readLogs(ctx: SimContext, uuid: string): Reply {
  if (ctx.actor?.kind !== 'user') return UNAUTHORIZED;
  if (ctx.store.deviceByUuid(uuid) === undefined) return text(404, 'Device not found');
  const params = new URLSearchParams(ctx.rawQuery);
  const countParam = params.get('count');
  const all = ctx.store.logs.get(uuid) ?? [];
  const count = countParam === 'all' || countParam === null ? LOG_RETENTION : Math.max(0, Math.min(LOG_RETENTION, Number(countParam) || 0));
  const lines = count === 0 ? [] : all.slice(-count);
  if (params.get('stream') === '1') {
    const ndjson = lines.map((l) => JSON.stringify(l)).join('\n');
    return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: ndjson === '' ? '' : `${ndjson}\n` };
  }
  return json(200, lines);
}
