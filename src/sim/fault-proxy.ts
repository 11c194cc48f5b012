/**
 * A hostile HTTP proxy on 127.0.0.1 in front of a simulator (cloud or supervisor): for each request
 * it follows a plan and either forwards it, or answers with garbage, a truncated, huge or slow body,
 * a reset, silence, an error status with an extreme or malformed Retry-After, or the caller's own
 * credentials echoed back. It records what it did with each request. Demo and tests only.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Statuses the proxy can answer with on its own. */
export type FaultStatus = 200 | 400 | 401 | 423 | 429 | 500 | 502 | 503;

/** What the proxy does with one request. */
export type Fault =
  /** Forwarded, the target's reply relayed unchanged. */
  | { kind: 'pass' }
  /** Not forwarded: a body that is not JSON (text, binary, or text with terminal control sequences). */
  | { kind: 'garbage'; status: FaultStatus; body: 'text' | 'binary' | 'control' }
  /** Forwarded; the reply is cut: `cut` closes mid-body, `overstated` declares more bytes than it sends, then closes. */
  | { kind: 'truncated'; mode: 'cut' | 'overstated' }
  /** Not forwarded: a 200 whose JSON-looking body is larger than any client should read. */
  | { kind: 'huge'; bytes: number; chunked: boolean }
  /** Forwarded; the head waits `headerDelayMs`, then the body drips `dripBytes` every `dripMs`. */
  | { kind: 'slow'; headerDelayMs: number; dripBytes: number; dripMs: number }
  /** The socket is destroyed before forwarding, or after (the target acted; the caller never hears). */
  | { kind: 'reset'; when: 'before' | 'after' }
  /** Not forwarded: the connection is held open and never answered. */
  | { kind: 'blackhole' }
  /** Not forwarded: `status` with every `retryAfter` value as its own Retry-After header. */
  | { kind: 'status'; status: FaultStatus; retryAfter: readonly string[] }
  /** Not forwarded: `status` whose body and `x-echo` header repeat the request's URL and Authorization header. */
  | { kind: 'echo'; status: FaultStatus };

/** The request a plan decides on. */
export interface PlannedRequest {
  seq: number;
  method: string;
  /** Path and query as sent (credentials included: the plan may look, the record hides them). */
  url: string;
}

/** Chooses the fault for each request; an array is used up in order, then everything passes. */
export type FaultPlan = ((req: PlannedRequest) => Fault) | Fault[];

/** What the proxy did with one request. */
export interface ProxyRecord {
  seq: number;
  method: string;
  /** The path with any `apikey=` value hidden. */
  path: string;
  fault: Fault;
  /** Whether the request reached the target. */
  forwarded: boolean;
  /** The target's status, when it was forwarded and answered. */
  targetStatus?: number;
}

/** A plan that plays `faults` in order, then `tail` for every later request. */
export function queuePlan(faults: readonly Fault[], tail: Fault = { kind: 'pass' }): (req: PlannedRequest) => Fault {
  let next = 0;
  return () => (next < faults.length ? (faults[next++] ?? tail) : tail);
}

const PASS: Fault = { kind: 'pass' };

/** Bytes that are not JSON: NULs, invalid UTF-8, an escape sequence, a bell. */
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x07, 0x80, 0xc3, 0x28, 0x0d, 0x00, 0x7f, 0x9b]);

interface Relayed {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The proxy. */
export class FaultProxy {
  private server: Server | undefined;
  private baseUrl = '';
  private plan: FaultPlan;
  private seq = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly hooks = new Set<(record: ProxyRecord) => void>();
  /** Every request received, in order, with what was done to it. */
  readonly records: ProxyRecord[] = [];

  constructor(private readonly target: { url: string }, plan: FaultPlan = []) {
    this.plan = plan;
  }

  /** `http://127.0.0.1:<port>` (empty before start). */
  get url(): string {
    return this.baseUrl;
  }

  /** Replaces the plan (a fresh array starts from its first fault). */
  setPlan(plan: FaultPlan): void {
    this.plan = plan;
  }

  /** Calls `hook` as each request's fault is chosen; returns the unsubscribe function. */
  onRequest(hook: (record: ProxyRecord) => void): () => void {
    this.hooks.add(hook);
    return () => void this.hooks.delete(hook);
  }

