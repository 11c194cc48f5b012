/** The cloud simulator's tables, credentials and the permission-filtered view a request sees. */
import { randomUUID } from 'node:crypto';
import type { Graph, Navigation, Row } from './odata-eval.js';
import { ruleFor, type Action, type Actor } from './permissions.js';
import { SCHEMA, schemaOf } from './schema.js';
import type { CloudSeed, SeedUser } from './seed.js';

type MutableRow = Record<string, unknown>;

/** A stored log line of a device. */
export interface StoredLog {
  message: string;
  timestamp: number;
  createdAt: number;
  isSystem?: boolean;
  isStdErr?: boolean;
  serviceId?: number;
}

/** In-memory state of the simulated API. */
export class SimStore {
  private readonly tables = new Map<string, MutableRow[]>();
  private readonly nextIds = new Map<string, number>();
  private readonly deviceKeys = new Map<string, number>();
  private readonly revoked = new Set<number>();
  private readonly users: SeedUser[];
  private readonly sessions = new Map<string, number>();
  readonly logs = new Map<string, StoredLog[]>();

  constructor(private readonly wall: () => number, seed: CloudSeed = {}) {
    for (const name of Object.keys(SCHEMA)) this.tables.set(name, []);
    this.users = [...(seed.users ?? [])];
    this.load(seed);
  }

  private load(seed: CloudSeed): void {
    for (const a of seed.applications ?? []) {
      this.insert('application', {
        id: a.id,
        app_name: a.app_name,
        slug: a.slug ?? a.app_name.toLowerCase(),
        uuid: a.uuid ?? randomUUID().replace(/-/gu, ''),
        device_type: a.device_type ?? 'generic-aarch64',
        is_public: false,
        is_host: false,
        is_archived: false,
      });
    }
    for (const d of seed.devices ?? []) {
      this.insert('device', {
        id: d.id, uuid: d.uuid, device_name: d.device_name, belongs_to__application: d.application,
        note: null, device_type: d.device_type ?? 'generic-aarch64', is_online: d.is_online ?? true,
        status: 'Idle', api_heartbeat_state: d.is_online === false ? 'offline' : 'online', overall_status: 'idle',
        os_version: d.os_version ?? 'balenaOS 6.5.0', os_variant: 'prod', supervisor_version: d.supervisor_version ?? '17.8.0',
        is_frozen: false,
      });
      this.deviceKeys.set(d.apiKey, d.id);
    }
    for (const s of seed.services ?? []) this.insert('service', { ...s });
    for (const t of seed.deviceTags ?? []) this.insert('device_tag', { ...t });
    for (const t of seed.applicationTags ?? []) this.insert('application_tag', { ...t });
    for (const v of seed.deviceEnv ?? []) this.insert('device_environment_variable', { ...v });
    for (const v of seed.applicationEnv ?? []) this.insert('application_environment_variable', { ...v });
    for (const v of seed.deviceConfig ?? []) this.insert('device_config_variable', { ...v });
    for (const v of seed.applicationConfig ?? []) this.insert('application_config_variable', { ...v });
    for (const v of seed.serviceEnv ?? []) this.insert('service_environment_variable', { ...v });
    for (const v of seed.deviceServiceEnv ?? []) {
      const install = this.serviceInstall(v.device, v.service);
      this.insert('device_service_environment_variable', { service_install: install['id'], name: v.name, value: v.value });
    }
  }

  /** The service_install row of a device and service, created on first use. */
  serviceInstall(device: number, service: number): Row {
    const found = this.table('service_install').find((r) => r['device'] === device && r['installs__service'] === service);
    return found ?? this.insert('service_install', { device, installs__service: service });
  }

  /** The mutable rows of a resource (empty for an unknown one). */
  table(resource: string): MutableRow[] {
    return this.tables.get(resource) ?? [];
  }

  /** A row by id. */
  find(resource: string, id: unknown): Row | undefined {
    return this.table(resource).find((r) => r['id'] === id);
  }

  /** Adds a row, assigning `id` and `created_at` when missing. */
  insert(resource: string, row: MutableRow): Row {
    const next = this.nextIds.get(resource) ?? 1;
    const id = typeof row['id'] === 'number' ? row['id'] : next;
    this.nextIds.set(resource, Math.max(next, id + 1));
    const stored: MutableRow = { id, created_at: new Date(this.wall()).toISOString(), ...row };
    stored['id'] = id;
    this.table(resource).push(stored);
    return stored;
  }

