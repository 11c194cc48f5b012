/**
 * A simulated balena cloud API on 127.0.0.1: the OData resources, device endpoints, login and
 * the supervisor proxy the agent and the balena SDK use, with injectable faults and a request log.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../../lib/clock.js';
import { BodyError, text, type ProxyTarget, type Reply, type SimContext } from './http.js';
import { Faults, type RequestLimit } from './faults.js';
import { SimStore } from './store.js';
import { routeRequest } from './router.js';
import type { LogRateState } from './routes-device.js';
import type { CloudSeed } from './seed.js';

export { demoSeed, DEMO, type CloudSeed, type SeedDevice, type SeedUser } from './seed.js';
export type { RequestLimit } from './faults.js';

/** Options of {@link CloudSimulator}. */
export interface CloudSimulatorOptions {
  seed?: CloudSeed;
  /** Where `/supervisor/*` forwards to (a supervisor simulator accepting this key). */
  supervisor?: ProxyTarget;
  clock?: Clock;
}

/** One request as the simulator saw it (API keys redacted from the query). */
export interface CloudRequest {
  method: string;
  path: string;
  query: string;
  body: unknown;
  auth: 'device' | 'user' | 'none' | 'invalid';
  actor?: string;
  status: number;
  at: number;
}

/** A stored device log line, as returned by {@link CloudSimulator.logLines}. */
export interface CloudLogLine {
  message: string;
  timestamp: number;
  isSystem?: boolean;
  isStdErr?: boolean;
  serviceId?: number;
}

function credential(req: IncomingMessage, rawQuery: string): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(.+)$/iu.exec(header.trim());
    return m?.[1] ?? '\u0000invalid';
  }
  return new URLSearchParams(rawQuery).get('apikey') ?? undefined;
}

/** The simulated balena API server. */
export class CloudSimulator {
  /** Every request answered so far, oldest first. */
  readonly requests: CloudRequest[] = [];
  private readonly store: SimStore;
  private readonly clock: Clock;
  private readonly faults: Faults;
  private readonly hooks = new Set<(r: CloudRequest) => void>();
  private readonly logRate: LogRateState = new Map();
  private server: Server | undefined;
  private dispatcher: Agent | undefined;
  private baseUrl = '';

  constructor(private readonly opts: CloudSimulatorOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.store = new SimStore(() => this.clock.wall(), opts.seed);
    this.faults = new Faults(this.clock);
  }

  /** The base URL (`http://127.0.0.1:<port>`), once started. */
  get url(): string {
    return this.baseUrl;
  }

