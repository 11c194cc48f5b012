/**
 * `POST /supervisor/<path>`: the cloud's supervisor proxy. Finds the target device(s) the caller
 * may see (online only), forwards to the supervisor with `?apikey=`, and relays status and body.
 */
import { request, type Dispatcher } from 'undici';
import { isObject, json, readJson, text, type Reply, type SimContext } from './http.js';
import type { Row } from './odata-eval.js';

const DEVICE_REQUEST_TIMEOUT_MS = 50_000;
const METHODS = new Set(['PUT', 'PATCH', 'POST', 'HEAD', 'DELETE', 'GET']);
const SAFE_TEXT = /^([A-Za-z0-9\s:'.?!,/-])*$/u;

interface Forwarded {
  statusCode: number;
  contentType: string | undefined;
  body: string;
}

function intOrFalse(value: unknown): number | false {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/u.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) ? n : false;
}

function relay(res: Forwarded): Reply {
  if (res.contentType === undefined) return { status: res.statusCode };
  if (/^application\/json/iu.test(res.contentType)) {
    try {
      return json(res.statusCode, JSON.parse(res.body) as unknown);
    } catch {
      return json(500, { error: 'Bad API response from supervisor' });
    }
  }
  if (/^text\/(plain|html)/u.test(res.contentType) && SAFE_TEXT.test(res.body)) return text(res.statusCode, res.body);
  return json(500, { error: 'Bad API response from supervisor' });
}

async function forward(
  target: { url: string; apiKey: string },
  path: string,
  method: string,
  data: unknown,
  dispatcher: Dispatcher,
): Promise<Forwarded> {
  const url = new URL(path, target.url.endsWith('/') ? target.url : `${target.url}/`);
  url.pathname = path;
  url.searchParams.set('apikey', target.apiKey);
  const hasBody = data !== undefined && method !== 'GET' && method !== 'HEAD';
  const res = await request(url, {
    method,
    dispatcher,
    headersTimeout: DEVICE_REQUEST_TIMEOUT_MS,
    bodyTimeout: DEVICE_REQUEST_TIMEOUT_MS,
    ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) } : {}),
  });
  const ct = res.headers['content-type'];
  return { statusCode: res.statusCode, contentType: Array.isArray(ct) ? ct[0] : ct, body: await res.body.text() };
}

/** Handles `POST /supervisor/<path>`; `path` keeps its leading slash. */
export async function supervisorProxy(ctx: SimContext, path: string, dispatcher: Dispatcher): Promise<Reply> {
  if (ctx.actor === undefined) return text(401, 'Unauthorized');
  const body = await readJson(ctx);
  const { appId, deviceId, uuid, data, method: rawMethod } = isObject(body) ? body : {};
  const filters: Array<(row: Row) => boolean> = [];
  if (appId !== undefined && appId !== null) {
    const id = intOrFalse(appId);
    if (id === false) return text(400, 'App ID must be a valid integer if specified');
    filters.push((row) => row['belongs_to__application'] === id);
  }
  if (deviceId !== undefined && deviceId !== null) {
    const id = intOrFalse(deviceId);
    if (id === false) return text(400, 'Device ID must be a valid integer if specified');
    filters.push((row) => row['id'] === id);
  }
  if (uuid !== undefined && uuid !== null) {
    if (typeof uuid !== 'string') return text(400, 'UUID must be a valid string if specified');
    filters.push((row) => row['uuid'] === uuid);
  }
  if (filters.length === 0) return text(400, 'At least one filter must be specified');
  const method = (typeof rawMethod === 'string' ? rawMethod : 'POST').toUpperCase();
  if (!METHODS.has(method)) return text(400, `Invalid method '${method}'`);
  const visible = ctx.store.visible(ctx.actor, 'device', 'read') ?? [];
  const devices = visible.filter((row) => row['is_online'] === true && filters.every((f) => f(row)));
  if (devices.length === 0) return text(404, 'No online device(s) found');
  const target = ctx.supervisor;
  if (target === undefined) return text(502, 'Supervisor unreachable');
  const cleanPath = `/${path.replace(/^\/+/u, '')}`;
  try {
    const responses: Forwarded[] = [];
    for (const _device of devices) responses.push(await forward(target, cleanPath, method, data, dispatcher));
    const [only] = responses;
    if (responses.length === 1 && only !== undefined) return relay(only);
    return json(207, responses.map((r) => ({ statusCode: r.statusCode, body: r.body })));
  } catch {
    return text(502, 'Supervisor unreachable');
  }
}
