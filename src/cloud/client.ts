import { AgentError, HttpError } from '../lib/errors.js';
import { parseJson } from '../lib/http.js';
import { expandItem, literal, queryString, type QueryOption } from './query.js';
import { deviceRecord, deviceServiceName, expanded, fleetServiceName, pairs, rowsOf, variableRows, type Row } from './rows.js';
import type { DeviceRecord, EffectiveVariables, PollSnapshot } from './types.js';
import { CloudTransport, type TransportOptions } from './transport.js';
import { mergeVariables } from './variables.js';

export type { DeviceRecord, EffectiveVariables, PollSnapshot } from './types.js';

/** How the device-key client is built; every dependency injected. */
export interface CloudClientOptions extends TransportOptions {
  deviceUuid: string;
}

export { KEY_REVOKED } from './transport.js';

const DEVICE_FIELDS = 'id,uuid,device_name,supervisor_version,os_version,is_online';

/**
 * The balena API with the device's own key (CONTRACT §4): one request per poll, tag upserts,
 * variables, and manners — a request ceiling, Retry-After holds, bounded full-jitter retries,
 * timeouts and a reply size cap. Errors are typed and never carry the key.
 */
export class CloudClient {
  private readonly opts: CloudClientOptions;
  private readonly transport: CloudTransport;
  private ids: { id: number; appId: number } | undefined;
  private bulkMissing = false;

  constructor(opts: CloudClientOptions) {
    this.opts = opts;
    this.transport = new CloudTransport(opts);
  }

  /** Requests actually sent (retries included); for the benchmark. */
  requestsSent(): number {
    return this.transport.requestsSent();
  }

  /** Requests sent, by outcome (for `fleet_agent_cloud_requests_total`). */
  requestOutcomes(): { ok: number; error: number; rate_limited: number } {
    return this.transport.requestOutcomes();
  }

  /** The monotonic instant before which no request is sent (0 when there is no hold). */
  notBefore(): number {
    return this.transport.notBefore();
  }

  /** Epoch ms of the cloud's `Date` header on the latest reply, if any. */
  lastServerDate(): number | undefined {
    return this.transport.lastServerDate();
  }

  /** The own device, by uuid; a filtered miss is NOT_FOUND. */
  async device(signal?: AbortSignal): Promise<DeviceRecord> {
    const path = `${this.devicePath()}${queryString([
      ['$select', DEVICE_FIELDS],
      ['$expand', expandItem('belongs_to__application', [['$select', 'id,app_name']])],
    ])}`;
    const row = await this.ownDeviceRow(path, signal);
    return this.remember(deviceRecord(row, 'GET /v7/device'));
  }

  /** Device, tags, device variables, fleet tags and fleet variables in ONE request. */
  async poll(opts: { tagPrefix?: string; signal?: AbortSignal } = {}): Promise<PollSnapshot> {
    const tagOptions = (): QueryOption[] => [
      ['$select', 'tag_key,value'],
      ...(opts.tagPrefix ? [['$filter', `startswith(tag_key,${literal(opts.tagPrefix)})`] as const] : []),
    ];
    const vars: QueryOption[] = [['$select', 'name,value']];
    const app = expandItem('belongs_to__application', [
      ['$select', 'id,app_name'],
      ['$expand', `${expandItem('application_tag', tagOptions())},${expandItem('application_environment_variable', vars)}`],
    ]);
    const path = `${this.devicePath()}${queryString([
      ['$select', DEVICE_FIELDS],
      ['$expand', `${expandItem('device_tag', tagOptions())},${expandItem('device_environment_variable', vars)},${app}`],
    ])}`;
    const row = await this.ownDeviceRow(path, opts.signal);
    const device = this.remember(deviceRecord(row, 'GET /v7/device'));
    const fleet = expanded(row, 'belongs_to__application')[0] ?? {};
    return {
      device,
      deviceTags: pairs(expanded(row, 'device_tag'), 'tag_key'),
      fleetTags: pairs(expanded(fleet, 'application_tag'), 'tag_key'),
      deviceVars: pairs(expanded(row, 'device_environment_variable'), 'name'),
      fleetVars: pairs(expanded(fleet, 'application_environment_variable'), 'name'),
    };
  }

  /** The own device's tags. */
  async tags(signal?: AbortSignal): Promise<Record<string, string>> {
    const { id } = await this.deviceIds(signal);
    const reply = await this.getJson(`/v7/device_tag${queryString([['$filter', `device eq ${id}`], ['$select', 'tag_key,value']])}`, signal);
    return pairs(reply, 'tag_key');
  }

