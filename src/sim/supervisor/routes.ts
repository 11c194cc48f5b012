import type { ServerResponse } from 'node:http';
import semver from 'semver';
import { nonEmptyString, toInt, truthy } from './http.js';
import { recreate, startAfresh, type SimState } from './state.js';
import { appsState, legacyDevice, stateStatus } from './views.js';

/** One request as a route sees it. */
export interface SimRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** `app`: the label-issued key (own app only); `global`: every app; `none`: no auth route. */
  scope: 'app' | 'global' | 'none';
}

/**
 * What a route answers; `stream` writes the reply itself, `after` runs once the reply is sent.
 * A `text` reply is `text/html` like Express's `res.send(string)`, or `text/plain` with
 * `plain` like its `res.sendStatus(code)`.
 */
export interface SimReply {
  status: number;
  json?: unknown;
  text?: string;
  plain?: boolean;
  stream?: (res: ServerResponse) => void;
  after?: (() => Promise<void> | void) | undefined;
}

/** One route: method, path pattern, the version it appeared in, whether it needs a key. */
export interface SimRoute {
  method: string;
  path: string;
  since?: string;
  auth: boolean;
  /** Registered before the body parsers (a malformed body cannot fail it). */
  beforeBodyParsers?: boolean;
  handle: (req: SimRequest, state: SimState) => SimReply | Promise<SimReply>;
}

/** `res.send('OK')`. */
const OK: SimReply = { status: 200, text: 'OK' };
/** `res.sendStatus(200)`. */
const OK_STATUS: SimReply = { status: 200, text: 'OK', plain: true };
const UNAUTHORIZED_JSON: SimReply = { status: 401, json: { status: 'failed', message: 'Unauthorized' } };
const NO_SERVICE_PARAMS = 'serviceName or imageId parameters were not provided or the app is multi-container. Use the v2 service action endpoints.';
const SERVICE_NOT_FOUND = 'Service not found, a container must exist for this endpoint to work';
const APP_NOT_FOUND =
  "App not found: an app needs to be installed for this endpoint to work.\n\tIf you've recently moved this device from another app,\n\tplease push an app and wait for it to be installed first.";
const BAD_TAGS = 'Invalid tags body, must be an object like `{[tagKey: string]: string}`';

function inScope(req: SimRequest, state: SimState, appId: number): boolean {
  return req.scope !== 'app' || appId === state.appId;
}

function failed(status: number, message: string): SimReply {
  return { status, json: { status: 'failed', message } };
}

function lockedV2(req: SimRequest, state: SimState): SimReply | undefined {
  return state.lock !== null && !truthy(req.body.force) ? failed(423, state.lock) : undefined;
}

function deviceAction(kind: 'reboot' | 'shutdown') {
  return (req: SimRequest, state: SimState): SimReply => {
    if (state.lock !== null && !truthy(req.body.force)) return { status: 423, json: { Data: '', Error: state.lock } };
    if (kind === 'shutdown') state.counts.shutdowns += 1;
    state.effect({ kind, force: truthy(req.body.force) });
    return {
      status: 202,
      json: { Data: 'OK', Error: null },
      after: kind === 'reboot' ? () => state.rebooted() : undefined,
    };
  };
}

/** v1 restart/purge: appId from the body. */
function appAction(kind: 'restart' | 'purge') {
  return (req: SimRequest, state: SimState): SimReply => {
    const appId = toInt(req.body.appId);
    if (appId === undefined) return { status: 400, text: kind === 'purge' ? 'Invalid or missing appId' : 'Missing app id' };
    return appEffect(kind, appId, req, state, kind === 'purge' ? { status: 200, json: { Data: 'OK', Error: '' } } : OK);
  };
}

/** v2 restart/purge: appId from the path. */
function appActionV2(kind: 'restart' | 'purge') {
  return (req: SimRequest, state: SimState): SimReply => {
    const appId = toInt(req.params.appId);
    if (!appId) return failed(400, 'Missing app id');
    return appEffect(kind, appId, req, state, OK);
  };
}

