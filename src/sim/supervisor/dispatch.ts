import type { IncomingHttpHeaders } from 'node:http';
import semver from 'semver';
import { keyOf, matchPath, parseBody, type AuthKind } from './http.js';
import { ROUTES, type SimReply, type SimRequest, type SimRoute } from './routes.js';
import type { SimState } from './state.js';

/** One request as it arrived; `raw` is undefined when the body was over the 10 MB limit. */
export interface IncomingSimRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: string | undefined;
}

/** The keys the simulated supervisor accepts: the app-scoped one and an optional global one. */
export interface SimKeys {
  app: string;
  global: string | undefined;
}

/** What the supervisor answered, with what the record shows of the request. */
export interface Dispatched {
  reply: SimReply;
  auth: AuthKind;
  /** The body as recorded (parsed JSON or form, raw text otherwise). */
  body: unknown;
}

const UNAUTHORIZED: SimReply = { status: 401, text: 'Unauthorized', plain: true };

/**
 * Answers one request in the supervisor's middleware order: the open routes (`/ping`,
 * `/v1/healthy`), then the key check (401 text), then the routes registered before the body
 * parsers (`/v1/blink`), then the body parsers (a malformed or oversized body fails through the
 * error middleware as 503 JSON), then the routes this supervisor version has; else Express's 404.
 */
export async function dispatch(req: IncomingSimRequest, keys: SimKeys, state: SimState): Promise<Dispatched> {
  const parsed = parseBody(req.headers['content-type'], req.raw ?? '');
  const auth = keyOf(req.url.searchParams, req.headers, semver.gte(state.version, '11.3.0'));
  const done = (reply: SimReply): Dispatched => ({ reply, auth: auth.kind, body: parsed.recorded });
  const match = findRoute(req.method, req.url.pathname, state.version);
  const request = (scope: SimRequest['scope'], body: Record<string, unknown>): SimRequest => ({
    method: req.method,
    params: match?.params ?? {},
    query: req.url.searchParams,
    body,
    scope,
  });
  if (match && !match.route.auth) return done(await match.route.handle(request('none', {}), state));
  const scope = scopeOf(auth.key, keys);
  if (scope === undefined) return done(UNAUTHORIZED);
  if (match?.route.beforeBodyParsers) return done(await match.route.handle(request(scope, {}), state));
  if (req.raw === undefined) return done({ status: 503, json: { status: 'failed', message: 'request entity too large' } });
  if (parsed.invalid) return done({ status: 503, json: { status: 'failed', message: parsed.problem ?? 'invalid JSON body' } });
  if (!match) return done({ status: 404, text: `Cannot ${req.method} ${req.url.pathname}` });
  return done(await match.route.handle(request(scope, parsed.fields), state));
}

/** The route a supervisor of `version` has for this method and path, with its path parameters. */
function findRoute(method: string, path: string, version: string): { route: SimRoute; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matchPath(route.path, path);
    if (!params) continue;
    return route.since === undefined || semver.gte(version, route.since) ? { route, params } : undefined;
  }
  return undefined;
}

function scopeOf(key: string | undefined, keys: SimKeys): 'app' | 'global' | undefined {
  if (key === undefined) return undefined;
  if (key === keys.app) return 'app';
  if (keys.global !== undefined && key === keys.global) return 'global';
  return undefined;
}
