import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { SimJournalLine } from './journal.js';
import { dispatch, type Dispatched, type IncomingSimRequest } from './dispatch.js';
import { keyOf, parseBody, readBody, recordedQuery, writeGarbage, writeReply } from './http.js';
import { SimRecorder, type RecordedRequest } from './recorder.js';
import { SimRouteFaults, type SimRouteFault } from './route-faults.js';
import { CHECK_PATH, SimChecks, isCheckPath, type RecordedCheck } from './check-endpoint.js';
import { exitService, hangService, healService, serviceNamed, type SimExitOptions, type SimHangOptions, type SimUpdateStatus } from './service-faults.js';
import { createSimState, startAfresh, type SimEffect, type SimService, type SimState, type SimStateOptions } from './state.js';

export type { SimEffect, SimService } from './state.js';
export type { SimJournalLine } from './journal.js';
export type { RecordedRequest } from './recorder.js';
export type { SimRouteFault } from './route-faults.js';
export type { RecordedCheck } from './check-endpoint.js';
export type { SimCheckOutcome, SimExitOptions, SimHangOptions, SimUpdateStatus } from './service-faults.js';

/** How the simulated supervisor starts out: the device's state plus how it is served. */
export interface SupervisorSimulatorOptions extends Partial<SimStateOptions> {
  apiKey?: string;
  /** A global-scope key (all apps allowed), as the cloud's supervisor proxy uses. */
  globalApiKey?: string;
  /** A file holding the simulated kernel boot id (adopted when it exists, else created); rewritten after every reboot. */
  bootIdPath?: string;
  /** Default 0 (any free port). */
  port?: number;
  clock?: Clock;
}

/** A request as it arrives, before any fault, wait or answer. */
export interface IncomingRequest {
  method: string;
  path: string;
  at: number;
}

/** A local supervisor API on 127.0.0.1 that answers like the real one (CONTRACT §2) and records every request. */
export class SupervisorSimulator {
  private readonly opts: SupervisorSimulatorOptions;
  private readonly clock: Clock;
  private readonly recorder: SimRecorder;
  private readonly checkLog: SimChecks;
  private server: Server | undefined;
  private state: SimState | undefined;
  private baseUrl = '';
  private readonly sockets = new Set<Socket>();
  private latencyMs = 0;
  private failures: { count: number; status: number; body: string | undefined } = { count: 0, status: 500, body: undefined };
  private garbage: 'none' | 'not-json' | 'truncated' = 'none';
  private down = false;
  private stopping = new AbortController();
  private readonly faults = new SimRouteFaults();
  private readonly effectHooks = new Set<(e: SimEffect) => void>();
  private readonly incomingHooks = new Set<(r: IncomingRequest) => void>();
  /** Every effect, in order. */
  readonly effects: SimEffect[] = [];
  /** Every supervisor API request received, in order (health checks are in `checks`). */
  readonly requests: RecordedRequest[];
  /** Every request to a service health check (`checkUrl`), in order. */
  readonly checks: RecordedCheck[];
  /** The simulated kernel boot id; changes after each successful reboot. */
  bootId = randomBytes(16).toString('hex');

