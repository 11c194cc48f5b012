import type { Dispatcher } from 'undici';
import { HttpError, UnreachableError, UnsupportedError } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';
import { parseRetryAfter } from '../lib/backoff.js';
import { send, type HttpReply, type HttpTarget, type RequestSpec } from '../lib/http.js';
import { redactor } from '../lib/redact.js';
import * as parse from './parse.js';
import { openJournal } from './journal-stream.js';
import { PRE_VERSION_ENDPOINT, parseSupervisorVersion, requireGate, supports } from './version.js';
import type { ApplicationsState, DeviceTag, JournalLogsOptions, LegacyDeviceState, ServiceAction, StateStatus } from './types.js';

export type { ServiceAction } from './types.js';

/** What a SupervisorClient needs: where the supervisor is, the key, the app it is scoped to. */
export interface SupervisorClientOptions {
  baseUrl: string;
  apiKey: string;
  appId: number;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

interface Call {
  method: RequestSpec['method'];
  path: string;
  json?: unknown;
  auth: boolean;
  signal?: AbortSignal | undefined;
  ctx?: parse.ErrorContext;
}

/** Default per-request timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** One typed method per endpoint of the local supervisor API (CONTRACT §2.2). */
export class SupervisorClient {
  private readonly opts: SupervisorClientOptions;
  /** Where every request goes, with the timeout filled in. */
  private readonly target: HttpTarget;
  private versionProbe: Promise<string> | undefined;
  /** Hides the key (also URL-encoded), `apikey=` values and `Bearer` credentials in what a reply echoes. */
  private readonly hide: (text: string) => string;

  constructor(opts: SupervisorClientOptions) {
    this.opts = opts;
    this.hide = redactor([opts.apiKey]);
    this.target = { peer: 'supervisor', baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, dispatcher: opts.dispatcher };
  }

  /** The app the key is scoped to. */
  get appId(): number {
    return this.opts.appId;
  }

  /** `GET /ping` (no auth): resolves when the supervisor answers 2xx. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'GET', path: '/ping', auth: false, signal });
  }

  /** `GET /v1/healthy` (no auth): true on 2xx, false on 500 "Unhealthy". */
  async healthy(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.call({ method: 'GET', path: '/v1/healthy', auth: false, signal });
      return true;
    } catch (err) {
      if (err instanceof HttpError && err.status === 500) return false;
      throw err;
    }
  }

  /**
   * `GET /v2/version` with `?apikey=` (works on every version): the supervisor's semver, cached
   * after the first success. A supervisor without the endpoint (404) counts as older than 7.21.0.
   */
  version(signal?: AbortSignal): Promise<string> {
    // The probe in flight is shared, so concurrent callers send one request; a failure is not kept.
    // It runs without any caller's signal: one caller giving up (a stream stopped) must not cancel it
    // for the others; each caller stops waiting when its own signal aborts.
    this.versionProbe ??= this.probeVersion(undefined).catch((err: unknown) => {
      this.versionProbe = undefined;
      throw err;
    });
    return signal ? untilAborted(this.versionProbe, signal) : this.versionProbe;
  }

  /**
   * The version, asked for before a request that needs it (gates, auth form). Whatever fails
   * here, that request was never sent: a network error says so (`mayHaveArrived: false`), so a
   * caller may retry even a destructive call.
   */
  private async versionFirst(signal?: AbortSignal): Promise<string> {
    try {
      return await this.version(signal);
    } catch (err) {
      if (err instanceof UnreachableError && err.mayHaveArrived) {
        throw new UnreachableError(err.peer, err.code, err.message, { cause: err, mayHaveArrived: false });
      }
      throw err;
    }
  }

  private async probeVersion(signal: AbortSignal | undefined): Promise<string> {
    const path = `/v2/version?apikey=${encodeURIComponent(this.opts.apiKey)}`;
    let reply: HttpReply;
    try {
      reply = await this.raw({ method: 'GET', path, auth: false, signal });
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return PRE_VERSION_ENDPOINT;
      throw err;
    }
    const raw = parse.versionOf('GET /v2/version', reply.text);
    const version = parseSupervisorVersion(raw);
    if (version === undefined) throw new UnsupportedError(`supervisor reported version "${raw.slice(0, 40)}", which is not semver`);
    return version;
  }

  /** `POST /v1/blink`: the device LED blinks for 15 s. */
  async blink(): Promise<void> {
    await this.call({ method: 'POST', path: '/v1/blink', auth: true });
  }

  /** `POST /v1/reboot {force?}`: 202 {Data,Error}; 423 when a lock is held and no force. */
  async reboot(opts: { force?: boolean } = {}): Promise<void> {
    const reply = await this.call({ method: 'POST', path: '/v1/reboot', json: forceBody(opts.force), auth: true });
    parse.dataError('POST /v1/reboot', reply.text);
  }