  /** Applies `patch` to the row with `id`. */
  update(resource: string, id: unknown, patch: Readonly<Record<string, unknown>>): void {
    const row = this.table(resource).find((r) => r['id'] === id);
    if (row === undefined) return;
    Object.assign(row, patch);
    if (resource === 'device') row['modified_at'] = new Date(this.wall()).toISOString();
  }

  /** Sets `value` on the row whose fields equal `key` (e.g. device and tag_key), inserting it when there is none. */
  upsert(resource: string, key: Readonly<Record<string, unknown>>, value: string): void {
    const row = this.table(resource).find((r) => Object.entries(key).every(([field, v]) => r[field] === v));
    if (row === undefined) this.insert(resource, { ...key, value });
    else if (row['value'] !== value) this.update(resource, row['id'], { value });
  }

  /** Removes the row with `id` and the rows that depend on it. */
  remove(resource: string, id: unknown): void {
    const rows = this.table(resource);
    const index = rows.findIndex((r) => r['id'] === id);
    if (index < 0) return;
    rows.splice(index, 1);
    for (const [name, schema] of Object.entries(SCHEMA)) {
      for (const [field, nav] of Object.entries(schema.navigation)) {
        if (nav.kind !== 'one' || nav.target !== resource) continue;
        for (const dep of this.table(name).filter((r) => r[field] === id)) this.remove(name, dep['id']);
      }
    }
  }

  /** A row whose natural key equals `row`'s, if any (for 409). */
  clash(resource: string, row: Readonly<Record<string, unknown>>, exceptId?: unknown): Row | undefined {
    const unique = schemaOf(resource)?.unique;
    if (unique === undefined) return undefined;
    return this.table(resource).find((r) => r['id'] !== exceptId && unique.every((f) => r[f] === row[f]));
  }

  /** The device row with this uuid. */
  deviceByUuid(uuid: string): Row | undefined {
    return this.table('device').find((r) => r['uuid'] === uuid);
  }

  /** Marks a device deleted/frozen: its key stops working. */
  revoke(deviceId: number): void {
    this.revoked.add(deviceId);
  }

  /** Remembers a session token issued by login. */
  addSession(token: string, userId: number): void {
    this.sessions.set(token, userId);
  }

  /** A user by email or username and password. */
  userByLogin(login: string, password: string): SeedUser | undefined {
    return this.users.find((u) => (u.email === login || u.username === login) && u.password === password);
  }

  /** A user by id. */
  user(id: number): SeedUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  /** Resolves a credential: `undefined` when absent, `'invalid'` when unknown or revoked. */
  actorFor(key: string | undefined): Actor | 'invalid' | undefined {
    if (key === undefined || key === '') return undefined;
    const user = this.users.find((u) => u.apiKey === key) ?? this.user(this.sessions.get(key) ?? -1);
    if (user !== undefined) return { kind: 'user', userId: user.id, username: user.username };
    const deviceId = this.deviceKeys.get(key);
    if (deviceId === undefined || this.revoked.has(deviceId)) return 'invalid';
    const device = this.find('device', deviceId);
    if (device === undefined || device['is_frozen'] === true) return 'invalid';
    return {
      kind: 'device',
      deviceId,
      appId: device['belongs_to__application'] as number,
      uuid: device['uuid'] as string,
    };
  }

  /** The rows of `resource` that `actor` may touch with `action`; `null` = no permission. */
  visible(actor: Actor | undefined, resource: string, action: Action): Row[] | null {
    const rule = ruleFor(actor, resource, action, (r, id) => this.find(r, id));
    return rule === null ? null : this.table(resource).filter(rule);
  }

  /** The model as `actor` sees it, for the OData evaluator. */
  graphFor(actor: Actor | undefined): Graph {
    return {
      fields: (resource) => schemaOf(resource)?.fields,
      navigation: (resource, name) => schemaOf(resource)?.navigation[name],
      related: (_resource: string, row: Row, nav: Navigation): Row[] => {
        const rule = ruleFor(actor, nav.target, 'read', (r, id) => this.find(r, id));
        if (rule === null) return [];
        if (nav.kind === 'one') {
          const target = this.find(nav.target, row[nav.via]);
          return target !== undefined && rule(target) ? [target] : [];
        }
        return this.table(nav.target).filter((r) => r[nav.via] === row['id'] && rule(r));
      },
    };
  }
}