function appEffect(kind: 'restart' | 'purge', appId: number, req: SimRequest, state: SimState, ok: SimReply): SimReply {
  if (!inScope(req, state, appId)) return UNAUTHORIZED_JSON;
  if (appId !== state.appId) return failed(503, `Application with ID ${appId} is not in the current state`);
  const locked = lockedV2(req, state);
  if (locked) return locked;
  if (kind === 'purge') state.counts.purges += 1;
  else state.counts.restarts += 1;
  for (const s of state.services) recreate(state, s);
  state.effect({ kind, force: truthy(req.body.force) });
  return ok;
}

/**
 * v2 service actions: a name or an image id is required (400 text otherwise); a single-service
 * app acts on its one service whatever it names; a multi-service app matches either field.
 */
function serviceAction(action: 'restart' | 'stop' | 'start') {
  return (req: SimRequest, state: SimState): SimReply => {
    const appId = toInt(req.params.appId);
    if (!appId) return failed(400, 'Invalid app id');
    if (!inScope(req, state, appId)) return UNAUTHORIZED_JSON;
    const imageId = toInt(req.body.imageId);
    const byName = semver.gte(state.version, '8.2.2') ? nonEmptyString(req.body.serviceName) : undefined;
    if (!imageId && byName === undefined) return { status: 400, text: NO_SERVICE_PARAMS };
    if (appId !== state.appId || state.services.length === 0) return { status: 404, text: APP_NOT_FOUND };
    const service =
      state.services.length === 1 ? state.services[0] : state.services.find((s) => s.imageId === imageId || s.name === byName);
    if (!service) return { status: 404, text: SERVICE_NOT_FOUND };
    if (action !== 'start') {
      const locked = lockedV2(req, state);
      if (locked) return locked;
    }
    if (action === 'restart') recreate(state, service);
    else if (action === 'stop') service.status = 'exited';
    else if (service.status !== 'Running') startAfresh(service);
    state.effect({ kind: `${action}-service`, service: service.name, force: truthy(req.body.force) });
    return OK;
  };
}

async function patchTags(req: SimRequest, state: SimState): Promise<SimReply> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.body)) {
    if (typeof value !== 'string') return failed(400, BAD_TAGS);
    if (/\s/.test(key)) return failed(400, 'Tag keys cannot contain whitespace');
    tags[key] = value;
  }
  try {
    await state.onTagsPatch?.(tags);
  } catch (err) {
    return failed(500, (err as Error).message);
  }
  for (const [name, value] of Object.entries(tags)) {
    const existing = state.tags.find((t) => t.name === name);
    if (existing) existing.value = value;
    else state.tags.push({ id: state.tags.reduce((max, t) => Math.max(max, t.id), 0) + 1, name, value });
  }
  return { status: 202, json: { status: 'success' } };
}

/** A journalctl time string (`@<seconds>[.<fraction>]` or a date) as epoch µs, or undefined when absent or unreadable. */
function journalTime(value: unknown): number | undefined {
  const epoch = typeof value === 'string' ? /^@(\d+)(?:\.(\d{1,6}))?$/.exec(value) : null;
  if (epoch) return Number(epoch[1]) * 1_000_000 + Number((epoch[2] ?? '').padEnd(6, '0'));
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms * 1000;
}

/** `POST /v2/journal-logs`: `format` is read from 10.3.0, `since`/`until` from 14.7.0 (older ones ignore them). */
function journalLogs(req: SimRequest, state: SimState): SimReply {
  const count = toInt(req.body.count);
  const timed = semver.gte(state.version, '14.7.0');
  const query = {
    follow: truthy(req.body.follow),
    count: count !== undefined && count > 0 ? count : undefined,
    unit: typeof req.body.unit === 'string' ? req.body.unit : undefined,
    identifier: typeof req.body.containerId === 'string' ? req.body.containerId : undefined,
    format: semver.gte(state.version, '10.3.0') && typeof req.body.format === 'string' ? req.body.format : 'short',
    sinceUs: timed ? journalTime(req.body.since) : undefined,
    untilUs: timed ? journalTime(req.body.until) : undefined,
  };
  if (state.journal.refusing) return { status: 503, text: 'journal unavailable' };
  return { status: 200, stream: (res) => state.journal.serve(res, query) };
}