  /** `POST /v1/shutdown {force?}`: like reboot. */
  async shutdown(opts: { force?: boolean } = {}): Promise<void> {
    const reply = await this.call({ method: 'POST', path: '/v1/shutdown', json: forceBody(opts.force), auth: true });
    parse.dataError('POST /v1/shutdown', reply.text);
  }

  /** `POST /v1/update {force?, cancel?}`: 204 → the check was triggered, 202 → ignored (instant updates off). */
  async update(opts: { force?: boolean; cancel?: boolean } = {}): Promise<'triggered' | 'ignored'> {
    if (opts.cancel) requireGate(await this.versionFirst(), 'updateCancel');
    const body = { ...forceBody(opts.force), ...(opts.cancel ? { cancel: true } : {}) };
    const reply = await this.call({ method: 'POST', path: '/v1/update', json: body, auth: true });
    return reply.status === 202 ? 'ignored' : 'triggered';
  }

  /** `POST /v1/restart {appId, force?}`: recreates every container of the app. */
  async restartApp(opts: { force?: boolean } = {}): Promise<void> {
    const json = { appId: this.opts.appId, ...forceBody(opts.force) };
    await this.call({ method: 'POST', path: '/v1/restart', json, auth: true, ctx: { appId: this.opts.appId } });
  }

  /** `POST /v1/purge {appId, force?}`: wipes the app's volumes and recreates its containers. */
  async purge(opts: { force?: boolean } = {}): Promise<void> {
    const json = { appId: this.opts.appId, ...forceBody(opts.force) };
    const reply = await this.call({ method: 'POST', path: '/v1/purge', json, auth: true, ctx: { appId: this.opts.appId } });
    parse.dataError('POST /v1/purge', reply.text);
  }

  /**
   * `POST /v2/applications/:appId/<action>-service`. A number or an all-digit string is an image
   * id (`{imageId}`), anything else a service name (`{serviceName}`, supervisor ≥ 8.2.2).
   */
  async serviceAction(action: ServiceAction, target: string | number, opts: { force?: boolean } = {}): Promise<void> {
    const version = await this.versionFirst();
    requireGate(version, 'v2ServiceActions');
    const byId = typeof target === 'number' || /^\d+$/.test(target);
    if (!byId) requireGate(version, 'serviceByName');
    const json = { ...(byId ? { imageId: Number(target) } : { serviceName: target }), ...forceBody(opts.force) };
    const path = `/v2/applications/${this.opts.appId}/${action}-service`;
    await this.call({ method: 'POST', path, json, auth: true, ctx: { appId: this.opts.appId, service: byId ? Number(target) : target } });
  }

  /** `GET /v1/device`: legacy device state. */
  async deviceState(): Promise<LegacyDeviceState> {
    return parse.legacyDeviceState('GET /v1/device', (await this.call({ method: 'GET', path: '/v1/device', auth: true })).text);
  }

  /** `GET /v2/applications/state`: apps keyed by name. */
  async applicationsState(): Promise<ApplicationsState> {
    const reply = await this.call({ method: 'GET', path: '/v2/applications/state', auth: true });
    return parse.applicationsState('GET /v2/applications/state', reply.text);
  }

  /** `GET /v2/state/status`: containers, images and whether the device has settled. */
  async stateStatus(): Promise<StateStatus> {
    return parse.stateStatus('GET /v2/state/status', (await this.call({ method: 'GET', path: '/v2/state/status', auth: true })).text);
  }

  /**
   * `GET /v2/containerId`: each service's current container id (≥ 8.6.0). A recreated container
   * has a new id: that is how the agent proves a restart happened when its answer was lost.
   */
  async containerIds(): Promise<Record<string, string>> {
    requireGate(await this.version(), 'containerIds');
    return parse.containerIds('GET /v2/containerId', (await this.call({ method: 'GET', path: '/v2/containerId', auth: true })).text);
  }

  /** `GET /v2/device/name`: the latest name known from the cloud. */
  async deviceName(): Promise<string> {
    return parse.deviceName('GET /v2/device/name', (await this.call({ method: 'GET', path: '/v2/device/name', auth: true })).text);
  }

  /** `GET /v2/device/tags`: the device's tags, read from the cloud through the supervisor. */
  async deviceTags(): Promise<DeviceTag[]> {
    return parse.deviceTags('GET /v2/device/tags', (await this.call({ method: 'GET', path: '/v2/device/tags', auth: true })).text);
  }

  /** True when the supervisor takes `PATCH /v2/device/tags` (≥ 17.8.0). */
  async supportsTagPatch(): Promise<boolean> {
    return supports(await this.version(), 'tagPatch');
  }

  /** `PATCH /v2/device/tags`: set-only, queued by the supervisor and sent to the cloud later. */
  async patchDeviceTags(tags: Record<string, string>): Promise<void> {
    requireGate(await this.versionFirst(), 'tagPatch');
    await this.call({ method: 'PATCH', path: '/v2/device/tags', json: tags, auth: true });
  }

