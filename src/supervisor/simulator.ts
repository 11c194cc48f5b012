import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import semver from 'semver';
import { systemClock, type Clock } from '../lib/clock.js';
import { SimJournal, type SimJournalLine } from './simulator-journal.js';
import { keyOf, matchPath, parseBody, readBody, recordedQuery, type AuthKind } from './simulator-http.js';
import { ROUTES, type SimReply, type SimRequest, type SimService, type SimState } from './simulator-routes.js';

export type { SimService } from './simulator-routes.js';
export type { SimJournalLine } from './simulator-journal.js';

/** How the simulated supervisor starts out. */
export interface SupervisorSimulatorOptions {
  apiKey?: string;
  /** A global-scope key (all apps allowed), as the cloud's supervisor proxy uses. */
  globalApiKey?: string;
  appId?: number;
  appName?: string;
  appUuid?: string;
  /** Default `19.0.5`. */
  version?: string;
  services?: SimService[];
  deviceName?: string;
  /** `/v1/update` without force answers 204 when true (the default), 202 when false. */
  instantUpdates?: boolean;
  /** A file holding the simulated kernel boot id (adopted when it exists, else created); rewritten after every reboot. */
  bootIdPath?: string;
  onTagsPatch?: (tags: Record<string, string>) => void | Promise<void>;
  /** Initial journal lines (default: a few start-up lines). */
  journal?: SimJournalLine[];
  /** Default 0 (any free port). */
  port?: number;
  clock?: Clock;
}

/** One request as the simulator received it; the key never appears in it. */
export interface RecordedRequest {
  method: string;
  /** Without the query. */
  path: string;
  /** The `apikey` value is replaced by `[redacted]`. */
  query: Record<string, string>;
  body: unknown;
  contentType: string | undefined;
  auth: AuthKind;
  status: number;
  at: number;
}

interface Waiter {
  pred: (r: RecordedRequest) => boolean;
  resolve: (r: RecordedRequest) => void;
}

const DEFAULT_SERVICES: SimService[] = [
  { name: 'main', imageId: 1001, serviceId: 11 },
  { name: 'fleet-agent', imageId: 1002, serviceId: 12 },
];

const DEFAULT_JOURNAL: SimJournalLine[] = [
  { message: 'Supervisor starting', unit: 'balena-supervisor.service', identifier: 'balena-supervisor' },
  { message: 'Started balenaEngine', unit: 'balena.service', identifier: 'balenad' },
  { message: 'Device state applied', unit: 'balena-supervisor.service', identifier: 'balena-supervisor' },
];

/** A local supervisor API on 127.0.0.1 that answers like the real one (CONTRACT §2) and records every request. */
export class SupervisorSimulator {
  private readonly opts: SupervisorSimulatorOptions;
  private server: Server | undefined;
  private state: SimState | undefined;
  private baseUrl = '';
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private readonly hooks = new Set<(r: RecordedRequest) => void>();
  private latencyMs = 0;
  private failures: { count: number; status: number; body: string | undefined } = { count: 0, status: 500, body: undefined };
  private garbage: 'none' | 'not-json' | 'truncated' = 'none';
  private down = false;
  private stopping = new AbortController();
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** The simulated kernel boot id; changes after each successful reboot. */
  bootId = randomBytes(16).toString('hex');

  constructor(opts: SupervisorSimulatorOptions = {}) {
    this.opts = opts;
  }

  /** Base URL, `http://127.0.0.1:<port>` (empty before start). */
  get url(): string {
    return this.baseUrl;
  }

  /** The app-scoped key (what `BALENA_SUPERVISOR_API_KEY` holds). */
  get apiKey(): string {
    return this.opts.apiKey ?? 'simsupervisorkey0123456789abcdef';
  }

  /** The app the key is scoped to. */
  get appId(): number {
    return this.opts.appId ?? 1234;
  }

  /** How many reboots succeeded. */
  get reboots(): number {
    return this.sim().counts.reboots;
  }

  /** Counters of the other device actions that succeeded. */
  get counts(): Readonly<SimState['counts']> {
    return this.sim().counts;
  }

