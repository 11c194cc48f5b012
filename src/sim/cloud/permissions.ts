/**
 * Who may do what in the cloud simulator: operators (users) see every seeded fleet; a device key
 * has the device permissions of the real API (own device, own fleet read-only, no config-var
 * delete, other devices invisible).
 */
import type { Row } from './odata-eval.js';

/** The credential behind a request. */
export type Actor =
  | { readonly kind: 'user'; readonly userId: number; readonly username: string }
  | { readonly kind: 'device'; readonly deviceId: number; readonly appId: number; readonly uuid: string };

/** A write or read on a resource. */
export type Action = 'read' | 'create' | 'update' | 'delete';

/** Looks rows up by id, for ownership checks through links. */
export type Lookup = (resource: string, id: unknown) => Row | undefined;

/** A row filter; `null` means "no permission at all" (the real API's 401). */
export type RowRule = ((row: Row) => boolean) | null;

const FLEET_READABLE = new Set([
  'application_tag',
  'application_environment_variable',
  'application_config_variable',
  'service',
]);

const OWN_DEVICE_CHILDREN = new Set(['device_tag', 'device_environment_variable', 'device_config_variable', 'service_install']);

function deviceRule(actor: Extract<Actor, { kind: 'device' }>, resource: string, action: Action, lookup: Lookup): RowRule {
  const own = (id: unknown): boolean => id === actor.deviceId;
  if (resource === 'device') {
    return action === 'read' || action === 'update' ? (row) => own(row['id']) : null;
  }
  if (OWN_DEVICE_CHILDREN.has(resource)) {
    if (action === 'delete' && resource === 'device_config_variable') return null;
    return (row) => own(row['device']);
  }
  if (resource === 'device_service_environment_variable') {
    const install = (row: Row): Row | undefined => lookup('service_install', row['service_install']);
    if (action !== 'create') return (row) => own(install(row)?.['device']);
    // Created only for a service of its own fleet.
    return (row) => own(install(row)?.['device']) && lookup('service', install(row)?.['installs__service'])?.['application'] === actor.appId;
  }
  if (action !== 'read') return null;
  if (resource === 'application') return (row) => row['id'] === actor.appId;
  if (FLEET_READABLE.has(resource)) return (row) => row['application'] === actor.appId;
  if (resource === 'service_environment_variable') {
    return (row) => lookup('service', row['service'])?.['application'] === actor.appId;
  }
  return null;
}

/** The rows of `resource` that `actor` may touch with `action`, as a predicate (or null = none). */
export function ruleFor(actor: Actor | undefined, resource: string, action: Action, lookup: Lookup): RowRule {
  if (actor === undefined) return null;
  if (actor.kind === 'user') return () => true;
  return deviceRule(actor, resource, action, lookup);
}

/** Whether `actor` may use the supervisor proxy / write logs for the device `row`. */
export function mayActOnDevice(actor: Actor | undefined, device: Row): boolean {
  if (actor === undefined) return false;
  return actor.kind === 'user' || device['id'] === actor.deviceId;
}