  /** `GET /v2/device/vpn`. */
  async vpn(): Promise<{ enabled: boolean; connected: boolean }> {
    return parse.vpn('GET /v2/device/vpn', (await this.call({ method: 'GET', path: '/v2/device/vpn', auth: true })).text);
  }

  /**
   * `POST /v2/journal-logs`: yields journal lines as they stream. Aborting `signal` closes the
   * request and ends the iteration quietly. The timeout covers the whole reply, or with `follow`
   * only the wait for its head; when it expires the stream is closed with a TIMEOUT error.
   */
  async *journalLogs(opts: JournalLogsOptions, signal: AbortSignal): AsyncGenerator<string> {
    for await (const chunk of this.journalLogChunks(opts, signal)) yield* chunk;
  }

  /** `journalLogs`, the lines of each chunk read in one array (log forwarding takes them a chunk at a time). */
  async *journalLogChunks(opts: JournalLogsOptions, signal: AbortSignal): AsyncGenerator<string[]> {
    const version = await this.versionFirst(signal);
    requireGate(version, 'journalLogs');
    // `short` is what every supervisor prints without a format, so it needs no gate
    const format = opts.format === 'short' && !supports(version, 'journalFormat') ? undefined : opts.format;
    if (format !== undefined) requireGate(version, 'journalFormat');
    if (opts.since !== undefined || opts.until !== undefined) requireGate(version, 'journalSince');
    const { path, headers } = this.authorise('/v2/journal-logs', version);
    yield* openJournal({
      target: this.target,
      clock: this.opts.clock,
      path,
      headers,
      body: journalBody({ ...opts, format }),
      signal,
      onError: (reply) => parse.replyError('POST', '/v2/journal-logs', this.hidden(reply), {}),
      timeoutCovers: opts.follow ? 'head' : 'stream',
    });
  }

  /**
   * Header auth on ≥ 11.3.0, `?apikey=` on older supervisors and for a key the header form cannot
   * carry (the supervisor reads only `\w+` from the header, but any non-empty query value).
   */
  private authorise(path: string, version: string): { path: string; headers: Record<string, string> } {
    if (supports(version, 'headerAuth') && /^\w+$/.test(this.opts.apiKey)) return { path, headers: { authorization: `Bearer ${this.opts.apiKey}` } };
    const sep = path.includes('?') ? '&' : '?';
    return { path: `${path}${sep}apikey=${encodeURIComponent(this.opts.apiKey)}`, headers: {} };
  }

  /** Sends with auth (when asked) and maps a non-2xx reply to a typed error. */
  private async call(call: Call): Promise<HttpReply> {
    if (!call.auth) return this.raw(call);
    const { path, headers } = this.authorise(call.path, await this.versionFirst(call.signal));
    return this.raw({ ...call, path }, headers);
  }

  /**
   * Sends one request; the reply comes back with the key hidden wherever the supervisor echoed it
   * (an old supervisor repeats a `?apikey=` URL in its error text), so no error message, body or
   * header built from it can carry the key.
   */
  private async raw(call: Call, headers: Record<string, string> = {}): Promise<HttpReply> {
    const spec: RequestSpec = { method: call.method, path: call.path, headers };
    if (call.json !== undefined) spec.json = call.json;
    if (call.signal) spec.signal = call.signal;
    const reply = this.hidden(await send(this.target, spec));
    if (reply.status >= 200 && reply.status < 300) return reply;
    const bare = call.path.split('?')[0] ?? call.path;
    throw parse.replyError(call.method, bare, reply, call.ctx ?? {}, parseRetryAfter(reply.headers['retry-after'], this.opts.clock.wall()));
  }

  /** A reply with the key hidden in its text and headers. */
  private hidden(reply: HttpReply): HttpReply {
    const headers = Object.fromEntries(Object.entries(reply.headers).map(([name, value]) => [name, this.hide(value)]));
    return { status: reply.status, headers, text: this.hide(reply.text) };
  }
}

function forceBody(force: boolean | undefined): { force?: true } {
  return force ? { force: true } : {};
}

/** `work`, or an ABORTED error as soon as `signal` aborts (the work itself goes on for its other waiters). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = (): UnreachableError => new UnreachableError('supervisor', 'ABORTED', 'GET /v2/version to supervisor was cancelled', { mayHaveArrived: false });
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function journalBody(opts: Omit<JournalLogsOptions, 'format'> & { format: JournalLogsOptions['format'] | undefined }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (opts.follow) body.follow = true;
  if (opts.all) body.all = true;
  if (opts.count !== undefined) body.count = opts.count;
  if (opts.unit !== undefined) body.unit = opts.unit;
  if (opts.containerId !== undefined) body.containerId = opts.containerId;
  if (opts.since !== undefined) body.since = opts.since;
  if (opts.until !== undefined) body.until = opts.until;
  if (opts.format !== undefined) body.format = opts.format;
  return body;
}