  constructor(opts: SupervisorSimulatorOptions = {}) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.recorder = new SimRecorder({ clock: this.clock });
    this.requests = this.recorder.requests;
    this.checkLog = new SimChecks({ clock: this.clock });
    this.checks = this.checkLog.checks;
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
    this.state = createSimState({ ...this.opts, appId: this.appId }, this.clock, () => this.rebooted(), (e) => this.effected(e));
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
    return this.recorder.waitFor(pred, timeoutMs);
  }

  /** Calls `hook` for every request once it is recorded, before the reply goes out. Returns an unsubscribe. */
  onRequest(hook: (r: RecordedRequest) => void): () => void {
    return this.recorder.onRequest(hook);
  }

  /**
   * Calls `hook` each time a request acts on the device (reboot, shutdown, restart, purge, a
   * service action, blink, update), before its reply goes out. Returns an unsubscribe.
   */
  onEffect(hook: (e: SimEffect) => void): () => void {
    this.effectHooks.add(hook);
    return () => this.effectHooks.delete(hook);
  }

  /** Calls `hook` as each request arrives, before any fault or answer. Returns an unsubscribe. */
  onIncoming(hook: (r: IncomingRequest) => void): () => void {
    this.incomingHooks.add(hook);
    return () => this.incomingHooks.delete(hook);
  }

  /** Adds a route fault (see SimRouteFault). */
  addFault(fault: SimRouteFault): void {
    this.faults.add(fault);
  }

  /** Removes every route fault not yet used up. */
  clearFaults(): void {
    this.faults.clear();
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

  /** While set, a journal-logs reply without follow sends its lines and then stalls, never ending (until stop). */
  setJournalStall(stalled: boolean): void {
    this.sim().journal.stalled = stalled;
  }

  /** Journal outage: cuts every open follow stream; while `refusing`, journal-logs requests get 503. */
  journalOutage(refusing: boolean): void {
    this.sim().journal.refusing = refusing;
    if (refusing) this.sim().journal.dropFollowers();
  }

  /** Cuts every open follow stream (the agent reconnects). */
  dropJournalFollowers(): void {
    this.sim().journal.dropFollowers();
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

  /**
   * Sets a service's status as the supervisor reports it: docker's state (`Running`, `exited`,
   * `Dead`), or during an update `Downloading`, `Installing`, `Stopping`, `Awaiting handover`.
   * Only a `Running` service answers its health check.
   */
  setServiceStatus(name: string, status: string): void {
    serviceNamed(this.sim(), name).status = status;
  }

  /**
   * The service's container exits (`exited`). By default a later restart-service, app restart,
   * purge or reboot brings it back; with `restartsTo: 'exited'` it keeps crashing (a crash loop).
   */
  exitService(name: string, opts: SimExitOptions = {}): void {
    exitService(this.sim(), name, opts);
  }

  /**
   * The service runs (status unchanged) but is hung: its health check answers 500, or nothing
   * with `silent`. A restart of the service clears it unless `sticky`.
   */
  hangService(name: string, opts: SimHangOptions = {}): void {
    hangService(this.sim(), name, opts);
  }

  /** The service is well again: `Running` in its container, restarts to `Running`, not hung. */
  healService(name: string): void {
    healService(this.sim(), name);
  }

  /**
   * While on, the app's `updateStatus` in `GET /v2/applications/state` reads `status` (default
   * `applying changes`) and `/v2/state/status` says `appState: applying`; off: `done` and `applied`.
   */
  setUpdating(on: boolean, status: SimUpdateStatus = 'applying changes'): void {
    this.sim().updateStatus = on ? status : 'done';
  }

  /** The URL of a service's health check on this simulator, for `AGENT_CHECK_<SERVICE>`. */
  checkUrl(name: string): string {
    serviceNamed(this.sim(), name);
    return `${this.baseUrl}${CHECK_PATH}${encodeURIComponent(name)}`;
  }

  /** Calls `hook` for every health check request once answered (or held, or cut). Returns an unsubscribe. */
  onCheck(hook: (c: RecordedCheck) => void): () => void {
    return this.checkLog.onCheck(hook);
  }

  /** Adds a line to the host journal; open follow streams receive it at once. */
  pushJournal(line: SimJournalLine): void {
    this.sim().journal.push(line);
  }

  private sim(): SimState {
    if (!this.state) throw new Error('supervisor simulator not started');
    return this.state;
  }

  private effected(e: Omit<SimEffect, 'at'>): void {
    const effect: SimEffect = { ...e, at: this.clock.wall() };
    this.effects.push(effect);
    for (const hook of [...this.effectHooks]) hook(effect);
  }

  /** After a reboot every service starts afresh in its container (a stopped one too); the counter moves last. */
  private async rebooted(): Promise<void> {
    for (const service of this.sim().services) startAfresh(service);
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

  /** Answers (or fails, as configured), records, waits out the latency, then writes the reply; route faults wrap this. */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (isCheckPath(url.pathname)) {
      this.checkLog.serve(req, res, url.pathname, this.sim());
      return;
    }
    const method = req.method ?? 'GET';
    for (const hook of [...this.incomingHooks]) hook({ method, path: url.pathname, at: this.clock.wall() });
    const fault = this.faults.take(method, url.pathname);
    let clientLeft = false;
    res.once('close', () => (clientLeft = !res.writableFinished));
    const raw = await readBody(req).catch(() => undefined);
    const incoming = { method, url, headers: req.headers, raw };
    const record = (status: number, body: unknown, auth: RecordedRequest['auth'], cut?: RecordedRequest['fault']): void =>
      this.recorder.record({
        method, path: url.pathname, query: recordedQuery(url.searchParams), body, contentType: req.headers['content-type'], auth, status,
        at: this.clock.wall(), ...(cut ? { fault: cut } : {}),
      });
    if (fault?.delayBeforeMs) await this.clock.sleep(fault.delayBeforeMs, this.stopping.signal).catch(() => undefined);
    if (fault?.reset === 'before' || (fault?.dropIfClientLeft === true && clientLeft)) {
      const parsed = parseBody(req.headers['content-type'], raw ?? '');
      record(0, parsed.recorded, keyOf(url.searchParams, req.headers, true).kind, fault.reset === 'before' ? 'reset-before' : 'dropped');
      res.destroy();
      return;
    }
    const answered = await this.answer(incoming);
    const { reply } = answered;
    const garbage = reply.status >= 200 && reply.status < 300 ? this.garbage : 'none';
    const cut = fault?.reset === 'after';
    record(cut ? 0 : garbage !== 'none' ? 200 : reply.status, answered.body, answered.auth, cut ? 'reset-after' : undefined);
    const wait = (fault?.delayAfterMs ?? 0) + this.latencyMs;
    if (wait > 0) await this.clock.sleep(wait, this.stopping.signal).catch(() => undefined);
    if (cut) {
      // The effect happened; only the reply is lost.
      res.destroy();
      void reply.after?.();
      return;
    }
    if (res.destroyed) return;
    if (garbage !== 'none') {
      writeGarbage(res, garbage);
      return;
    }
    writeReply(res, reply);
    if (reply.after) res.once('finish', () => void reply.after?.());
  }

  /** A configured failure for the next request, or what the supervisor would answer. */
  private async answer(incoming: IncomingSimRequest): Promise<Dispatched> {
    if (this.failures.count > 0) {
      this.failures.count -= 1;
      const { status, body } = this.failures;
      return {
        reply: { status, text: body ?? STATUS_CODES[status] ?? 'Error', plain: true },
        auth: keyOf(incoming.url.searchParams, incoming.headers, true).kind,
        body: parseBody(incoming.headers['content-type'], incoming.raw ?? '').recorded,
      };
    }
    return dispatch(incoming, { app: this.apiKey, global: this.opts.globalApiKey }, this.sim());
  }
}