  /** Starts listening on 127.0.0.1 (port 0 unless given); resolves with the URL. */
  async start(port = 0): Promise<string> {
    const dispatcher = new Agent();
    this.dispatcher = dispatcher;
    const server = createServer((req, res) => {
      this.handle(req, res, dispatcher).catch(() => {
        if (!res.headersSent) res.writeHead(500).end('Internal Server Error');
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${address.port}`;
    return this.baseUrl;
  }

  /** Stops the server, cutting open connections and pending slow replies. */
  async stop(): Promise<void> {
    this.faults.abortAll();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.dispatcher?.close();
    this.dispatcher = undefined;
  }

  /** Resolves with the first recorded request (past or future) matching `pred`. */
  waitFor(pred: (r: CloudRequest) => boolean, timeoutMs = 5000): Promise<CloudRequest> {
    const found = this.requests.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no matching cloud request within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onRequest((r) => {
        if (!pred(r)) return;
        clearTimeout(timer);
        off();
        resolve(r);
      });
    });
  }

  /** Calls `hook` after each recorded request; returns the unsubscribe function. */
  onRequest(hook: (r: CloudRequest) => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** The device's tags as a plain object. */
  deviceTags(uuid: string): Record<string, string> {
    const device = this.requireDevice(uuid);
    const rows = this.store.table('device_tag').filter((r) => r['device'] === device['id']);
    return Object.fromEntries(rows.map((r) => [String(r['tag_key']), String(r['value'])]));
  }

  /** Sets a device tag as an operator would (dashboard edit). */
  setDeviceTag(uuid: string, key: string, value: string): void {
    const device = this.requireDevice(uuid);
    this.store.upsert('device_tag', { device: device['id'], tag_key: key }, value);
  }

  /** Removes a device tag. */
  removeDeviceTag(uuid: string, key: string): void {
    const device = this.requireDevice(uuid);
    const row = this.store.table('device_tag').find((r) => r['device'] === device['id'] && r['tag_key'] === key);
    if (row !== undefined) this.store.remove('device_tag', row['id']);
  }

  /** Sets a fleet tag. */
  setFleetTag(appId: number, key: string, value: string): void {
    this.store.upsert('application_tag', { application: appId, tag_key: key }, value);
  }

  /** Removes a fleet tag (nothing when absent). */
  removeFleetTag(appId: number, key: string): void {
    const row = this.store.table('application_tag').find((r) => r['application'] === appId && r['tag_key'] === key);
    if (row !== undefined) this.store.remove('application_tag', row['id']);
  }

  /** Sets a device environment variable. */
  setDeviceEnv(uuid: string, name: string, value: string): void {
    const device = this.requireDevice(uuid);
    this.store.upsert('device_environment_variable', { device: device['id'], name }, value);
  }

  /** Sets a fleet environment variable. */
  setFleetEnv(appId: number, name: string, value: string): void {
    this.store.upsert('application_environment_variable', { application: appId, name }, value);
  }

  /** A device's stored fields (for assertions), or undefined. */
  device(uuid: string): Record<string, unknown> | undefined {
    const row = this.store.deviceByUuid(uuid);
    return row === undefined ? undefined : { ...row };
  }

  /** The log lines stored for a device, oldest first. */
  logLines(uuid: string): CloudLogLine[] {
    return (this.store.logs.get(uuid) ?? []).map(({ createdAt: _createdAt, ...line }) => ({ ...line }));
  }

  /** The next `count` requests get 429 (with `Retry-After` seconds when given). */
  rateLimit(opts: { count: number; retryAfterSeconds?: number }): void {
    this.faults.rateLimit(opts.count, opts.retryAfterSeconds);
  }

  /**
   * Limits requests as the balena API does (per credential unless `shared`): past `points` in a
   * window, 429 with Retry-After until the window ends. null lifts the limit.
   */
  setRequestLimit(limit: RequestLimit | null): void {
    this.faults.setLimit(limit);
  }

  /** Delays every reply by `ms`. */
  setLatency(ms: number): void {
    this.faults.latencyMs = ms;
  }

  /** The next `count` requests get `status` (and `body`). */
  failNext(count: number, status: number, body?: string): void {
    this.faults.failNext(count, status, body);
  }

  /** While down, every connection is reset without a reply. */
  setDown(down: boolean): void {
    this.faults.down = down;
  }

  /** The device's key stops working everywhere (deleted or frozen device): 401. */
  revokeDevice(uuid: string): void {
    this.store.revoke(this.requireDevice(uuid)['id'] as number);
  }

  /** Sends reply bodies at this rate (null = at once), for timeout tests. */
  setDripBody(bytesPerSecond: number | null): void {
    this.faults.dripBytesPerSecond = bytesPerSecond;
  }

  /** Answers every request with 200 and a non-JSON body, or a body of several MB. */
  setGarbage(mode: 'none' | 'not-json' | 'huge'): void {
    this.faults.garbage = mode;
  }

  private requireDevice(uuid: string): Record<string, unknown> {
    const device = this.store.deviceByUuid(uuid);
    if (device === undefined) throw new Error(`no simulated device ${uuid.slice(0, 7)}`);
    return device;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, dispatcher: Agent): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
    const resolved = this.store.actorFor(credential(req, rawQuery));
    const actor = resolved === 'invalid' ? undefined : resolved;
    const record: CloudRequest = {
      method: req.method ?? 'GET',
      path,
      query: rawQuery.replace(/(^|&)apikey=[^&]*/giu, '$1apikey=[redacted]'),
      body: undefined,
      auth: resolved === 'invalid' ? 'invalid' : actor === undefined ? 'none' : actor.kind,
      status: 0,
      at: this.clock.wall(),
    };
    if (actor !== undefined) record.actor = actor.kind === 'user' ? actor.username : actor.uuid;
    const ctx: SimContext = {
      req, method: record.method, path, rawQuery, actor, store: this.store, clock: this.clock,
      supervisor: this.opts.supervisor, body: undefined,
    };
    const early = await this.faults.before(req, record.actor ?? record.auth);
    let reply: Reply;
    if (early === 'reset') {
      this.finish(record, ctx, 0);
      return;
    }
    try {
      reply = early ?? (await routeRequest(ctx, { dispatcher, logRate: this.logRate }));
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      reply = text(err.status, err.message);
    }
    this.finish(record, ctx, reply.status);
    await this.faults.write(res, reply);
  }

  private finish(record: CloudRequest, ctx: SimContext, status: number): void {
    record.body = ctx.body;
    record.status = status;
    this.requests.push(record);
    for (const hook of [...this.hooks]) hook(record);
  }
}
