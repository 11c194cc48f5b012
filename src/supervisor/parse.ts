import { BadResponseError, HttpError, UpdatesLockedError, summariseBody } from '../lib/errors.js';
import { parseJson, type HttpReply } from '../lib/http.js';
import type { ApplicationsState, DeviceTag, LegacyDeviceState, StateStatus } from './types.js';

/** What went wrong with a reply, for messages: `GET /v2/version`. */
type Where = string;

function bad(where: Where, what: string): BadResponseError {
  return new BadResponseError('supervisor', 'BAD_RESPONSE', `supervisor reply to ${where} is not what the API documents: ${what}`);
}

/** Parses a JSON object reply, or throws BadResponseError. */
export function jsonObject(where: Where, text: string): Record<string, unknown> {
  const value = parseJson('supervisor', where, text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(where, 'expected a JSON object');
  return value as Record<string, unknown>;
}

/** `{status:'success', version}` → the raw version string. */
export function versionOf(where: Where, text: string): string {
  const body = jsonObject(where, text);
  if (typeof body.version !== 'string' || body.version === '') throw bad(where, 'no "version" string');
  return body.version;
}

/** `{Data, Error}` of v1 reboot/shutdown/purge; a non-empty Error is a failure. */
export function dataError(where: Where, text: string): void {
  const body = jsonObject(where, text);
  if (!('Data' in body)) throw bad(where, 'no "Data" field');
  if (typeof body.Error === 'string' && body.Error !== '') throw bad(where, `Error: ${body.Error.slice(0, 200)}`);
}

/** `GET /v1/device`. */
export function legacyDeviceState(where: Where, text: string): LegacyDeviceState {
  return jsonObject(where, text);
}

/** `GET /v2/applications/state`: every value must be an app object with services. */
export function applicationsState(where: Where, text: string): ApplicationsState {
  const body = jsonObject(where, text);
  for (const [name, app] of Object.entries(body)) {
    if (!app || typeof app !== 'object' || typeof (app as { services?: unknown }).services !== 'object') {
      throw bad(where, `app "${name.slice(0, 60)}" has no services`);
    }
  }
  return body as ApplicationsState;
}

/** `GET /v2/state/status`. */
export function stateStatus(where: Where, text: string): StateStatus {
  const body = jsonObject(where, text);
  if (typeof body.appState !== 'string' || !Array.isArray(body.containers)) throw bad(where, 'no "appState" or "containers"');
  return body as unknown as StateStatus;
}

/** `GET /v2/containerId` without a query: service name → container id. */
export function containerIds(where: Where, text: string): Record<string, string> {
  const body = jsonObject(where, text);
  const services = body.services;
  if (!services || typeof services !== 'object' || Array.isArray(services)) throw bad(where, 'no "services" object');
  const out: Record<string, string> = {};
  for (const [name, id] of Object.entries(services)) {
    if (typeof id !== 'string') throw bad(where, `service "${name.slice(0, 60)}" has no container id`);
    out[name] = id;
  }
  return out;
}

/** `GET /v2/device/name`. */
export function deviceName(where: Where, text: string): string {
  const body = jsonObject(where, text);
  if (typeof body.deviceName !== 'string') throw bad(where, 'no "deviceName" string');
  return body.deviceName;
}

/** `GET /v2/device/tags`. */
export function deviceTags(where: Where, text: string): DeviceTag[] {
  const body = jsonObject(where, text);
  if (!Array.isArray(body.tags)) throw bad(where, 'no "tags" list');
  return body.tags.map((tag: unknown) => {
    const t = (tag ?? {}) as Record<string, unknown>;
    if (typeof t.name !== 'string' || typeof t.value !== 'string') throw bad(where, 'a tag without name or value');
    return { id: typeof t.id === 'number' ? t.id : 0, name: t.name, value: t.value };
  });
}

/** `GET /v2/device/vpn`. */
export function vpn(where: Where, text: string): { enabled: boolean; connected: boolean } {
  const body = jsonObject(where, text);
  const v = body.vpn as { enabled?: unknown; connected?: unknown } | undefined;
  if (!v || typeof v.enabled !== 'boolean' || typeof v.connected !== 'boolean') throw bad(where, 'no "vpn" {enabled, connected}');
  return { enabled: v.enabled, connected: v.connected };
}

/** Context that sharpens an error message. */
export interface ErrorContext {
  appId?: number;
  service?: string | number;
}

/**
 * Turns a non-2xx reply into a typed error: 423 → UpdatesLockedError with the lock message,
 * 401 → UNAUTHORIZED saying the key was refused (never the key), 404 on a service → NOT_FOUND
 * naming the service, anything else → HttpError with the body's message.
 */
export function replyError(method: string, path: string, reply: HttpReply, ctx: ErrorContext, retryAfterMs?: number): HttpError {
  const base = { peer: 'supervisor' as const, status: reply.status, method, path, body: reply.text, headers: reply.headers, retryAfterMs };
  // the supervisor's own words: `Error` of {Data,Error}, `message` of {status,message}, or the text
  const said = summariseBody(reply.text);
  if (reply.status === 423) return new UpdatesLockedError({ ...base, lockMessage: said });
  if (reply.status === 401) {
    const scope = ctx.appId === undefined ? '' : ` or not valid for app ${ctx.appId}`;
    return new HttpError({ ...base, message: `supervisor refused the API key (401) on ${method} ${path}: the key is wrong${scope}` });
  }
  if (reply.status === 404 && ctx.service !== undefined) {
    const name = typeof ctx.service === 'number' ? `with image id ${ctx.service}` : `"${ctx.service}"`;
    return new HttpError({ ...base, message: `service ${name} not found on this device${said ? ` (supervisor: ${said})` : ''}` });
  }
  return new HttpError(base);
}
