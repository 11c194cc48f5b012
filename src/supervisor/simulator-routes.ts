import type { ServerResponse } from 'node:http';
import semver from 'semver';
import type { SimJournal } from './simulator-journal.js';
import { toInt, truthy } from './simulator-http.js';

/** A service of the simulated app. */
export interface SimService {
  name: string;
  imageId: number;
  serviceId: number;
  /** Default `Running`. */
  status?: string;
}

/** The simulated device as the routes read and change it. */
export interface SimState {
  appId: number;
  appName: string;
  appUuid: string;
  commit: string;
  releaseId: number;
  version: string;
  services: SimService[];
  deviceName: string;
  instantUpdates: boolean;
  lock: string | null;
  healthy: boolean;
  tags: Array<{ id: number; name: string; value: string }>;
  vpn: { enabled: boolean; connected: boolean };
  counts: { reboots: number; shutdowns: number; updates: number; blinks: number; purges: number; restarts: number };
  journal: SimJournal;
  onTagsPatch: ((tags: Record<string, string>) => void | Promise<void>) | undefined;
  /** Runs after a successful reboot reply has been sent. */
  rebooted: () => Promise<void>;
}

/** One request as a route sees it. */
export interface SimRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** `app`: the label-issued key (own app only); `global`: every app; `none`: no auth route. */
  scope: 'app' | 'global' | 'none';
}

/** What a route answers; `stream` writes the reply itself, `after` runs once the reply is sent. */
export interface SimReply {
  status: number;
  json?: unknown;
  text?: string;
  stream?: (res: ServerResponse) => void;
  after?: (() => Promise<void> | void) | undefined;
}

/** One route: method, path pattern, the version it appeared in, whether it needs a key. */
export interface SimRoute {
  method: string;
  path: string;
  since?: string;
  auth: boolean;
  handle: (req: SimRequest, state: SimState) => SimReply | Promise<SimReply>;
}

const OK: SimReply = { status: 200, text: 'OK' };
const UNAUTHORIZED_JSON: SimReply = { status: 401, json: { status: 'failed', message: 'Unauthorized' } };
const NO_SERVICE_PARAMS = 'serviceName or imageId parameters were not provided or the app is multi-container. Use the v2 service action endpoints';
const SERVICE_NOT_FOUND = 'Service not found, a container must exist for this endpoint to work';

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
    if (appId === undefined) return failed(400, 'Missing app id');
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
  for (const s of state.services) s.status = 'Running';
  return ok;
}

function serviceAction(action: 'restart' | 'stop' | 'start') {
  return (req: SimRequest, state: SimState): SimReply => {
    const appId = toInt(req.params.appId);
    if (appId === undefined) return failed(400, 'Invalid app id');
    if (!inScope(req, state, appId)) return UNAUTHORIZED_JSON;
    if (appId !== state.appId || state.services.length === 0) return { status: 404, text: `App not found: ${appId}` };
    const imageId = toInt(req.body.imageId);
    const byName = semver.gte(state.version, '8.2.2') && typeof req.body.serviceName === 'string' ? req.body.serviceName : undefined;
    let service;
    if (imageId !== undefined) service = state.services.find((s) => s.imageId === imageId);
    else if (byName !== undefined) service = state.services.find((s) => s.name === byName);
    else if (state.services.length === 1) service = state.services[0];
    else return { status: 400, text: NO_SERVICE_PARAMS };
    if (!service) return { status: 404, text: SERVICE_NOT_FOUND };
    if (action !== 'start') {
      const locked = lockedV2(req, state);
      if (locked) return locked;
    }
    service.status = action === 'stop' ? 'exited' : 'Running';
    return OK;
  };
}

function appsState(state: SimState) {
  return {
    [state.appName]: {
      appId: state.appId,
      appUuid: state.appUuid,
      commit: state.commit,
      updateStatus: 'done',
      services: Object.fromEntries(
        state.services.map((s) => [s.name, { status: s.status ?? 'Running', image: `registry/${s.name}:${s.imageId}`, downloadProgress: null, releaseId: state.releaseId }]),
      ),
    },
  };
}

function stateStatus(state: SimState) {
  return {
    status: 'success',
    appState: 'applied',
    overallDownloadProgress: null,
    containers: state.services.map((s) => ({
      status: s.status ?? 'Running',
      serviceName: s.name,
      appId: state.appId,
      imageId: s.imageId,
      serviceId: s.serviceId,
      containerId: `${s.name}-${s.imageId}`.padEnd(12, '0'),
      createdAt: '2026-01-01T00:00:00.000Z',
    })),
    images: state.services.map((s) => ({
      name: `registry/${s.name}:${s.imageId}`,
      appId: state.appId,
      serviceName: s.name,
      imageId: s.imageId,
      dockerImageId: `sha256:${String(s.imageId).padStart(64, '0')}`,
      status: 'Downloaded',
      downloadProgress: null,
    })),
    release: state.commit,
  };
}

function legacyDevice(state: SimState) {
  const first = state.services[0]?.status ?? 'Running';
  return {
    api_port: 48484,
    ip_address: '192.168.1.42 10.114.104.1',
    mac_address: '02:42:AC:11:00:02',
    os_version: 'balenaOS 6.0.0',
    supervisor_version: state.version,
    update_pending: false,
    update_downloaded: false,
    update_failed: false,
    commit: state.commit,
    status: first === 'Running' ? 'Idle' : first,
    download_progress: null,
  };
}

async function patchTags(req: SimRequest, state: SimState): Promise<SimReply> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.body)) {
    if (typeof value !== 'string') return failed(400, `Tag value for ${key} must be a string`);
    if (/\s/.test(key)) return failed(400, `Tag key "${key}" must not contain whitespace`);
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

function journalLogs(req: SimRequest, state: SimState): SimReply {
  const count = toInt(req.body.count);
  const since = typeof req.body.since === 'string' ? Date.parse(req.body.since) : Number.NaN;
  const query = {
    follow: truthy(req.body.follow),
    count: count !== undefined && count > 0 ? count : undefined,
    unit: typeof req.body.unit === 'string' ? req.body.unit : undefined,
    format: typeof req.body.format === 'string' ? req.body.format : 'short',
    sinceMs: Number.isNaN(since) ? undefined : since,
  };
  return { status: 200, stream: (res) => state.journal.serve(res, query) };
}

/** Every route the simulator answers (CONTRACT §2.2); anything else is 404. */
export const ROUTES: readonly SimRoute[] = [
  { method: 'GET', path: '/ping', auth: false, handle: () => OK },
  { method: 'GET', path: '/v1/healthy', since: '6.5.0', auth: false, handle: (_r, s) => (s.healthy ? OK : { status: 500, text: 'Unhealthy' }) },
  { method: 'POST', path: '/v1/blink', auth: true, handle: (_r, s) => ((s.counts.blinks += 1), OK) },
  {
    method: 'POST', path: '/v1/update', auth: true,
    handle: (req, s) => {
      if (!truthy(req.body.force) && !s.instantUpdates) return { status: 202 };
      s.counts.updates += 1;
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
      const ids = Object.fromEntries(s.services.map((svc) => [svc.name, `${svc.name}-${svc.imageId}`.padEnd(12, '0')]));
      if (name === null) return { status: 200, json: { status: 'success', services: ids } };
      const id = ids[name];
      return id === undefined ? failed(503, 'Could not find service with that name') : { status: 200, json: { status: 'success', containerId: id } };
    },
  },
  { method: 'POST', path: '/v2/journal-logs', since: '10.2.0', auth: true, handle: journalLogs },
];
