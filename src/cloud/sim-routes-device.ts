/** Device endpoints outside OData: bulk tags (`/device/v3/tags`) and logs (`/device/v2/:uuid/...`). */
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { BodyError, empty, isObject, json, readJson, text, UNAUTHORIZED, type Reply, type SimContext } from './sim-http.js';
import { mayActOnDevice } from './sim-permissions.js';
import type { StoredLog } from './sim-store.js';
import { ruleViolation, validTagKey } from './sim-validate.js';

/** Lines kept per device, as the real API does. */
export const LOG_RETENTION = 1000;
/** Batch endpoint limits: entries per request, and requests per window per device. */
export const LOG_BATCH_MAX = 10;
const LOG_RATE_COUNT = 15;
const LOG_RATE_WINDOW_MS = 10_000;

/** Per-device log rate windows (monotonic ms of recent batch posts); owned by the simulator. */
export type LogRateState = Map<string, number[]>;

/** `PATCH /device/v3/tags`: `{"<uuid>": {"k": "v"}}`, upserting each key in one go. */
export async function patchTagsV3(ctx: SimContext): Promise<Reply> {
  if (ctx.actor === undefined) return text(401, 'API key required');
  const body = await readJson(ctx);
  if (!isObject(body) || Object.keys(body).length === 0) return UNAUTHORIZED;
  const plan: Array<{ device: number; key: string; value: string }> = [];
  for (const [uuid, tags] of Object.entries(body)) {
    const device = ctx.store.deviceByUuid(uuid);
    if (device === undefined || !mayActOnDevice(ctx.actor, device)) return UNAUTHORIZED;
    if (!isObject(tags) || Object.keys(tags).length === 0) return text(400, 'No tags provided');
    for (const [key, value] of Object.entries(tags)) {
      if (!validTagKey(key) || typeof value !== 'string') return text(400, `Invalid tag "${key}"`);
      const problem = ruleViolation('device_tag', { tag_key: key, value });
      if (problem !== undefined) return text(400, problem);
      plan.push({ device: device['id'] as number, key, value });
    }
  }
  for (const { device, key, value } of plan) {
    const existing = ctx.store.table('device_tag').find((r) => r['device'] === device && r['tag_key'] === key);
    if (existing === undefined) ctx.store.insert('device_tag', { device, tag_key: key, value });
    else if (existing['value'] !== value) ctx.store.update('device_tag', existing['id'], { value });
  }
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

function appendLogs(ctx: SimContext, uuid: string, lines: readonly StoredLog[], onLine: (uuid: string) => void): void {
  const list = ctx.store.logs.get(uuid) ?? [];
  list.push(...lines);
  if (list.length > LOG_RETENTION) list.splice(0, list.length - LOG_RETENTION);
  ctx.store.logs.set(uuid, list);
  if (lines.length > 0) onLine(uuid);
}

function writableDevice(ctx: SimContext, uuid: string): boolean {
  const device = ctx.store.deviceByUuid(uuid);
  return device !== undefined && mayActOnDevice(ctx.actor, device);
}

/** `POST /device/v2/:uuid/log-stream`: NDJSON (optionally gzip), lines stored as they arrive. */
export async function logStream(ctx: SimContext, uuid: string, onLine: (uuid: string) => void): Promise<Reply> {
  if (ctx.actor === undefined || !writableDevice(ctx, uuid)) return UNAUTHORIZED;
  const type = ctx.req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-ndjson')) return text(415, 'Unsupported Media Type');
  const gzip = (ctx.req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
  const source: Readable = gzip ? ctx.req.pipe(createGunzip()) : ctx.req;
  const received: StoredLog[] = [];
  let pending = '';
  const take = (chunk: string): void => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    const lines = parts.flatMap((part) => {
      if (part.trim() === '') return [];
      try {
        const line = toLog(JSON.parse(part), ctx.clock.wall());
        return line === undefined ? [] : [line];
      } catch {
        return [];
      }
    });
    received.push(...lines);
    appendLogs(ctx, uuid, lines, onLine);
  };
  try {
    for await (const chunk of source) take((chunk as Buffer).toString('utf8'));
  } catch {
    ctx.body = received;
    return text(400, 'Bad Request');
  }
  take('\n');
  ctx.body = received;
  return empty(201);
}

/** `POST /device/v2/:uuid/logs`: a JSON array of at most 10 lines, 15 batches per 10 s. */
export async function logBatch(ctx: SimContext, uuid: string, rate: LogRateState, onLine: (uuid: string) => void): Promise<Reply> {
  if (ctx.actor === undefined || !writableDevice(ctx, uuid)) return UNAUTHORIZED;
  const now = ctx.clock.now();
  const recent = (rate.get(uuid) ?? []).filter((t) => now - t < LOG_RATE_WINDOW_MS);
  if (recent.length >= LOG_RATE_COUNT) {
    const waitMs = LOG_RATE_WINDOW_MS - (now - (recent[0] ?? now));
    rate.set(uuid, recent);
    return text(429, 'Too Many Requests', { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) });
  }
  recent.push(now);
  rate.set(uuid, recent);
  let body: unknown;
  try {
    body = await readJson(ctx);
  } catch (err) {
    if (err instanceof BodyError) return text(err.status, err.message);
    throw err;
  }
  if (!Array.isArray(body)) return text(400, 'Body must be an array of log lines');
  if (body.length > LOG_BATCH_MAX) return text(400, `At most ${LOG_BATCH_MAX} lines per batch`);
  const lines = body.flatMap((item) => toLog(item, ctx.clock.wall()) ?? []);
  appendLogs(ctx, uuid, lines, onLine);
  return empty(201);
}

/** `GET /device/v2/:uuid/logs`: history for user credentials only (a device key gets 401). */
export function readLogs(ctx: SimContext, uuid: string): Reply {
  if (ctx.actor?.kind !== 'user') return UNAUTHORIZED;
  if (ctx.store.deviceByUuid(uuid) === undefined) return text(404, 'Device not found');
  const params = new URLSearchParams(ctx.rawQuery);
  const countParam = params.get('count');
  const all = ctx.store.logs.get(uuid) ?? [];
  const count = countParam === 'all' || countParam === null ? LOG_RETENTION : Math.min(LOG_RETENTION, Number(countParam) || 0);
  const lines = count === 0 ? [] : all.slice(-count);
  if (params.get('stream') === '1') {
    const ndjson = lines.map((l) => JSON.stringify(l)).join('\n');
    return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: ndjson === '' ? '' : `${ndjson}\n` };
  }
  return json(200, lines);
}