  /** Listens on 127.0.0.1, port 0 unless given. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
    return this.baseUrl;
  }

  /** Cancels drips and delays, drops every connection (blackholed ones too), and stops listening. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private choose(req: PlannedRequest): Fault {
    if (typeof this.plan === 'function') return this.plan(req);
    return this.plan.shift() ?? PASS;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const seq = ++this.seq;
    const fault = this.choose({ seq, method, url });
    const record: ProxyRecord = { seq, method, path: hideKey(url), fault, forwarded: false };
    this.records.push(record);
    for (const hook of this.hooks) hook(record);
    const socket = req.socket;
    let body: Buffer;
    try {
      body = await readAll(req);
    } catch {
      socket.destroy();
      return;
    }
    switch (fault.kind) {
      case 'reset':
        if (fault.when === 'before') {
          socket.destroy();
          return;
        }
        await this.forward(req, body, record).catch(() => undefined);
        socket.destroy();
        return;
      case 'blackhole':
        return; // held until the caller gives up or the proxy stops
      case 'garbage':
        writeRaw(socket, fault.status, { 'content-type': 'application/json' }, garbageBody(fault.body));
        return;
      case 'huge':
        this.writeHuge(socket, fault.bytes, fault.chunked);
        return;
      case 'status':
        writeRaw(socket, fault.status, { 'content-type': 'text/plain', 'retry-after': fault.retryAfter }, Buffer.from(`simulated ${fault.status}`));
        return;
      case 'echo': {
        const authorization = req.headers.authorization ?? '';
        const text = JSON.stringify({ message: `echo ${method} ${url} ${authorization}`, url, authorization, error: `${url} ${authorization}` });
        writeRaw(socket, fault.status, { 'content-type': 'application/json', 'x-echo': `${url} ${authorization}` }, Buffer.from(text));
        return;
      }
      case 'pass':
      case 'truncated':
      case 'slow':
        break;
    }
    let reply: Relayed;
    try {
      reply = await this.forward(req, body, record);
    } catch {
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    if (fault.kind === 'pass') {
      res.writeHead(reply.status, relayHeaders(reply.headers, reply.body.length));
      res.end(reply.body);
    } else if (fault.kind === 'truncated') {
      const declared = fault.mode === 'overstated' ? reply.body.length + 512 : reply.body.length;
      const sent = fault.mode === 'cut' ? reply.body.subarray(0, Math.floor(reply.body.length / 2)) : reply.body;
      socket.write(head(reply.status, { ...plainHeaders(reply.headers), 'content-length': String(declared) }));
      socket.end(sent, () => socket.destroy());
    } else {
      await this.drip(res, reply, fault);
    }
  }

  /** Sends the request to the target and reads its whole reply. */
  private forward(req: IncomingMessage, body: Buffer, record: ProxyRecord): Promise<Relayed> {
    const target = new URL(this.target.url);
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host, connection: 'close' };
    return new Promise((resolve, reject) => {
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            record.targetStatus = res.statusCode ?? 0;
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      record.forwarded = true;
      out.on('error', reject);
      out.end(body);
    });
  }

  private async drip(res: ServerResponse, reply: Relayed, fault: Extract<Fault, { kind: 'slow' }>): Promise<void> {
    if (!(await this.wait(fault.headerDelayMs)) || res.destroyed) return;
    res.writeHead(reply.status, relayHeaders(reply.headers, reply.body.length));
    res.flushHeaders();
    const step = Math.max(1, fault.dripBytes);
    for (let offset = 0; offset < reply.body.length; offset += step) {
      if (res.destroyed) return;
      res.write(reply.body.subarray(offset, offset + step));
      if (!(await this.wait(fault.dripMs))) return;
    }
    res.end();
  }

  private writeHuge(socket: Socket, bytes: number, chunked: boolean): void {
    const open = Buffer.from('{"d":[{"id":1,"filler":"');
    const close = Buffer.from('"}]}');
    const filler = Buffer.alloc(Math.max(0, bytes - open.length - close.length), 0x61);
    const body = Buffer.concat([open, filler, close]);
    if (!chunked) {
      writeRaw(socket, 200, { 'content-type': 'application/json' }, body);
      return;
    }
    socket.write(head(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
    const size = 64 * 1024;
    for (let offset = 0; offset < body.length && !socket.destroyed; offset += size) {
      const part = body.subarray(offset, offset + size);
      socket.write(`${part.length.toString(16)}\r\n`);
      socket.write(part);
      socket.write('\r\n');
    }
    socket.end('0\r\n\r\n');
  }

  /** Waits on a real timer the proxy can cancel; false when it was cancelled (stop). */
  private wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(this.server !== undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(this.server !== undefined);
      }, ms);
      this.timers.add(timer);
    });
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function hideKey(url: string): string {
  return url.replace(/([?&]apikey=)[^&#]*/giu, '$1[hidden]');
}

function garbageBody(kind: 'text' | 'binary' | 'control'): Buffer {
  switch (kind) {
    case 'text':
      return Buffer.from('<html><body><h1>502 Bad Gateway</h1>{"d": [ truncated');
    case 'binary':
      return BINARY;
    case 'control':
      return Buffer.from('\u001b[2J\u001b[31mALERT\u0007 line\rover\u0000written\u0008\u0008 \u001b]0;title\u0007');
  }
}

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 423: 'Locked', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

/** A status line and headers; a header given several values is sent once per value. */
function head(status: number, headers: Record<string, string | readonly string[]>): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of typeof value === 'string' ? [value] : value) lines.push(`${name}: ${v.replace(/[\r\n]/gu, ' ')}`);
  }
  lines.push('connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A whole reply written straight to the socket (so odd headers go out as given), then closed. */
function writeRaw(socket: Socket, status: number, headers: Record<string, string | readonly string[]>, body: Buffer): void {
  if (socket.destroyed) return;
  socket.write(head(status, { ...headers, 'content-length': String(body.length) }));
  socket.end(body);
}

/** The target's headers minus hop-by-hop ones. */
function plainHeaders(headers: IncomingHttpHeaders): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || ['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(name)) continue;
    out[name] = value;
  }
  return out;
}

function relayHeaders(headers: IncomingHttpHeaders, length: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(plainHeaders(headers))) out[name] = typeof value === 'string' ? value : [...value];
  out['content-length'] = String(length);
  return out;
}
