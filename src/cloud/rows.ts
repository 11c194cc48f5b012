import { BadResponseError } from '../lib/errors.js';
import type { DeviceRecord, VariableRow } from './types.js';

/** A JSON object row, loosely typed until read field by field. */
export type Row = Record<string, unknown>;

/** The `d` list of an OData reply; anything else is a bad response. */
export function rowsOf(body: unknown, where: string): Row[] {
  const d = body && typeof body === 'object' ? (body as { d?: unknown }).d : undefined;
  if (!Array.isArray(d)) throw new BadResponseError('cloud', 'BAD_RESPONSE', `cloud reply to ${where} has no "d" list`);
  return d.filter((row): row is Row => row !== null && typeof row === 'object' && !Array.isArray(row));
}

/** An expanded navigation: pine answers a list (usually of one); accept a bare object too. */
export function expanded(row: Row, field: string): Row[] {
  const value = row[field];
  if (Array.isArray(value)) return value.filter((r): r is Row => r !== null && typeof r === 'object');
  if (value && typeof value === 'object') return [value as Row];
  return [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** `{tag_key, value}` (or `{name, value}`) rows as a map; rows without a key are skipped. */
export function pairs(rows: readonly Row[], keyField: 'tag_key' | 'name'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of rows) {
    const key = text(row[keyField]);
    if (key !== undefined) out[key] = text(row.value) ?? '';
  }
  return out;
}

/** Variable rows (`name`, `value`, optional service name). */
export function variableRows(rows: readonly Row[], serviceOf?: (row: Row) => string | undefined): VariableRow[] {
  const out: VariableRow[] = [];
  for (const row of rows) {
    const name = text(row.name);
    if (name === undefined) continue;
    const service = serviceOf?.(row);
    out.push({ name, value: text(row.value) ?? '', ...(service !== undefined ? { service } : {}) });
  }
  return out;
}

/** The service name of a fleet service variable row (`service($select=service_name)` expanded). */
export function fleetServiceName(row: Row): string | undefined {
  return text(expanded(row, 'service')[0]?.service_name);
}

/** The service name of a device service variable row (`service_install` → `installs__service`). */
export function deviceServiceName(row: Row): string | undefined {
  const install = expanded(row, 'service_install')[0];
  return install ? text(expanded(install, 'installs__service')[0]?.service_name) : undefined;
}

/** A device row (with `belongs_to__application` expanded, or as a `{__id}` reference) as a record. */
export function deviceRecord(row: Row, where: string): DeviceRecord {
  const id = row.id;
  const uuid = text(row.uuid);
  const app = expanded(row, 'belongs_to__application')[0];
  const appId = app?.id ?? app?.__id;
  if (typeof id !== 'number' || uuid === undefined || typeof appId !== 'number') {
    throw new BadResponseError('cloud', 'BAD_RESPONSE', `cloud reply to ${where} lacks the device id, uuid or fleet`);
  }
  const appName = text(app?.app_name);
  const supervisorVersion = text(row.supervisor_version);
  const osVersion = text(row.os_version);
  return {
    id,
    uuid,
    deviceName: text(row.device_name) ?? '',
    appId,
    ...(appName !== undefined ? { appName } : {}),
    ...(supervisorVersion !== undefined ? { supervisorVersion } : {}),
    ...(osVersion !== undefined ? { osVersion } : {}),
    ...(typeof row.is_online === 'boolean' ? { isOnline: row.is_online } : {}),
  };
}