  /** The simulated services (with their current status). */
  get services(): readonly SimService[] {
    return this.sim().services;
  }

  /** Device tags as `GET /v2/device/tags` lists them. */
  get tags(): ReadonlyArray<{ id: number; name: string; value: string }> {
    return this.sim().tags;
  }

  /** Open `--follow` journal streams. */
  get journalFollowers(): number {
    return this.sim().journal.followers;
  }

  /** Starts listening; resolves to the base URL. */
  async start(): Promise<string> {
    const clock = this.opts.clock ?? systemClock;
    const journal = new SimJournal({ clock, hostname: () => this.state?.deviceName ?? 'device' });
    this.state = {
      appId: this.appId,
      appName: this.opts.appName ?? 'fleet-app',
      appUuid: this.opts.appUuid ?? 'f1ee7a99f1ee7a99f1ee7a99f1ee7a99',
      commit: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ff',
      releaseId: 77,
      version: this.opts.version ?? '19.0.5',
      services: (this.opts.services ?? DEFAULT_SERVICES).map((s) => ({ ...s, status: s.status ?? 'Running' })),
      deviceName: this.opts.deviceName ?? 'quiet-river',
      instantUpdates: this.opts.instantUpdates ?? true,
      lock: null,
      healthy: true,
      tags: [],
      vpn: { enabled: true, connected: true },
      counts: { reboots: 0, shutdowns: 0, updates: 0, blinks: 0, purges: 0, restarts: 0 },
      journal,
      onTagsPatch: this.opts.onTagsPatch,
      rebooted: () => this.rebooted(),
    };
    for (const line of this.opts.journal ?? DEFAULT_JOURNAL) journal.push(line);
    await this.adoptBootId();
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      if (this.down) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.stopping = new AbortController();
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  /** Closes every connection (open journal streams included) and stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.stopping.abort();
    this.state?.journal.closeAll();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves with the first recorded request (past or future) matching `pred`. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs = 5_000): Promise<RecordedRequest> {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const stopTimer = new AbortController();
      const waiter: Waiter = {
        pred,
        resolve: (r) => {
          stopTimer.abort();
          resolve(r);
        },
      };
      this.waiters.add(waiter);
      (this.opts.clock ?? systemClock).sleep(timeoutMs, stopTimer.signal).then(
        () => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching supervisor request within ${timeoutMs} ms`));
        },
        () => undefined,
      );
    });
  }

  /** Calls `hook` for every request once it is recorded, before the reply goes out. Returns an unsubscribe. */
  onRequest(hook: (r: RecordedRequest) => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** While set, lock-taking endpoints answer 423 with this message unless forced. */
  setLock(message: string | null): void {
    this.sim().lock = message;
  }

  /** Delay before every reply. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** The next `count` requests answer `status` with `body` (default: the status text). */
  failNext(count: number, status: number, body?: string): void {
    this.failures = { count, status, body };
  }

  /** `not-json`: 2xx replies become 200 with a non-JSON body; `truncated`: 200 cut short. */
  setGarbage(mode: 'none' | 'not-json' | 'truncated'): void {
    this.garbage = mode;
  }

  /**
   * While down the simulator stops listening, so connections are refused as when the real
   * supervisor is stopped (open connections are closed); coming back listens on the same port.
   */
  setDown(down: boolean): void {
    if (down === this.down) return;
    this.down = down;
    const server = this.server;
    if (!server) return;
    if (down) {
      server.close();
      for (const socket of this.sockets) socket.destroy();
    } else {
      server.listen(Number(new URL(this.baseUrl).port), '127.0.0.1');
    }
  }

  /** Changes the simulated supervisor version (gates routes and header auth). */
  setVersion(version: string): void {
    this.sim().version = version;
  }

  /** `/v1/healthy` answers 500 "Unhealthy" while false. */
  setHealthy(healthy: boolean): void {
    this.sim().healthy = healthy;
  }

  /** Adds a line to the host journal; open follow streams receive it at once. */
  pushJournal(line: SimJournalLine): void {
    this.sim().journal.push(line);
  }

  private sim(): SimState {
    if (!this.state) throw new Error('supervisor simulator not started');
    return this.state;
  }

  private async rebooted(): Promise<void> {
    this.bootId = randomBytes(16).toString('hex');
    await this.writeBootId();
    this.sim().counts.reboots += 1;
  }

  /** A boot id file that already exists is the device's current boot; otherwise it is created. */
  private async adoptBootId(): Promise<void> {
    if (!this.opts.bootIdPath) return;
    const existing = await readFile(this.opts.bootIdPath, 'utf8').catch(() => '');
    if (existing.trim() !== '') this.bootId = existing.trim();
    else await this.writeBootId();
  }

  private async writeBootId(): Promise<void> {
    if (this.opts.bootIdPath) await writeFile(this.opts.bootIdPath, `${this.bootId}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const state = this.sim();
    const raw = await readBody(req).catch(() => undefined);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'];
    const parsed = parseBody(contentType, raw ?? '');
    const auth = keyOf(url.searchParams, req.headers, semver.gte(state.version, '11.3.0'));
    let reply: SimReply;
    if (this.failures.count > 0) {
      this.failures.count -= 1;
      reply = { status: this.failures.status, text: this.failures.body ?? STATUS_CODES[this.failures.status] ?? 'Error' };
    } else if (raw === undefined) {
      reply = { status: 413, text: 'Payload Too Large' };
    } else if (parsed.invalid) {
      reply = { status: 400, text: 'Bad Request' };
    } else {
      reply = await this.route(method, url, parsed.fields, auth.key);
    }
    const garbled = this.garbage !== 'none' && reply.status >= 200 && reply.status < 300;
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: recordedQuery(url.searchParams),
      body: parsed.recorded,
      contentType,
      auth: auth.kind,
      status: garbled ? 200 : reply.status,
      at: (this.opts.clock ?? systemClock).wall(),
    };
    this.record(record);
    if (this.latencyMs > 0) await (this.opts.clock ?? systemClock).sleep(this.latencyMs, this.stopping.signal).catch(() => undefined);
    if (res.destroyed) return;
    if (garbled) {
      this.sendGarbage(res);
      return;
    }
    this.reply(res, reply);
    if (reply.after) res.once('finish', () => void reply.after?.());
  }

  private async route(method: string, url: URL, body: Record<string, unknown>, key: string | undefined): Promise<SimReply> {
    const state = this.sim();
    const path = url.pathname;
    const open = ROUTES.find((r) => !r.auth && r.method === method && r.path === path);
    let scope: SimRequest['scope'] = 'none';
    if (!open) {
      if (key !== undefined && key === this.apiKey) scope = 'app';
      else if (key !== undefined && this.opts.globalApiKey !== undefined && key === this.opts.globalApiKey) scope = 'global';
      else return { status: 401, text: 'Unauthorized' };
    }
    for (const route of ROUTES) {
      if (route.method !== method) continue;
      const params = matchPath(route.path, path);
      if (!params) continue;
      if (route.since !== undefined && semver.lt(state.version, route.since)) break;
      return route.handle({ method, params, query: url.searchParams, body, scope }, state);
    }
    return { status: 404, text: `Cannot ${method} ${path}` };
  }

  private record(record: RecordedRequest): void {
    this.requests.push(record);
    for (const hook of this.hooks) hook(record);
    for (const waiter of this.waiters) {
      if (waiter.pred(record)) {
        this.waiters.delete(waiter);
        waiter.resolve(record);
      }
    }
  }

  private reply(res: ServerResponse, reply: SimReply): void {
    if (reply.stream) {
      reply.stream(res);
      return;
    }
    if (reply.json !== undefined) {
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(reply.json));
    } else if (reply.text !== undefined && reply.status !== 204) {
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(reply.text);
    } else {
      res.writeHead(reply.status);
      res.end();
    }
  }

  private sendGarbage(res: ServerResponse): void {
    if (this.garbage === 'not-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    }
    const partial = '{"status":"success","vers';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(partial.length + 100) });
    res.write(partial, () => res.destroy());
  }
}
