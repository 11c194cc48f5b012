/** Dispatches a cloud simulator request to its route by method and path. */
import type { Dispatcher } from 'undici';
import { text, type Reply, type SimContext } from './http.js';
import { supervisorProxy } from './proxy.js';
import { logBatch, logStream, patchTagsV3, readLogs, type LogRateState } from './routes-device.js';
import { handlePine } from './routes-pine.js';
import { actorWhoami, login, refreshToken, userWhoami } from './routes-user.js';

/** Per-server state the routes share. */
export interface RouterDeps {
  readonly dispatcher: Dispatcher;
  readonly logRate: LogRateState;
}

const NOT_FOUND: Reply = text(404, 'Not Found');

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Routes one request; unknown routes are 404, wrong methods on known routes 405. */
export async function routeRequest(ctx: SimContext, deps: RouterDeps): Promise<Reply> {
  const { method, path } = ctx;
  if (path.startsWith('/v7/')) return handlePine(ctx, path.slice('/v7/'.length));
  if (path.startsWith('/supervisor/')) {
    return method === 'POST' ? supervisorProxy(ctx, path.slice('/supervisor'.length), deps.dispatcher) : NOT_FOUND;
  }
  const logs = /^\/device\/v2\/([^/]+)\/(log-stream|logs)$/u.exec(path);
  if (logs !== null) {
    const uuid = decodeSegment(logs[1] ?? '');
    if (logs[2] === 'log-stream') return method === 'POST' ? logStream(ctx, uuid) : NOT_FOUND;
    if (method === 'POST') return logBatch(ctx, uuid, deps.logRate);
    return method === 'GET' ? readLogs(ctx, uuid) : NOT_FOUND;
  }
  const route = `${method} ${path}`;
  switch (route) {
    case 'PATCH /device/v3/tags':
      return patchTagsV3(ctx);
    case 'POST /login_':
      return login(ctx);
    case 'GET /actor/v1/whoami':
      return actorWhoami(ctx);
    case 'GET /user/v1/whoami':
      return userWhoami(ctx);
    case 'GET /user/v1/refresh-token':
      return refreshToken(ctx);
    case 'GET /ping':
      return text(200, 'OK');
    default:
      return NOT_FOUND;
  }
}