  /** Creates or updates one tag: POST, and on a unique clash (409) PATCH by natural key. */
  async setTag(key: string, value: string, signal?: AbortSignal): Promise<void> {
    checkTagKey(key);
    const { id } = await this.deviceIds(signal);
    try {
      await this.transport.call({ method: 'POST', path: '/v7/device_tag', json: { device: id, tag_key: key, value }, signal });
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 409 && /unique/i.test(err.body))) throw err;
      await this.transport.call({ method: 'PATCH', path: `/v7/device_tag(device=${id},tag_key=${literal(key)})`, json: { value }, signal });
    }
  }

  /** Sets several tags in one `PATCH /device/v3/tags`; where that route is missing (404), one upsert per key. */
  async setTags(tags: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<void> {
    const entries = Object.entries(tags);
    if (entries.length === 0) return;
    for (const [key] of entries) checkTagKey(key);
    if (!this.bulkMissing) {
      try {
        await this.transport.call({ method: 'PATCH', path: '/device/v3/tags', json: { [this.opts.deviceUuid]: tags }, signal });
        return;
      } catch (err) {
        if (!(err instanceof HttpError && err.status === 404)) throw err;
        this.bulkMissing = true;
      }
    }
    for (const [key, value] of entries) await this.setTag(key, value, signal);
  }

  /** Removes one tag (nothing happens when it does not exist). */
  async removeTag(key: string, signal?: AbortSignal): Promise<void> {
    checkTagKey(key);
    const { id } = await this.deviceIds(signal);
    await this.transport.call({ method: 'DELETE', path: `/v7/device_tag${queryString([['$filter', `device eq ${id} and tag_key eq ${literal(key)}`]])}`, signal });
  }

  /** Device, fleet, service and config variables merged as they apply to `serviceName` (CONTRACT §4.4). */
  async variables(serviceName?: string, signal?: AbortSignal): Promise<EffectiveVariables> {
    const { id, appId } = await this.deviceIds(signal);
    const byDevice: QueryOption[] = [['$filter', `device eq ${id}`], ['$select', 'name,value']];
    const byFleet: QueryOption[] = [['$filter', `application eq ${appId}`], ['$select', 'name,value']];
    const [device, deviceConfig, fleet, fleetConfig, fleetService, deviceService] = await Promise.all([
      this.getJson(`/v7/device_environment_variable${queryString(byDevice)}`, signal),
      this.getJson(`/v7/device_config_variable${queryString(byDevice)}`, signal),
      this.getJson(`/v7/application_environment_variable${queryString(byFleet)}`, signal),
      this.getJson(`/v7/application_config_variable${queryString(byFleet)}`, signal),
      this.getJson(
        `/v7/service_environment_variable${queryString([
          ['$filter', `service/any(s:s/application eq ${appId})`],
          ['$expand', expandItem('service', [['$select', 'service_name']])],
        ])}`,
        signal,
      ),
      this.getJson(
        `/v7/device_service_environment_variable${queryString([
          ['$filter', `service_install/any(si:si/device eq ${id})`],
          ['$expand', expandItem('service_install', [['$expand', expandItem('installs__service', [['$select', 'id,service_name']])]])],
        ])}`,
        signal,
      ),
    ]);
    return mergeVariables(
      {
        device: variableRows(device),
        fleet: variableRows(fleet),
        deviceService: variableRows(deviceService, deviceServiceName),
        fleetService: variableRows(fleetService, fleetServiceName),
        deviceConfig: variableRows(deviceConfig),
        fleetConfig: variableRows(fleetConfig),
      },
      serviceName,
    );
  }

  private devicePath(): string {
    return `/v7/device(uuid=${literal(this.opts.deviceUuid)})`;
  }

  private remember(device: DeviceRecord): DeviceRecord {
    this.ids = { id: device.id, appId: device.appId };
    return device;
  }

  private async deviceIds(signal?: AbortSignal): Promise<{ id: number; appId: number }> {
    if (this.ids) return this.ids;
    const device = await this.device(signal);
    return { id: device.id, appId: device.appId };
  }

  private async ownDeviceRow(path: string, signal?: AbortSignal): Promise<Row> {
    const rows = await this.getJson(path, signal);
    const row = rows[0];
    if (!row) {
      throw new HttpError({
        peer: 'cloud',
        status: 404,
        method: 'GET',
        path: '/v7/device',
        body: '',
        message: `device ${this.opts.deviceUuid.slice(0, 7)} not visible to this key (no such device, or the key belongs to another device)`,
      });
    }
    return row;
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<Row[]> {
    const reply = await this.transport.call({ method: 'GET', path, signal });
    const where = `GET ${path.split('?')[0] ?? path}`;
    return rowsOf(this.transport.clean(() => parseJson('cloud', where, reply.text)), where);
  }
}

/** Tag keys the API accepts: 1–100 characters, no whitespace, not in the reserved namespaces. */
export function checkTagKey(key: string): void {
  if (key.length < 1 || key.length > 100 || /\s/.test(key) || /^(io\.resin\.|io\.balena\.)/.test(key)) {
    throw new AgentError('BAD_REQUEST', `invalid tag key "${key.slice(0, 40)}": 1–100 characters, no whitespace, not starting with io.balena. or io.resin.`);
  }
}