/** Every route the simulator answers (CONTRACT §2.2); anything else is 404. */
export const ROUTES: readonly SimRoute[] = [
  { method: 'GET', path: '/ping', auth: false, handle: () => OK },
  { method: 'GET', path: '/v1/healthy', since: '6.5.0', auth: false, handle: (_r, s) => (s.healthy ? OK_STATUS : { status: 500, text: 'Unhealthy' }) },
  { method: 'POST', path: '/v1/blink', auth: true, beforeBodyParsers: true, handle: (_r, s) => ((s.counts.blinks += 1), s.effect({ kind: 'blink', force: false }), OK_STATUS) },
  {
    method: 'POST', path: '/v1/update', auth: true,
    handle: (req, s) => {
      if (!truthy(req.body.force) && !s.instantUpdates) return { status: 202, text: 'Accepted', plain: true };
      s.counts.updates += 1;
      s.effect({ kind: 'update', force: truthy(req.body.force) });
      return { status: 204 };
    },
  },
  { method: 'POST', path: '/v1/reboot', auth: true, handle: deviceAction('reboot') },
  { method: 'POST', path: '/v1/shutdown', auth: true, handle: deviceAction('shutdown') },
  { method: 'POST', path: '/v1/purge', auth: true, handle: appAction('purge') },
  { method: 'POST', path: '/v1/restart', auth: true, handle: appAction('restart') },
  { method: 'GET', path: '/v1/device', since: '1.6.0', auth: true, handle: (_r, s) => ({ status: 200, json: legacyDevice(s) }) },
  { method: 'POST', path: '/v2/applications/:appId/restart-service', since: '7.0.0', auth: true, handle: serviceAction('restart') },
  { method: 'POST', path: '/v2/applications/:appId/stop-service', since: '7.0.0', auth: true, handle: serviceAction('stop') },
  { method: 'POST', path: '/v2/applications/:appId/start-service', since: '7.0.0', auth: true, handle: serviceAction('start') },
  { method: 'POST', path: '/v2/applications/:appId/restart', since: '7.0.0', auth: true, handle: appActionV2('restart') },
  { method: 'POST', path: '/v2/applications/:appId/purge', since: '7.0.0', auth: true, handle: appActionV2('purge') },
  { method: 'GET', path: '/v2/applications/state', since: '7.12.0', auth: true, handle: (_r, s) => ({ status: 200, json: appsState(s) }) },
  { method: 'GET', path: '/v2/state/status', since: '9.7.0', auth: true, handle: (_r, s) => ({ status: 200, json: stateStatus(s) }) },
  { method: 'GET', path: '/v2/device/name', since: '9.11.0', auth: true, handle: (_r, s) => ({ status: 200, json: { status: 'success', deviceName: s.deviceName } }) },
  { method: 'GET', path: '/v2/device/tags', since: '9.11.0', auth: true, handle: (_r, s) => ({ status: 200, json: { status: 'success', tags: s.tags } }) },
  { method: 'PATCH', path: '/v2/device/tags', since: '17.8.0', auth: true, handle: patchTags },
  { method: 'GET', path: '/v2/device/vpn', since: '11.4.0', auth: true, handle: (_r, s) => ({ status: 200, json: { status: 'success', vpn: s.vpn } }) },
  { method: 'GET', path: '/v2/version', since: '7.21.0', auth: true, handle: (_r, s) => ({ status: 200, json: { status: 'success', version: s.version } }) },
  {
    method: 'GET', path: '/v2/containerId', since: '8.6.0', auth: true,
    handle: (req, s) => {
      const name = req.query.get('serviceName') ?? req.query.get('service');
      const ids = Object.fromEntries(s.services.map((svc) => [svc.name, svc.containerId]));
      if (name === null) return { status: 200, json: { status: 'success', services: ids } };
      const id = ids[name];
      return id === undefined ? failed(503, 'Could not find service with that name') : { status: 200, json: { status: 'success', containerId: id } };
    },
  },
  { method: 'POST', path: '/v2/journal-logs', since: '10.2.0', auth: true, handle: journalLogs },
];
